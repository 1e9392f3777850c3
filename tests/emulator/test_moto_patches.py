"""The emulator's moto patches keep AWS's semantics (tested over HTTP against the patched emulator), and the
emulator refuses to start on a moto whose patched code has changed."""

import dataclasses
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from netremedy_local import moto_patches
from netremedy_local.launcher import free_port
from tests.conftest import PROJECT_ROOT, job_table_properties
from tests.emulator.conftest import Emulated


def _put(table: str, key: str, condition: str | None = None, value: str = "new") -> dict[str, Any]:
    put: dict[str, Any] = {
        "TableName": table,
        "Item": {"pk": {"S": key}, "sk": {"S": "x"}, "v": {"S": value}},
    }
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


def _value(aws: Emulated, key: str) -> str | None:
    item = aws.client("dynamodb").get_item(TableName=aws.table, Key={"pk": {"S": key}, "sk": {"S": "x"}})
    return item.get("Item", {}).get("v", {}).get("S")


def test_a_cancelled_transaction_writes_nothing_and_keeps_other_items(aws: Emulated) -> None:
    dynamodb = aws.client("dynamodb")
    dynamodb.put_item(TableName=aws.table, Item={"pk": {"S": "old"}, "sk": {"S": "x"}, "v": {"S": "old"}})
    dynamodb.put_item(TableName=aws.table, Item={"pk": {"S": "bystander"}, "sk": {"S": "x"}, "v": {"S": "b"}})
    # When a transaction's first put would succeed and its second fails its condition
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(
            TransactItems=[
                _put(aws.table, "fresh"),
                _put(aws.table, "old", "attribute_not_exists(pk)"),
                _put(aws.table, "old2", None, "z"),
            ]
        )
    # Then it is cancelled with the reason on the right entry, and no entry was applied
    reasons = [reason["Code"] for reason in refused.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed", "None"]
    assert (_value(aws, "fresh"), _value(aws, "old"), _value(aws, "old2"), _value(aws, "bystander")) == (
        None,
        "old",
        None,
        "b",
    )


def test_a_successful_transaction_applies_every_entry(aws: Emulated) -> None:
    aws.client("dynamodb").transact_write_items(
        TransactItems=[_put(aws.table, "a"), _put(aws.table, "b", "attribute_not_exists(pk)")]
    )
    assert (_value(aws, "a"), _value(aws, "b")) == ("new", "new")


def test_sqs_patches_keep_visibility_counts_and_deletes_as_sqs_has_them(aws: Emulated) -> None:
    sqs = aws.client("sqs")
    queue = aws.queue_url
    for start in range(0, 30, 10):
        sqs.send_message_batch(
            QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)]
        )
    taken = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    # The first ten in queue order are taken, and the counts see them in flight
    assert [m["Body"] for m in taken] == [f"m{i}" for i in range(10)]
    counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == (
        "20",
        "10",
    )
    # A receive skips in-flight messages; deletes remove exactly their message; a repeated delete is accepted
    again = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in again] == [f"m{i}" for i in range(10, 20)]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=taken[3]["ReceiptHandle"])
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=taken[3]["ReceiptHandle"])
    with pytest.raises(ClientError):
        sqs.delete_message(QueueUrl=queue, ReceiptHandle="not-a-handle")
    counts = sqs.get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )
    assert counts["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "19"


def _pages(
    dynamodb: Any, table: str, forward: bool, partition: str = "JOB#q", **extra: Any
) -> list[list[dict[str, Any]]]:
    """Every page of one partition's devices, 4 items a page, from ``ExclusiveStartKey`` if given."""
    pages, start = [], extra.pop("ExclusiveStartKey", None)
    while True:
        request: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":p": {"S": "DEVICE#"}},
            "Limit": 4,
            "ScanIndexForward": forward,
            **extra,
        }
        if start:
            request["ExclusiveStartKey"] = start
        page = dynamodb.query(**request)
        pages.append(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return pages


def test_a_query_pages_through_its_partition_only_in_key_order(aws: Emulated) -> None:
    """The one-partition query returns exactly what DynamoDB does: that partition's items in sort-key order,
    paged with ExclusiveStartKey and Limit, whatever else the table holds."""
    dynamodb = aws.client("dynamodb")
    for partition in ("JOB#a", "JOB#b", "JOB#c"):
        for index in (5, 1, 3, 0, 4, 2):
            dynamodb.put_item(
                TableName=aws.table, Item={"pk": {"S": partition}, "sk": {"S": f"DEVICE#{index}"}}
            )
    pages = _pages(dynamodb, aws.table, True, partition="JOB#b")
    seen = [(item["pk"]["S"], item["sk"]["S"]) for page in pages for item in page]
    assert seen == [("JOB#b", f"DEVICE#{index}") for index in range(6)]
    empty = dynamodb.query(
        TableName=aws.table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "JOB#none"}},
    )
    assert empty["Items"] == [] and empty["Count"] == 0


