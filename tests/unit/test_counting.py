"""Counting rules: each device counted once, whatever SQS redelivers; the job closes exactly once."""

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from netremedy.dal import job_events, job_table
from netremedy.logic import lifecycle
from netremedy.logic.counting import record_results
from netremedy.models.items import DeviceResultItem, JobItem
from netremedy.models.settings import load_settings
from tests.unit.events import drain_queue

# 2100-01-01: rows past their expiry read as gone.
LATER = 4_102_444_800


def _job(aws: dict[str, Any], job_id: str, total: int) -> None:
    job_table.put_new_job(
        aws["table"],
        JobItem(
            job_id=job_id,
            status="pending",
            total_devices=total,
            created_at="t",
            updated_at="t",
            expires_at=LATER,
        ),
    )


def _commit(aws: dict[str, Any], results: list[DeviceResultItem]) -> job_table.CommitOutcome:
    """Count results as the workers do, without the completion step that follows."""
    return job_table.commit_device_results(
        aws["table"],
        results,
        "t",
        status=lifecycle.COUNTING_STATE,
        from_states=lifecycle.COUNTING_SOURCES,
    )


def _result(job_id: str, device_id: str, status: str = "success") -> DeviceResultItem:
    if status == "success":
        return DeviceResultItem(
            job_id=job_id,
            device_id=device_id,
            status="success",
            remediation="r",
            rollback="b",
            finished_at="t",
            expires_at=LATER,
        )
    return DeviceResultItem(
        job_id=job_id, device_id=device_id, status="failed", error="bad", finished_at="t", expires_at=LATER
    )


def test_batch_counts_successes_and_failures_and_starts_the_job(aws: dict[str, Any]) -> None:
    # Given a pending job of 3 devices
    _job(aws, "j1", 3)
    # When a batch with one success and one failure is counted
    count = record_results(load_settings(), [_result("j1", "a"), _result("j1", "b", "failed")], {"j1"})
    # Then both are recorded, the job runs, and it is not yet complete
    job = job_table.get_job(aws["table"], "j1")
    assert job is not None
    assert (job.status, job.completed_devices, job.failed_devices) == ("running", 1, 1)
    assert count.recorded == 2 and count.jobs_completed == []


def test_redelivered_devices_are_not_counted_twice(aws: dict[str, Any]) -> None:
    # Given a job whose device "a" was already counted
    _job(aws, "j1", 3)
    record_results(load_settings(), [_result("j1", "a")], {"j1"})
    # When a batch with "a" again (a redelivery, now failing) and a new "b" is counted
    count = record_results(load_settings(), [_result("j1", "a", "failed"), _result("j1", "b")], {"j1"})
    # Then only "b" counts and "a" keeps its first result
    job = job_table.get_job(aws["table"], "j1")
    assert job is not None
    assert (job.completed_devices, job.failed_devices) == (2, 0)
    assert (count.recorded, count.duplicates) == (1, 1)
    stored = {item.device_id: item.status for item in job_table.query_device_results(aws["table"], "j1")}
    assert stored == {"a": "success", "b": "success"}


def test_the_job_completes_once_when_the_last_device_is_counted(aws: dict[str, Any]) -> None:
    _job(aws, "j1", 2)
    first = record_results(load_settings(), [_result("j1", "a")], {"j1"})
    last = record_results(load_settings(), [_result("j1", "b", "failed")], {"j1"})
    again = record_results(load_settings(), [_result("j1", "b", "failed")], {"j1"})
    job = job_table.get_job(aws["table"], "j1")
    assert job is not None and job.status == "completed"
    assert (first.jobs_completed, last.jobs_completed, again.jobs_completed) == ([], ["j1"], [])
    assert (job.completed_devices, job.failed_devices) == (1, 1)


def test_a_redelivery_closes_a_job_whose_worker_died_before_closing_it(aws: dict[str, Any]) -> None:
    # Given every device counted but the job left running (the worker died between counting and closing)
    _job(aws, "j1", 1)
    _commit(aws, [_result("j1", "a")])
    assert job_table.get_job(aws["table"], "j1").status == "running"  # type: ignore[union-attr]
    # When the same message is delivered again
    count = record_results(load_settings(), [_result("j1", "a")], {"j1"})
    # Then nothing is counted twice and the job is closed
    job = job_table.get_job(aws["table"], "j1")
    assert job is not None and (job.status, job.completed_devices) == ("completed", 1)
    assert count.duplicates == 1 and count.jobs_completed == ["j1"]


def test_one_batch_can_span_several_jobs(aws: dict[str, Any]) -> None:
    _job(aws, "j1", 1)
    _job(aws, "j2", 2)
    count = record_results(
        load_settings(), [_result("j1", "a"), _result("j2", "a"), _result("j2", "b")], {"j1", "j2"}
    )
    assert count.recorded == 3 and count.jobs_completed == ["j1", "j2"]


