"""Injected faults on the real local stack: nothing lost, nothing double-counted, every job ends.

These run on a second stack whose device workers are paused (LOCAL_PAUSED_FUNCTIONS), so that the test
itself plays the worker, through the same handler and the same queue, and can die where it likes. The
dead-letter consumer and the deadline sweeper run as usual (sweeper every second, deadline 20 s).
"""

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from netremedy.handlers import remediate_devices
from netremedy.logic.worker import remediate_device
from netremedy.models.messages import DeviceMessage
from netremedy.models.settings import load_settings
from netremedy_local.pollers import PollerConfig, poll_once, sqs_event
from netremedy_local.runtime import LocalLambdaContext
from tests.integration.conftest import LocalStack, paused_worker, running_stack

pytestmark = pytest.mark.integration

DEADLINE_SECONDS = 20


@pytest.fixture(scope="module")
def paused_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(
        tmp_path_factory.mktemp("paused-stack"),
        LOCAL_PAUSED_FUNCTIONS="RemediateDevicesFunction",
        PARAMETER_OVERRIDES=f"JobDeadlineSeconds={DEADLINE_SECONDS}",
        LOCAL_SCHEDULE_SECONDS="1",
        # One device per message: these tests lose, crash and poison individual devices' messages.
        DEVICES_PER_MESSAGE="1",
        # Queued before the POST answers, as these tests take or refuse the messages right after it.
        INLINE_FANOUT_MAX_BATCHES="100",
    ) as stack:
        yield stack


