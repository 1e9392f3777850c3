"""The local emulator's DynamoDB transaction fix keeps DynamoDB's semantics: all or nothing, per item."""

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from netremedy_local.emulator_server import apply_patches


def _put(key: str, condition: str | None = None, value: str = "new") -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": "unit-jobs", "Item": {"pk": {"S": key}, "sk": {"S": "x"}, "v": {"S": value}}}
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
    dynamodb.put_item(TableName="unit-jobs", Item={"pk": {"S": "bystander"}, "sk": {"S": "x"}, "v": {"S": "b"}})
    # When a transaction's first put would succeed and its second fails its condition
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=[
            _put("fresh"), _put("old", "attribute_not_exists(pk)"), _put("old2", None, "z"),
        ])
    # Then it is cancelled with the reason on the right entry, and no entry was applied
    reasons = [reason["Code"] for reason in refused.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed", "None"]
    assert (_value("fresh"), _value("old"), _value("old2"), _value("bystander")) == (None, "old", None, "b")


def test_a_successful_transaction_applies_every_entry(aws: dict[str, Any]) -> None:
    apply_patches()
    boto3.client("dynamodb").transact_write_items(TransactItems=[_put("a"), _put("b", "attribute_not_exists(pk)")])
    assert (_value("a"), _value("b")) == ("new", "new")


def test_sqs_patches_keep_visibility_counts_and_deletes_as_sqs_has_them(aws: dict[str, Any]) -> None:
    apply_patches()
    sqs = boto3.client("sqs")
    queue = aws["queue_url"]
    for start in range(0, 30, 10):
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"}
                                                        for i in range(10)])
    taken = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    # The first ten in queue order are taken, and the counts see them in flight
    assert [m["Body"] for m in taken] == [f"m{i}" for i in range(10)]
    counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == ("20", "10")
    # A receive skips in-flight messages; deletes remove exactly their message; a repeated delete is accepted
    again = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in again] == [f"m{i}" for i in range(10, 20)]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=taken[3]["ReceiptHandle"])
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=taken[3]["ReceiptHandle"])
    with pytest.raises(ClientError):
        sqs.delete_message(QueueUrl=queue, ReceiptHandle="not-a-handle")
    counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert counts["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "19"
