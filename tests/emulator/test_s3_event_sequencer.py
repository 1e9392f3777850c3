"""The emulator's S3 event notifications carry a sequencer (and a versionId in a versioned bucket) as S3's do:
the drop function tells two uploads of identical bytes apart, and orders them, by it."""

import json
import uuid
from typing import Any

from tests.emulator.conftest import Emulated


def _events(aws: Emulated, versioned: bool) -> list[dict[str, Any]]:
    """The object part of each event S3 queues for two PUTs of the same bytes to one key."""
    s3, sqs = aws.client("s3"), aws.client("sqs")
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    queue_arn = sqs.get_queue_attributes(QueueUrl=aws.queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    for _ in range(2):
        s3.put_object(Bucket=bucket, Key="incoming/a.json", Body=b"{}")
    records: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            body = json.loads(message["Body"])
            records += [record["s3"]["object"] for record in body.get("Records", [])]
            sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return records


def test_each_put_has_a_greater_sequencer_even_for_identical_bytes(aws: Emulated) -> None:
    first, second = _events(aws, versioned=False)
    # Then both uploads have the same ETag but their own sequencer, in upload order, and no versionId
    assert first["eTag"] == second["eTag"]
    assert first["sequencer"] < second["sequencer"] and len(first["sequencer"]) == len(second["sequencer"])
    assert int(first["sequencer"], 16) > 0
    assert "versionId" not in first


def test_a_versioned_bucket_sends_each_uploads_version_id(aws: Emulated) -> None:
    first, second = _events(aws, versioned=True)
    assert first["versionId"] and second["versionId"] and first["versionId"] != second["versionId"]
    assert first["sequencer"] < second["sequencer"]