def _partition_queries(dynamodb: Any, table: str) -> list[Any]:
    """The queries a job's readers make (results pages forward, listings backward), with and without a start
    key inside or between a partition's keys, a filter and a projection; then the same after a write."""
    for partition in ("JOB#p", "JOB#q", "JOB#r"):
        for index in (7, 1, 10, 3, 0, 4, 11, 2, 9, 5, 8, 6):
            dynamodb.put_item(
                TableName=table,
                Item={
                    "pk": {"S": partition},
                    "sk": {"S": f"DEVICE#{index:02d}"},
                    "n": {"N": str(index)},
                    "l": {"L": [{"S": "a"}, {"N": "1"}]},
                    "m": {"M": {"k": {"S": "v" * index}}},
                },
            )
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "JOB#q"}, "sk": {"S": "JOB"}})
    answers: list[Any] = [_pages(dynamodb, table, forward) for forward in (True, False)]
    for start in ("DEVICE#04", "DEVICE#04x", "DEVICE#", "DEVICE#99"):
        key = {"pk": {"S": "JOB#q"}, "sk": {"S": start}}
        answers += [_pages(dynamodb, table, forward, ExclusiveStartKey=key) for forward in (True, False)]
    answers.append(
        _pages(
            dynamodb,
            table,
            True,
            FilterExpression="n > :five",
            ProjectionExpression="sk, m.k",
            ExpressionAttributeValues={":pk": {"S": "JOB#q"}, ":p": {"S": "DEVICE#"}, ":five": {"N": "5"}},
        )
    )
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": "JOB#q"}, "sk": {"S": "DEVICE#03"}},
        UpdateExpression="SET l = list_append(l, :more), m.k = :k ADD n :one",
        ExpressionAttributeValues={":more": {"L": [{"S": "b"}]}, ":k": {"S": "changed"}, ":one": {"N": "1"}},
    )
    answers.append(_pages(dynamodb, table, True))
    return answers


def test_one_partition_queries_answer_as_unpatched_moto_does_in_both_directions(aws: Emulated) -> None:
    """The sorted, sliced partition and the uncopied answer (built under the lock) change no answer: every
    page, forward and backward, from any start key, filtered and projected, and after an update, is the
    page unpatched moto gives."""
    # Given the same items and queries on the patched emulator and on moto's own (unpatched) mock
    patched = _partition_queries(aws.client("dynamodb"), aws.table)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        table = job_table_properties()
        dynamodb.create_table(
            TableName="plain",
            KeySchema=table["KeySchema"],
            AttributeDefinitions=table["AttributeDefinitions"],
            GlobalSecondaryIndexes=table.get("GlobalSecondaryIndexes", []),
            BillingMode="PAY_PER_REQUEST",
        )
        unpatched = _partition_queries(dynamodb, "plain")
    # Then every page is the same, and the pages are what DynamoDB gives (a check that the test sees them)
    assert patched == unpatched
    forward = [item["sk"]["S"] for page in patched[0] for item in page]
    assert forward == [f"DEVICE#{index:02d}" for index in range(12)]
    assert [item["sk"]["S"] for page in patched[1] for item in page] == forward[::-1]
    after_04 = [item["sk"]["S"] for page in patched[2] for item in page]
    assert after_04 == forward[5:]
    assert [item["sk"]["S"] for page in patched[3] for item in page] == forward[:4][::-1]
    changed = next(item for page in patched[-1] for item in page if item["sk"]["S"] == "DEVICE#03")
    assert changed["n"] == {"N": "4"} and changed["m"] == {"M": {"k": {"S": "changed"}}}
    assert changed["l"] == {"L": [{"S": "a"}, {"N": "1"}, {"S": "b"}]}
    unchanged = next(item for page in patched[0] for item in page if item["sk"]["S"] == "DEVICE#03")
    assert unchanged["n"] == {"N": "3"} and unchanged["l"] == {"L": [{"S": "a"}, {"N": "1"}]}


_EVERY_TYPE = {
    "pk": {"S": "JOB#t"},
    "sk": {"S": "DEVICE#1"},
    "n": {"N": "12.5"},
    "b": {"BOOL": True},
    "z": {"NULL": True},
    "l": {"L": [{"S": "a"}, {"N": "1"}]},
    "m": {"M": {"k": {"S": "v"}}},
    "ss": {"SS": ["x", "y"]},
    "text": {"S": 'interface Gi0/1\n description \u00e9t\u00e9 "quoted"'},
}


