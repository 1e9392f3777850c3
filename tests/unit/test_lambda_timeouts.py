"""The local event source mapping and scheduler end an invocation at the function's Timeout and fail it, as
Lambda does."""

import signal
import threading
import time
from typing import Any

import boto3
import pytest

from netremedy_local.pollers import PollerConfig, poll_once
from netremedy_local.runtime import InvocationTimeout, invocation_deadline
from netremedy_local.scheduler import Scheduler
from netremedy_local.template import FunctionSpec


def _poller(queue_url: str, timeout: int) -> PollerConfig:
    return PollerConfig(
        function=FunctionSpec("SlowFunction", "tests.slow.handler", timeout, 128, {}),
        environment={},
        queue_url=queue_url,
        queue_arn="arn:aws:sqs:us-east-1:123456789012:slow",
        batch_size=10,
        report_batch_item_failures=True,
        region="us-east-1",
        stack_name="unit",
    )


@pytest.fixture
def queue(aws: dict[str, Any]) -> str:
    """A queue whose messages come back one second after a receive, holding three messages."""
    sqs = boto3.client("sqs")
    url: str = sqs.create_queue(QueueName="slow", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)])
    return url


def _bodies_after_visibility_timeout(url: str) -> list[str]:
    time.sleep(1.2)
    received = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return sorted(message["Body"] for message in received.get("Messages", []))


def test_a_handler_running_past_its_timeout_is_ended_and_its_whole_batch_returns(queue: str) -> None:
    calls: list[int] = []
    swallowed: list[Exception] = []

    def slow_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(len(event["Records"]))
        try:
            time.sleep(30)
        except Exception as exc:  # noqa: BLE001 - a catch-all (Powertools has one per record)
            swallowed.append(exc)
        return {"batchItemFailures": []}  # would delete every message, had it been reached in time

    # When the handler takes longer than the function's Timeout of 1 s
    started = time.monotonic()
    received = poll_once(_poller(queue, timeout=1), boto3.client("sqs"), slow_handler, wait_seconds=0)
    # Then the invocation ends at the timeout, and no message of its batch was deleted
    assert received == 3 and calls == [3] and swallowed == []
    assert 1.0 <= time.monotonic() - started < 5
    assert _bodies_after_visibility_timeout(queue) == ["m0", "m1", "m2"]
    # And the timer is gone: nothing fires later in the process
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_handler_within_its_timeout_has_its_batch_deleted(queue: str) -> None:
    def quick_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}

    assert poll_once(_poller(queue, timeout=1), boto3.client("sqs"), quick_handler, wait_seconds=0) == 3
    # Only the message the handler reported as failed comes back
    assert len(_bodies_after_visibility_timeout(queue)) == 1


def test_a_deadline_off_the_main_thread_marks_an_overrun_without_interrupting() -> None:
    outcome: list[bool] = []

    def run() -> None:
        with invocation_deadline(0.05) as invocation:
            time.sleep(0.1)
        outcome.append(invocation.timed_out)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert outcome == [True]


def test_a_timeout_from_another_deadline_is_not_swallowed() -> None:
    with pytest.raises(InvocationTimeout), invocation_deadline(5):
        raise InvocationTimeout(1)


def test_a_scheduled_run_past_its_timeout_is_ended_and_the_next_comes_an_interval_later() -> None:
    runs: list[str] = []

    def slow_sweep(event: dict[str, Any], context: Any) -> None:
        runs.append(event["detail-type"])
        time.sleep(30)

    sweeper = FunctionSpec("SweepFunction", "tests.slow.handler", 1, 128, {})
    # Given a schedule due now and one due in a minute
    scheduler = Scheduler([(sweeper, slow_sweep, 0.0), (sweeper, slow_sweep, 60.0)], "us-east-1", "unit")
    started = time.monotonic()
    scheduler.run_due()
    # Then only the due one ran, and it was ended at its Timeout of 1 s
    assert runs == ["Scheduled Event"]
    assert 1.0 <= time.monotonic() - started < 5
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