def test_a_failed_job_takes_no_more_results(aws: dict[str, Any]) -> None:
    _job(aws, "j1", 2)
    assert lifecycle.end_job(load_settings(), "j1", "failed", "fan-out failed")
    count = record_results(load_settings(), [_result("j1", "a")], {"j1"})
    job = job_table.get_job(aws["table"], "j1")
    assert job is not None and (job.status, job.completed_devices) == ("failed", 0)
    assert count.skipped_closed_job == 1 and list(job_table.query_device_results(aws["table"], "j1")) == []


def test_transaction_conflicts_are_retried(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a DynamoDB that refuses the first two transactions with TransactionConflict (a hot job row)
    _job(aws, "j1", 1)
    real = job_table.client("dynamodb")
    calls = {"n": 0}

    class Flaky:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def transact_write_items(self, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] <= 2:
                raise ClientError(
                    {
                        "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                        "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
                    },
                    "TransactWriteItems",
                )
            return real.transact_write_items(**kwargs)

    monkeypatch.setattr(job_table, "client", lambda service: Flaky())
    monkeypatch.setattr(job_table.time, "sleep", lambda seconds: None)
    # When the batch is counted
    outcome = _commit(aws, [_result("j1", "a")])
    # Then it commits on the third attempt, once
    assert calls["n"] == 3 and len(outcome.recorded) == 1
    job = job_table.get_job(aws["table"], "j1")
    assert job is not None and job.completed_devices == 1


def _announced(aws: dict[str, Any]) -> list[str]:
    return [json.loads(body)["job_id"] for body in drain_queue(aws["finalize_url"])]


def test_the_completing_batch_announces_the_job_once_after_closing_it(aws: dict[str, Any]) -> None:
    _job(aws, "j1", 2)
    record_results(load_settings(), [_result("j1", "a")], {"j1"})
    assert _announced(aws) == []
    record_results(load_settings(), [_result("j1", "b")], {"j1"})
    assert _announced(aws) == ["j1"]


def test_a_worker_that_died_between_close_and_announcement_is_made_good_by_the_redelivery(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the last device's batch, whose announcement fails after the job was closed
    _job(aws, "j1", 1)
    real = job_events.announce_ended

    def refuse(queue_url: str, job_id: str) -> None:
        raise RuntimeError("worker died")

    monkeypatch.setattr(job_events, "announce_ended", refuse)
    with pytest.raises(RuntimeError):
        record_results(load_settings(), [_result("j1", "a")], {"j1"})
    assert job_table.get_job(aws["table"], "j1").status == "completed"  # type: ignore[union-attr]
    monkeypatch.setattr(job_events, "announce_ended", real)
    # When the batch is delivered again: every device of the job in it is a duplicate
    count = record_results(load_settings(), [_result("j1", "a")], {"j1"})
    # Then nothing is counted twice, and the completed job is announced again
    assert (count.recorded, count.duplicates, count.jobs_completed, count.jobs_reannounced) == (
        0,
        1,
        [],
        ["j1"],
    )
    assert _announced(aws) == ["j1"]


def test_redelivered_devices_of_an_ended_job_that_did_not_complete_announce_nothing(
    aws: dict[str, Any],
) -> None:
    _job(aws, "j1", 2)
    record_results(load_settings(), [_result("j1", "a")], {"j1"})
    assert lifecycle.end_job(load_settings(), "j1", "cancelled")
    _announced(aws)
    count = record_results(load_settings(), [_result("j1", "a"), _result("j1", "b")], {"j1"})
    assert (count.duplicates, count.skipped_closed_job, count.jobs_reannounced) == (1, 1, [])
    assert _announced(aws) == []


def test_a_batch_with_a_new_device_of_a_job_does_not_announce_it_again(aws: dict[str, Any]) -> None:
    # Given a batch spanning a job it completes and a device counted before
    _job(aws, "j1", 2)
    record_results(load_settings(), [_result("j1", "a")], {"j1"})
    count = record_results(load_settings(), [_result("j1", "a"), _result("j1", "b")], {"j1"})
    # Then the job is completed and announced by the close, once
    assert (count.jobs_completed, count.jobs_reannounced) == (["j1"], [])
    assert _announced(aws) == ["j1"]


def test_without_a_redelivery_to_come_a_failed_announcement_is_logged_not_raised(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _job(aws, "j1", 1)

    def refuse(queue_url: str, job_id: str) -> None:
        raise RuntimeError("queue unavailable")

    monkeypatch.setattr(job_events, "announce_ended", refuse)
    count = record_results(load_settings(), [_result("j1", "a")], {"j1"}, redelivered_on_error=False)
    assert count.jobs_completed == ["j1"]
    assert job_table.get_job(aws["table"], "j1").status == "completed"  # type: ignore[union-attr]