def _read_back(dynamodb: Any, table: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    dynamodb.put_item(TableName=table, Item=_EVERY_TYPE)
    got = dynamodb.get_item(TableName=table, Key={"pk": _EVERY_TYPE["pk"], "sk": _EVERY_TYPE["sk"]})["Item"]
    queried = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": _EVERY_TYPE["pk"]},
    )
    missing = dynamodb.get_item(TableName=table, Key={"pk": {"S": "none"}, "sk": {"S": "x"}})
    return got, queried, missing


def test_item_reads_answer_the_same_items_with_every_attribute_type(aws: Emulated) -> None:
    """Item reads skip moto's generic serializer; what boto3 receives is what unpatched moto answers."""
    # Given the same item read back from the patched emulator and from moto's own (unpatched) mock
    after, queried, missing = _read_back(aws.client("dynamodb"), aws.table)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="plain",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        before, _, _ = _read_back(dynamodb, "plain")
    # Then both are the item that was put, attribute for attribute (a string set's order is free)
    assert before == after == _EVERY_TYPE | {"ss": after["ss"]} and sorted(after["ss"]["SS"]) == ["x", "y"]
    assert queried["Items"] == [after] and queried["Count"] == 1
    assert "Item" not in missing


def test_the_server_finds_each_hosts_backend_once_and_the_same_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.server import create_backend_app

    listed = 0
    list_modules = backends.list_of_moto_modules

    def counted() -> Any:
        nonlocal listed
        listed += 1
        return list_modules()

    monkeypatch.setattr(backends, "list_of_moto_modules", counted)
    (patch,) = [patch for patch in moto_patches.PATCHES if patch.name == "server-backend-for-host-once"]
    original = DomainDispatcherApplication.get_backend_for_host
    patched = patch.replacement(original)
    dispatcher = DomainDispatcherApplication(create_backend_app)
    hosts = ["s3.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com", "dynamodb.us-east-1.amazonaws.com"]
    # Given each host's backend as moto itself finds it
    expected = [original(dispatcher, host) for host in hosts]
    assert expected == ["s3", "sqs", "dynamodb"]
    listed = 0
    # When the patched lookup answers each host three times
    answers = [patched(dispatcher, host) for _ in range(3) for host in hosts]
    # Then it answers the same backends, having listed moto's modules once per host only
    assert answers == expected * 3
    assert listed == len(hosts)


def test_every_patch_matches_the_installed_moto_which_is_the_pinned_one() -> None:
    moto_patches.check()
    dependencies = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert f"moto[server]=={moto_patches.MOTO_VERSION}" in dependencies["optional-dependencies"]["local"]
    assert moto_patches.installed_moto_version() == moto_patches.MOTO_VERSION
    # And each patch says what it fixes and what moto upstream did
    assert all(len(patch.fixes) > 40 and patch.upstream for patch in moto_patches.PATCHES)


def test_a_fingerprint_that_does_not_match_names_the_patch_and_the_moto_version() -> None:
    (delete,) = [patch for patch in moto_patches.PATCHES if patch.name == "sqs-delete-stops-at-message"]
    stale = dataclasses.replace(delete, fingerprint="0" * 64)
    with pytest.raises(moto_patches.PatchMismatchError) as refused:
        moto_patches.check([moto_patches.PATCHES[0], stale])
    message = str(refused.value)
    assert message.startswith(f"moto {moto_patches.installed_moto_version()} is not the moto")
    assert f"{stale.name} (Queue.delete_message)" in message
    assert moto_patches.PATCHES[0].name not in message


def test_the_emulator_refuses_to_start_when_moto_changed_the_code_a_patch_replaces(tmp_path: Path) -> None:
    # Given a moto whose Queue.delete_message is not the code the patch was written against
    script = tmp_path / "changed_moto.py"
    script.write_text(
        "import moto.sqs.models\n\n\n"
        "def delete_message(self, receipt_handle):  # as a later moto release might have it\n"
        "    self._messages = [m for m in self._messages if not m.had_receipt_handle(receipt_handle)]\n\n\n"
        "moto.sqs.models.Queue.delete_message = delete_message\n"
        "from netremedy_local.emulator_server import main\n\n"
        "main()\n"
    )
    port = free_port()
    # When the emulator starts on it
    run = subprocess.run(
        [sys.executable, str(script), "-H", "127.0.0.1", "-p", str(port)],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    # Then it exits at once with an error naming the patch, what it replaces and the moto version
    assert run.returncode == 1, run.stdout + run.stderr
    assert re.match(
        r"error: moto 5\.2\.5 is not the moto .*sqs-delete-stops-at-message \(Queue\.delete_message\)",
        run.stderr,
    ), run.stderr
    assert "Running on" not in run.stdout + run.stderr