@pytest.fixture
def worker(paused_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[PollerConfig]:
    yield from paused_worker(paused_stack, monkeypatch, JOB_DEADLINE_SECONDS=str(DEADLINE_SECONDS))


def _devices(prefix: str, count: int, size: int = 0) -> list[dict[str, str]]:
    padding = "".join(f"\ninterface Gi0/{i}\n description pad" for i in range(size))
    return [
        {
            "device_id": f"{prefix}{i:02d}",
            "platform": "cisco_ios",
            "running_config": f"hostname {prefix}{i}",
            "intended_config": f"hostname {prefix}{i}-new{padding}",
        }
        for i in range(count)
    ]


def _messages_of(stack: LocalStack, job_id: str, visibility: int) -> list[dict[str, Any]]:
    """Take every queued message of the job (they stay invisible for ``visibility`` seconds)."""
    sqs, taken = stack.client("sqs"), []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=stack.resources["DeviceQueue"],
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        taken.extend(m for m in messages if json.loads(m["Body"])["job_id"] == job_id)
    return taken


def _run_worker_until(
    stack: LocalStack, worker: PollerConfig, job_id: str, status: str, timeout: float = 60
) -> None:
    sqs, handler = stack.client("sqs"), remediate_devices.handler
    deadline = time.monotonic() + timeout
    while stack.status(job_id)["status"] != status:
        assert time.monotonic() < deadline, stack.status(job_id)
        if not poll_once(worker, sqs, handler, wait_seconds=0):
            time.sleep(0.2)


def _wait_for(stack: LocalStack, job_id: str, status: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (current := stack.status(job_id))["status"] != status:
        assert time.monotonic() < deadline, current
        time.sleep(0.5)
    return current


def test_a_worker_that_dies_before_or_after_writing_is_made_good_exactly_once(
    paused_stack: LocalStack, worker: PollerConfig
) -> None:
    # Given a job of 20 devices whose messages a worker took, 10 of them at a time
    job_id = paused_stack.submit(_devices("crash", 20))
    taken = _messages_of(paused_stack, job_id, visibility=2)
    assert len(taken) == 20
    before_write, after_write = taken[:10], taken[10:]
    # When the worker dies after computing but before writing the first batch...
    for message in before_write:
        queued = DeviceMessage.model_validate_json(message["Body"])
        for device in queued.devices:
            remediate_device(load_settings(), queued, device)
    # ...and after writing the second batch, but before deleting its messages
    remediate_devices.handler(
        sqs_event(after_write, worker.queue_arn, worker.region),
        LocalLambdaContext(worker.function, worker.region, "paused"),
    )
    assert paused_stack.status(job_id)["completed_devices"] == 10
    # Then after the visibility timeout all 20 messages come back, a restarted worker handles them,
    # and every device is counted exactly once
    time.sleep(2.5)
    _run_worker_until(paused_stack, worker, job_id, "completed")
    status = paused_stack.status(job_id)
    assert (status["completed_devices"], status["failed_devices"], status["progress"]) == (20, 0, 100.0)
    results = paused_stack.results(job_id)["results"]
    assert sorted(r["device_id"] for r in results) == [f"crash{i:02d}" for i in range(20)]


def test_a_poison_message_goes_to_the_dead_letter_queue_and_its_device_is_still_counted(
    paused_stack: LocalStack, worker: PollerConfig
) -> None:
    # Given a job whose device message the worker can never process (its payload is gone from S3)
    job_id = paused_stack.submit(_devices("poison", 2))
    sqs = paused_stack.client("sqs")
    taken = _messages_of(paused_stack, job_id, visibility=60)
    poison = json.dumps(
        {"job_id": job_id, "device_id": "poison00", "payload_key": f"inputs/{job_id}/missing.json"}
    )
    for message in taken:
        sqs.delete_message(QueueUrl=worker.queue_url, ReceiptHandle=message["ReceiptHandle"])
    sqs.send_message(QueueUrl=worker.queue_url, MessageBody=poison)
    sqs.send_message(
        QueueUrl=worker.queue_url, MessageBody=next(m["Body"] for m in taken if "poison01" in m["Body"])
    )
    # When the worker fails it on every receive until the queue's redrive policy (maxReceiveCount 5) moves it
    context = LocalLambdaContext(worker.function, worker.region, "paused")
    failures = 0
    for _ in range(12):
        messages = sqs.receive_message(
            QueueUrl=worker.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
        ).get("Messages", [])
        mine = [m for m in messages if json.loads(m["Body"])["job_id"] == job_id]
        if not mine:
            if failures:
                break
            continue
        response = remediate_devices.handler(sqs_event(mine, worker.queue_arn, worker.region), context)
        failures += len(response["batchItemFailures"])
        finished = {m["MessageId"] for m in mine} - {
            f["itemIdentifier"] for f in response["batchItemFailures"]
        }
        for message in mine:
            if message["MessageId"] in finished:
                sqs.delete_message(QueueUrl=worker.queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert failures == 5
    # Then the dead-letter consumer counts the device as failed with the reason, and the job ends
    status = _wait_for(paused_stack, job_id, "completed", timeout=30)
    assert (status["completed_devices"], status["failed_devices"]) == (1, 1)
    errors = {r["device_id"]: r.get("error") for r in paused_stack.results(job_id)["results"]}
    assert "dead-letter queue" in errors["poison00"] and errors["poison01"] is None


def test_lost_messages_are_failed_after_the_deadline_and_the_job_ends(
    paused_stack: LocalStack, worker: PollerConfig
) -> None:
    # Given a job of 5 devices where 2 are processed and the messages of 3 are lost
    job_id = paused_stack.submit(_devices("lost", 5))
    taken = _messages_of(paused_stack, job_id, visibility=600)
    sqs = paused_stack.client("sqs")
    for message in taken:
        sqs.delete_message(QueueUrl=worker.queue_url, ReceiptHandle=message["ReceiptHandle"])
    remediate_devices.handler(
        sqs_event(taken[:2], worker.queue_arn, worker.region),
        LocalLambdaContext(worker.function, worker.region, "paused"),
    )
    assert paused_stack.status(job_id)["status"] == "running"
    # When the deadline passes, the sweeper finishes the job
    status = _wait_for(paused_stack, job_id, "completed", timeout=DEADLINE_SECONDS + 30)
    # Then the lost devices are failed with the reason and the counters add up
    assert (status["completed_devices"], status["failed_devices"], status["progress"]) == (2, 3, 100.0)
    failed = [r for r in paused_stack.results(job_id)["results"] if r["status"] == "failed"]
    assert len(failed) == 3 and all("deadline" in r["error"] for r in failed)


def test_fanout_that_fails_half_way_fails_the_job_and_leaves_nothing_running(
    paused_stack: LocalStack, worker: PollerConfig
) -> None:
    sqs = paused_stack.client("sqs")
    queue = paused_stack.resources["DeviceQueue"]
    original = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["MaximumMessageSize"])["Attributes"]
    # Given a queue that starts refusing messages part way through the job (large ones are refused)
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"MaximumMessageSize": "2048"})
    try:
        response = requests.post(
            f"{paused_stack.api_url}/api/v1/batch/remediation",
            timeout=60,
            json={"device_configs": _devices("half", 30) + _devices("huge", 10, size=60)},
        )
    finally:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes=original)
    # Then the client is told, with the job id, and the job is failed with the reason
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "job_not_started" and body["job_id"]
    status = paused_stack.status(body["job_id"])
    assert status["status"] == "failed" and "fan-out" in status["error"]
    # And the messages that did get out change nothing: the job stays failed, with nothing counted
    for _ in range(10):
        poll_once(worker, sqs, remediate_devices.handler, wait_seconds=0)
    final = paused_stack.status(body["job_id"])
    assert (final["status"], final["completed_devices"], final["failed_devices"]) == ("failed", 0, 0)


def test_cancel_stops_the_remaining_devices(paused_stack: LocalStack, worker: PollerConfig) -> None:
    job_id = paused_stack.submit(_devices("cancel", 10))
    response = requests.delete(f"{paused_stack.api_url}/api/v1/batch/jobs/{job_id}", timeout=30)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    # Workers that pick up its messages afterwards skip them
    for _ in range(5):
        poll_once(worker, paused_stack.client("sqs"), remediate_devices.handler, wait_seconds=0)
    status = paused_stack.status(job_id)
    assert (status["status"], status["completed_devices"], status["failed_devices"]) == ("cancelled", 0, 0)
    assert paused_stack.results(job_id)["results"] == []
    # The sweeper leaves a cancelled job alone, and a second cancel says it already ended
    again = requests.delete(f"{paused_stack.api_url}/api/v1/batch/jobs/{job_id}", timeout=30)
    assert again.status_code == 409 and "cancelled" in again.json()["message"]
