"""Drop outcomes on the real local stack: identical bytes uploaded again after fixing what they reference start
a new job, one outcome marker replaces the other, and one S3 event delivered twice starts one job."""

import json
import time
from typing import Any

import pytest
import requests

from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration


def _put(stack: LocalStack, key: str, body: Any) -> str:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    etag: str = stack.client("s3").put_object(Bucket=stack.resources["ResultBucket"], Key=key, Body=data)[
        "ETag"
    ]
    return etag.strip('"')


def _marker(stack: LocalStack, key: str) -> dict[str, Any] | None:
    s3 = stack.client("s3")
    try:
        document: dict[str, Any] = json.loads(
            s3.get_object(Bucket=stack.resources["ResultBucket"], Key=key)["Body"].read()
        )
    except s3.exceptions.NoSuchKey:
        return None
    return document


def _wait_for(stack: LocalStack, key: str, ready: Any, timeout: float = 60) -> dict[str, Any]:
    """The marker at ``key`` once ``ready(document)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        document = _marker(stack, key)
        if document is not None and ready(document):
            return document
        assert time.monotonic() < deadline, f"{key} never became ready: {document}"
        time.sleep(0.3)


def _result(stack: LocalStack, job_id: str, device_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while stack.status(job_id)["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, f"job {job_id} never ended"
        time.sleep(0.3)
    response = requests.get(f"{stack.api_url}/api/v1/batch/jobs/{job_id}/results/{device_id}", timeout=30)
    document: dict[str, Any] = response.json()
    return document


def test_identical_bytes_uploaded_again_after_fixing_a_missing_config_start_a_new_job(
    stack: LocalStack,
) -> None:
    # Given a drop that references a running config not in the bucket yet
    manifest = {
        "device_configs": [
            {
                "device_id": "edge9",
                "platform": "cisco_ios",
                "running_config_key": "backups/outcomes/edge9.cfg",
                "intended_config": "hostname edge9-new",
            }
        ]
    }
    etag = _put(stack, "incoming/fix-then-again.json", manifest)
    first = _wait_for(stack, "accepted/fix-then-again.json", lambda document: True)
    assert _result(stack, first["job_id"], "edge9")["status"] == "failed"
    # When the missing object is put in place and the very same manifest bytes are uploaded again
    _put(stack, "backups/outcomes/edge9.cfg", b"hostname edge9")
    assert _put(stack, "incoming/fix-then-again.json", manifest) == etag
    # Then a new job starts, accepted/ names it, and it reads the fixed config
    second = _wait_for(
        stack, "accepted/fix-then-again.json", lambda document: document["job_id"] != first["job_id"]
    )
    assert (second["etag"], second["total_devices"]) == (etag, 1)
    assert second["event_time"] > first["event_time"]
    result = _result(stack, second["job_id"], "edge9")
    assert (result["status"], result["remediation"]) == ("success", "no hostname edge9\nhostname edge9-new")


def test_the_newest_upload_has_the_one_current_outcome(stack: LocalStack) -> None:
    broken = {
        "device_configs": [
            {"device_id": "x", "platform": "cisco_nope", "running_config": "a", "intended_config": "b"}
        ]
    }
    fixed = {
        "device_configs": [
            {"device_id": "x", "platform": "vyos", "running_config": "set a", "intended_config": "set b"}
        ]
    }
    # Given a refused upload
    _put(stack, "incoming/one-outcome.json", broken)
    refusal = _wait_for(stack, "errors/one-outcome.json", lambda document: True)
    assert "platform" in json.dumps(refusal["details"])
    # When the fixed manifest is uploaded, accepted/ appears and errors/ is gone
    _put(stack, "incoming/one-outcome.json", fixed)
    accepted = _wait_for(stack, "accepted/one-outcome.json", lambda document: True)
    assert _marker(stack, "errors/one-outcome.json") is None
    # And when a broken one follows, errors/ is back and accepted/ is gone
    _put(stack, "incoming/one-outcome.json", broken)
    again = _wait_for(
        stack, "errors/one-outcome.json", lambda document: document["event_time"] > accepted["event_time"]
    )
    assert again["source"].endswith("incoming/one-outcome.json")
    assert _marker(stack, "accepted/one-outcome.json") is None


def test_one_s3_event_delivered_twice_starts_one_job(stack: LocalStack) -> None:
    # Given an uploaded manifest whose event started a job
    manifest = {
        "device_configs": [
            {"device_id": "twice", "platform": "vyos", "running_config": "set a", "intended_config": "set b"}
        ]
    }
    _put(stack, "incoming/event-twice.json", manifest)
    first = _wait_for(stack, "accepted/event-twice.json", lambda document: True)
    before = stack.job_count()
    # When that very event (the marker names it: the emulator sends S3's sequencer) is delivered twice more
    assert first["sequencer"]
    notification = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventTime": first["event_time"],
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": stack.resources["ResultBucket"]},
                    "object": {
                        "key": "incoming/event-twice.json",
                        "eTag": first["etag"],
                        "sequencer": first["sequencer"],
                    },
                },
            }
        ]
    }
    sqs = stack.client("sqs")
    for _ in range(2):
        sqs.send_message(QueueUrl=stack.resources["DropQueue"], MessageBody=json.dumps(notification))
    deadline = time.monotonic() + 30
    while stack.queue_depth("DropQueue"):  # received and deleted: handled
        assert time.monotonic() < deadline, "the drop queue never drained"
        time.sleep(0.3)
    # Then no other job started, and the marker is the first delivery's, unchanged
    assert stack.job_count() == before
    assert _marker(stack, "accepted/event-twice.json") == first
