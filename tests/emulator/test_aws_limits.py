"""AWS's data limits, enforced by the patched emulator and answered the way AWS answers them (over HTTP)."""

from typing import Any

import pytest
from botocore.exceptions import ClientError

from netremedy_local.aws_limits import (
    DYNAMODB_ITEM_LIMIT,
    dynamodb_item_size,
    events_entry_size,
    number_size,
    sqs_message_size,
)
from tests.emulator.conftest import Emulated

ITEM_TOO_LARGE = "Item size has exceeded the maximum allowed size"
UPDATE_TOO_LARGE = "Item size to update has exceeded the maximum allowed size"
KIB_256 = 256 * 1024


def _key(name: str) -> dict[str, Any]:
    return {"pk": {"S": name}, "sk": {"S": "x"}}


def _item_of(size: int, name: str = "big") -> dict[str, Any]:
    """An item of exactly ``size`` bytes as DynamoDB counts them: its key plus one padding attribute."""
    key = _key(name)
    padding = size - dynamodb_item_size(key) - len("p")
    item = key | {"p": {"S": "x" * padding}}
    assert dynamodb_item_size(item) == size
    return item


def _error(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


# --- how sizes are counted ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "size"),
    [
        ("0", 1),
        ("1", 2),
        ("12", 2),
        ("123", 3),
        ("0042", 2),
        ("100", 2),
        ("1010", 3),
        ("0.0000001", 2),
        ("1E125", 2),
        ("1.5", 3),
        ("3.14159", 5),
        ("123456", 4),
        ("100.5", 4),
        ("0.15", 2),
        ("-42", 3),
        ("-0", 1),
        ("12345678901234567890123456789012345678", 20),
    ],
)
def test_numbers_are_sized_as_dynamodb_measures_them(literal: str, size: int) -> None:
    assert number_size(literal) == size


def test_item_sizes_count_names_and_values_in_utf8_bytes() -> None:
    item = {
        "pk": {"S": "\u00e9t\u00e9"},  # 2 + 5
        "n": {"N": "-42"},  # 1 + 3
        "ok": {"BOOL": True},  # 2 + 1
        "l": {"L": [{"S": "ab"}, {"NULL": True}]},  # 1 + 3 + (1 + 2) + (1 + 1)
        "m": {"M": {"key": {"S": "v"}}},  # 1 + 3 + (1 + 3 + 1)
        "ss": {"SS": ["a", "bc"]},  # 2 + 3
    }
    assert dynamodb_item_size(item) == 7 + 4 + 3 + 9 + 9 + 5
    assert sqs_message_size("\u00e9", {"k": {"DataType": "String", "StringValue": "vv"}}) == 2 + 1 + 6 + 2
    entry = {"Source": "s", "DetailType": "dt", "Detail": "{}", "Resources": ["arn:r"], "Time": 1}
    assert events_entry_size(entry) == 14 + 1 + 2 + 2 + 5


# --- DynamoDB ---------------------------------------------------------------------------------------------


def test_put_item_takes_exactly_400_kb_and_refuses_one_byte_more(aws: Emulated) -> None:
    dynamodb = aws.client("dynamodb")
    # An item of exactly 409,600 bytes is stored (moto alone refused anything over its 405,000-byte estimate)
    dynamodb.put_item(TableName=aws.table, Item=_item_of(DYNAMODB_ITEM_LIMIT, "at"))
    stored = dynamodb.get_item(TableName=aws.table, Key=_key("at"))["Item"]
    assert dynamodb_item_size(stored) == DYNAMODB_ITEM_LIMIT
    # One byte more is a ValidationException, and nothing is stored
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName=aws.table, Item=_item_of(DYNAMODB_ITEM_LIMIT + 1, "over"))
    assert _error(refused) == ("ValidationException", ITEM_TOO_LARGE)
    assert "Item" not in dynamodb.get_item(TableName=aws.table, Key=_key("over"))


def test_put_item_counts_bytes_not_characters(aws: Emulated) -> None:
    # 204,801 two-byte characters are 409,602 bytes of text, though only half as many characters
    item = _key("accents") | {"p": {"S": "\u00e9" * 204_801}}
    with pytest.raises(ClientError) as refused:
        aws.client("dynamodb").put_item(TableName=aws.table, Item=item)
    assert _error(refused) == ("ValidationException", ITEM_TOO_LARGE)


