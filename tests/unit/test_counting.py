"""Counting rules: each device counted once, whatever SQS redelivers; the job closes exactly once."""

from typing import Any

import pytest
from botocore.exceptions import ClientError

from netremedy.dal import job_table
from netremedy.logic.counting import record_results
from netremedy.models.items import DeviceResultItem, JobItem
from netremedy.models.settings import load_settings


def _job(aws: dict[str, Any], job_id: str, total: int) -> None:
    job_table.put_new_job(
        aws["table"],
        JobItem(
            job_id=job_id, status="pending", total_devices=total, created_at="t", updated_at="t", expires_at=1
        ),
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
            expires_at=1,
        )
    return DeviceResultItem(
        job_id=job_id, device_id=device_id, status="failed", error="bad", finished_at="t", expires_at=1
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
    job_table.commit_device_results(aws["table"], [_result("j1", "a")], "t")
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
    job_table.fail_job(aws["table"], "j1", "fan-out failed", "t")
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
    outcome = job_table.commit_device_results(aws["table"], [_result("j1", "a")], "t")
    # Then it commits on the third attempt, once
    assert calls["n"] == 3 and len(outcome.recorded) == 1
    job = job_table.get_job(aws["table"], "j1")
    assert job is not None and job.completed_devices == 1
