"""The local emulator's DynamoDB transaction fix keeps DynamoDB's semantics: all or nothing, per item."""

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from netremedy_local.emulator_server import apply_patches


def _put(key: str, condition: str | None = None, value: str = "new") -> dict[str, Any]:
    put: dict[str, Any] = {
        "TableName": "unit-jobs",
        "Item": {"pk": {"S": key}, "sk": {"S": "x"}, "v": {"S": value}},
    }
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


def _value(key: str) -> str | None:
    item = boto3.client("dynamodb").get_item(TableName="unit-jobs", Key={"pk": {"S": key}, "sk": {"S": "x"}})
    return item.get("Item", {}).get("v", {}).get("S")


def test_a_cancelled_transaction_writes_nothing_and_keeps_other_items(aws: dict[str, Any]) -> None:
    apply_patches()
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName="unit-jobs", Item={"pk": {"S": "old"}, "sk": {"S": "x"}, "v": {"S": "old"}})
    dynamodb.put_item(
        TableName="unit-jobs", Item={"pk": {"S": "bystander"}, "sk": {"S": "x"}, "v": {"S": "b"}}
    )
    # When a transaction's first put would succeed and its second fails its condition
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(
            TransactItems=[
                _put("fresh"),
                _put("old", "attribute_not_exists(pk)"),
                _put("old2", None, "z"),
            ]
        )
    # Then it is cancelled with the reason on the right entry, and no entry was applied
    reasons = [reason["Code"] for reason in refused.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed", "None"]
    assert (_value("fresh"), _value("old"), _value("old2"), _value("bystander")) == (None, "old", None, "b")


def test_a_successful_transaction_applies_every_entry(aws: dict[str, Any]) -> None:
    apply_patches()
    boto3.client("dynamodb").transact_write_items(
        TransactItems=[_put("a"), _put("b", "attribute_not_exists(pk)")]
    )
    assert (_value("a"), _value("b")) == ("new", "new")


def test_sqs_patches_keep_visibility_counts_and_deletes_as_sqs_has_them(aws: dict[str, Any]) -> None:
    apply_patches()
    sqs = boto3.client("sqs")
    queue = aws["queue_url"]
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


def test_a_query_pages_through_its_partition_only_in_key_order(aws: dict[str, Any]) -> None:
    """The one-partition query returns exactly what DynamoDB does: that partition's items in sort-key order,
    paged with ExclusiveStartKey and Limit, whatever else the table holds."""
    apply_patches()
    dynamodb = boto3.client("dynamodb")
    for partition in ("JOB#a", "JOB#b", "JOB#c"):
        for index in (5, 1, 3, 0, 4, 2):
            dynamodb.put_item(
                TableName="unit-jobs", Item={"pk": {"S": partition}, "sk": {"S": f"DEVICE#{index}"}}
            )
    seen, start = [], None
    while True:
        request: dict[str, Any] = {
            "TableName": "unit-jobs",
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
            "Limit": 4,
            "ExpressionAttributeValues": {":pk": {"S": "JOB#b"}, ":p": {"S": "DEVICE#"}},
        }
        if start:
            request["ExclusiveStartKey"] = start
        page = dynamodb.query(**request)
        seen += [(item["pk"]["S"], item["sk"]["S"]) for item in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert seen == [("JOB#b", f"DEVICE#{index}") for index in range(6)]
    empty = dynamodb.query(
        TableName="unit-jobs",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "JOB#none"}},
    )
    assert empty["Items"] == [] and empty["Count"] == 0


def test_item_reads_answer_the_same_items_with_every_attribute_type(aws: dict[str, Any]) -> None:
    """Item reads skip moto's generic serializer; what boto3 receives is unchanged for every type."""
    item = {
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
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName="unit-jobs", Item=item)
    before = dynamodb.get_item(TableName="unit-jobs", Key={"pk": item["pk"], "sk": item["sk"]})["Item"]
    apply_patches()
    after = dynamodb.get_item(TableName="unit-jobs", Key={"pk": item["pk"], "sk": item["sk"]})["Item"]
    queried = dynamodb.query(
        TableName="unit-jobs",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": item["pk"]},
    )
    assert before == after == item | {"ss": after["ss"]} and sorted(after["ss"]["SS"]) == ["x", "y"]
    assert queried["Items"] == [after] and queried["Count"] == 1
    missing = dynamodb.get_item(TableName="unit-jobs", Key={"pk": {"S": "none"}, "sk": {"S": "x"}})
    assert "Item" not in missing
