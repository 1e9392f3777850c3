"""The fan-out, finalize and drop queue consumers read their messages with Powertools: a JobMessage body through
the batch processor's model, an S3 notification through its S3Event data class."""

import json
from typing import Any

import boto3
import pytest

from netremedy.dal import job_table
from netremedy.handlers import create_job, fan_out_jobs, start_dropped_jobs, write_back_results
from netremedy.models.settings import load_settings
from tests.unit.events import context, drain_queue, http_event, sqs_records

DEVICES = [
    {
        "device_id": f"r{i}",
        "platform": "cisco_ios",
        "running_config": "hostname a",
        "intended_config": "hostname b",
    }
    for i in range(2)
]


def _stored_job(monkeypatch: pytest.MonkeyPatch) -> str:
    """A job stored for asynchronous fan-out: its message waits on the fan-out queue."""
    monkeypatch.setenv("INLINE_FANOUT_MAX_DEVICES", "1")
    load_settings.cache_clear()
    response = create_job.handler(
        http_event("POST", "/api/v1/batch/remediation", body={"device_configs": DEVICES}), context()
    )
    job_id: str = json.loads(response["body"])["job_id"]
    return job_id


def _failures(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


@pytest.mark.parametrize("bad_body", ["not json", '{"job": "x"}', '{"job_id": ""}', "[1]"])
def test_a_fan_out_message_that_does_not_parse_fails_alone(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, bad_body: str
) -> None:
    # Given a batch with a message that is not a JobMessage next to a good one
    job_id = _stored_job(monkeypatch)
    (good,) = drain_queue(aws["fanout_url"])
    # When the fan-out function handles it
    response = fan_out_jobs.handler(sqs_records([bad_body, good]), context())
    # Then only the bad one is reported failed (it comes back, then goes to the dead-letter queue)...
    assert _failures(response) == ["msg-0"]
    # ...and the good one was fanned out
    queued = [json.loads(body) for body in drain_queue(aws["queue_url"])]
    assert {message["job_id"] for message in queued} == {job_id}


def test_fan_out_gives_up_on_the_last_receive_and_fails_the_job(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored job whose devices cannot be queued
    job_id = _stored_job(monkeypatch)
    (body,) = drain_queue(aws["fanout_url"])
    boto3.client("s3").delete_object(Bucket=aws["bucket"], Key=f"inputs/{job_id}/request.json")
    # Before the last receive, the failure goes back to the queue (answered as a failure, not raised, even when
    # the whole batch failed: handlers.sqs_batches)
    assert _failures(fan_out_jobs.handler(sqs_records([body]), context())) == ["msg-0"]
    assert job_table.get_job(aws["table"], job_id).status == "pending"  # type: ignore[union-attr]
    # On the last one, the job is failed with the reason and its end announced
    response = fan_out_jobs.handler(sqs_records([body], receive_count=fan_out_jobs.LAST_RECEIVE), context())
    assert _failures(response) == []
    job = job_table.get_job(aws["table"], job_id)
    assert job is not None and job.status == "failed"
    assert job.error == f"fan-out failed {fan_out_jobs.LAST_RECEIVE} times (NoSuchKey); submit the job again"
    assert [json.loads(message) for message in drain_queue(aws["finalize_url"])] == [{"job_id": job_id}]


def test_a_finalize_message_that_does_not_parse_fails_alone(aws: dict[str, Any]) -> None:
    response = write_back_results.handler(
        sqs_records(['{"job_id": 7}', json.dumps({"job_id": "gone"})]), context()
    )
    # The unknown job is nothing to do (expired); the unreadable message is a failure of its own
    assert _failures(response) == ["msg-0"]


def _notification(bucket: str, key: str, event_name: str = "ObjectCreated:Put") -> str:
    """An S3 event notification as S3 puts it in the queue message's body."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": event_name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": key, "size": 10, "eTag": "etag-1", "sequencer": "0"},
        },
    }
    return json.dumps({"Records": [record]})


@pytest.mark.parametrize("encoded", ["incoming/site+a/fleet%2B1.json", "incoming/site%20a/fleet%2B1.json"])
def test_a_dropped_manifest_key_is_read_unquoted_as_aws_and_moto_encode_it(
    aws: dict[str, Any], encoded: str
) -> None:
    # Given a manifest whose key has a space and a plus, announced with the key encoded
    key = "incoming/site a/fleet+1.json"
    s3 = boto3.client("s3")
    s3.put_object(Bucket=aws["bucket"], Key=key, Body=json.dumps({"device_configs": DEVICES}).encode())
    # When the drop function handles the notification
    response = start_dropped_jobs.handler(sqs_records([_notification(aws["bucket"], encoded)]), context())
    # Then the job starts, and its marker sits under the same (decoded) name
    assert _failures(response) == []
    accepted = json.loads(
        s3.get_object(Bucket=aws["bucket"], Key="accepted/site a/fleet+1.json")["Body"].read()
    )
    assert (accepted["total_devices"], accepted["source"]) == (2, f"s3://{aws['bucket']}/{key}")


def test_test_events_and_other_event_types_start_nothing(aws: dict[str, Any]) -> None:
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": aws["bucket"]})
    removed = _notification(aws["bucket"], "incoming/x.json", event_name="ObjectRemoved:Delete")
    outside = _notification(aws["bucket"], "elsewhere/x.json")
    response = start_dropped_jobs.handler(sqs_records([test_event, removed, outside]), context())
    assert _failures(response) == []
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=aws["bucket"])
    assert drain_queue(aws["queue_url"]) == []


def test_the_drop_prefix_comes_from_the_settings(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DROP_PREFIX", "drops/")
    load_settings.cache_clear()
    s3 = boto3.client("s3")
    s3.put_object(
        Bucket=aws["bucket"], Key="drops/a.json", Body=json.dumps({"device_configs": DEVICES}).encode()
    )
    notifications = [
        _notification(aws["bucket"], "drops/a.json"),
        _notification(aws["bucket"], "incoming/b.json"),
    ]
    assert _failures(start_dropped_jobs.handler(sqs_records(notifications), context())) == []
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=aws["bucket"], Prefix="accepted/")["Contents"]]
    assert keys == ["accepted/a.json"]