def test_an_update_that_grows_the_item_past_400_kb_is_refused_and_changes_nothing(aws: Emulated) -> None:
    dynamodb = aws.client("dynamodb")
    dynamodb.put_item(TableName=aws.table, Item=_key("grow") | {"p": {"S": "x" * 300_000}, "n": {"N": "1"}})
    # When one update adds to a counter and appends an attribute that takes the item over the limit
    with pytest.raises(ClientError) as refused:
        dynamodb.update_item(
            TableName=aws.table,
            Key=_key("grow"),
            UpdateExpression="ADD n :one SET q = :q",
            ExpressionAttributeValues={":one": {"N": "1"}, ":q": {"S": "y" * 110_000}},
        )
    # Then it is DynamoDB's update error, and neither change was applied
    assert _error(refused) == ("ValidationException", UPDATE_TOO_LARGE)
    item = dynamodb.get_item(TableName=aws.table, Key=_key("grow"))["Item"]
    assert item["n"] == {"N": "1"} and "q" not in item
    # And an update that stays within the limit still works
    dynamodb.update_item(
        TableName=aws.table,
        Key=_key("grow"),
        UpdateExpression="SET q = :q",
        ExpressionAttributeValues={":q": {"S": "y" * 100_000}},
    )
    assert len(dynamodb.get_item(TableName=aws.table, Key=_key("grow"))["Item"]["q"]["S"]) == 100_000


def _put(aws: Emulated, item: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": aws.table, "Item": item}
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


def test_a_transaction_with_a_put_over_400_kb_is_refused_before_it_starts(aws: Emulated) -> None:
    dynamodb = aws.client("dynamodb")
    # A put's size is known from the request: DynamoDB refuses the request itself, it does not cancel
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(
            TransactItems=[
                _put(aws, _key("small") | {"v": {"S": "ok"}}),
                _put(aws, _item_of(DYNAMODB_ITEM_LIMIT + 1, "over")),
            ]
        )
    assert _error(refused) == ("ValidationException", ITEM_TOO_LARGE)
    assert "CancellationReasons" not in refused.value.response
    assert "Item" not in dynamodb.get_item(TableName=aws.table, Key=_key("small"))


def test_a_transaction_whose_update_outgrows_the_item_limit_is_cancelled(aws: Emulated) -> None:
    dynamodb = aws.client("dynamodb")
    dynamodb.put_item(TableName=aws.table, Item=_key("job") | {"p": {"S": "x" * 400_000}, "done": {"N": "0"}})
    # When a transaction puts a result and grows the job item past 400 KB
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(
            TransactItems=[
                _put(aws, _key("result") | {"v": {"S": "ok"}}),
                {
                    "Update": {
                        "TableName": aws.table,
                        "Key": _key("job"),
                        "UpdateExpression": "ADD done :one SET q = :q",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":q": {"S": "y" * 10_000}},
                    }
                },
            ]
        )
    # Then DynamoDB cancels it, with a ValidationError reason on the update, and writes nothing
    code, _ = _error(refused)
    reasons = refused.value.response["CancellationReasons"]
    assert code == "TransactionCanceledException"
    assert reasons == [{"Code": "None"}, {"Code": "ValidationError", "Message": UPDATE_TOO_LARGE}]
    assert "Item" not in dynamodb.get_item(TableName=aws.table, Key=_key("result"))
    job = dynamodb.get_item(TableName=aws.table, Key=_key("job"))["Item"]
    assert job["done"] == {"N": "0"} and "q" not in job


def test_a_transaction_takes_100_entries_and_refuses_101(aws: Emulated) -> None:
    dynamodb = aws.client("dynamodb")
    entries = [_put(aws, _key(f"d{i}")) for i in range(101)]
    dynamodb.transact_write_items(TransactItems=entries[:100])
    assert dynamodb.scan(TableName=aws.table, Select="COUNT")["Count"] == 100
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=[_put(aws, _key(f"e{i}")) for i in range(101)])
    code, message = _error(refused)
    assert code == "ValidationException"
    assert "Member must have length less than or equal to 100" in message
    assert dynamodb.scan(TableName=aws.table, Select="COUNT")["Count"] == 100


def test_a_transaction_over_4_mb_is_refused(aws: Emulated) -> None:
    dynamodb = aws.client("dynamodb")
    # Ten items of 400 KB are 4,096,000 bytes: accepted; an eleventh takes the request over 4 MB
    dynamodb.transact_write_items(
        TransactItems=[_put(aws, _item_of(DYNAMODB_ITEM_LIMIT, f"a{i}")) for i in range(10)]
    )
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(
            TransactItems=[_put(aws, _item_of(DYNAMODB_ITEM_LIMIT, f"b{i}")) for i in range(11)]
        )
    assert _error(refused) == ("ValidationException", "Transaction request cannot be larger than 4 MB")
    assert "Item" not in dynamodb.get_item(TableName=aws.table, Key=_key("b0"))


# --- SQS ----------------------------------------------------------------------------------------------------


def _bodies(aws: Emulated) -> list[str]:
    received = aws.client("sqs").receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10)
    return [message["Body"] for message in received.get("Messages", [])]


def test_a_message_takes_256_kib_with_its_attributes_and_refuses_more(aws: Emulated) -> None:
    sqs = aws.client("sqs")
    sqs.send_message(QueueUrl=aws.queue_url, MessageBody="x" * KIB_256)
    attribute = {"job_id": {"DataType": "String", "StringValue": "j"}}  # 6 + 6 + 1 bytes
    for body, attributes in (
        ("x" * (KIB_256 + 1), {}),  # the body alone over
        ("x" * (KIB_256 - 12), attribute),  # the attribute takes it one byte over
        ("\u00e9" * (KIB_256 // 2 + 1), {}),  # 131,073 characters, 262,146 bytes
    ):
        with pytest.raises(ClientError) as refused:
            sqs.send_message(QueueUrl=aws.queue_url, MessageBody=body, MessageAttributes=attributes)
        assert _error(refused) == (
            "InvalidParameterValue",
            f"One or more parameters are invalid. Reason: Message must be shorter than {KIB_256} bytes.",
        )
    assert [len(body) for body in _bodies(aws)] == [KIB_256]


def test_a_send_batch_takes_256_kib_in_total_and_refuses_more(aws: Emulated) -> None:
    sqs = aws.client("sqs")
    quarter = KIB_256 // 4
    sqs.send_message_batch(
        QueueUrl=aws.queue_url, Entries=[{"Id": str(i), "MessageBody": "x" * quarter} for i in range(4)]
    )
    for entries in (
        [{"Id": str(i), "MessageBody": "x" * quarter} for i in range(4)] + [{"Id": "4", "MessageBody": "y"}],
        [{"Id": "alone", "MessageBody": "x" * (KIB_256 + 1)}],  # one entry over the limit on its own
    ):
        # boto3 raises SQS's modelled error, whose code is the query protocol's, as AWS answers
        with pytest.raises(sqs.exceptions.BatchRequestTooLong) as refused:
            sqs.send_message_batch(QueueUrl=aws.queue_url, Entries=entries)
        total = sum(len(entry["MessageBody"]) for entry in entries)
        assert _error(refused) == (
            "AWS.SimpleQueueService.BatchRequestTooLong",
            f"Batch requests cannot be longer than {KIB_256} bytes. You have sent {total} bytes.",
        )
    assert sorted(len(body) for body in _bodies(aws)) == [quarter] * 4


# --- EventBridge -------------------------------------------------------------------------------------------


def test_put_events_takes_256_kb_of_entries_and_refuses_more(aws: Emulated) -> None:
    events = aws.client("events")
    source, detail_type = "netremedy", "JobCompleted"
    padding = KIB_256 - len(source) - len(detail_type) - 14 - len('{"p": ""}')

    def entry(size: int) -> dict[str, Any]:
        return {
            "Source": source,
            "DetailType": detail_type,
            "Detail": '{"p": "%s"}' % ("x" * size),
            "Time": 0,
        }

    assert events_entry_size(entry(padding)) == KIB_256
    accepted = events.put_events(Entries=[entry(padding)])
    assert accepted["FailedEntryCount"] == 0 and "EventId" in accepted["Entries"][0]
    for entries in ([entry(padding + 1)], [entry(padding // 2), entry(padding // 2)]):
        with pytest.raises(ClientError) as refused:
            events.put_events(Entries=entries)
        assert _error(refused) == (
            "ValidationException",
            "Total size of the entries in the request is over the limit.",
        )
