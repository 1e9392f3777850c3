"""A job's life cycle: the one transition table, every allowed and forbidden change on the table and through
the dal (moto), close-then-announce, and a state readers saw as terminal never changing."""

import json
from itertools import product
from typing import Any

import pytest

from netremedy.dal import job_events, job_table
from netremedy.handlers import cancel_job, create_job, job_results, write_back_results
from netremedy.logic import lifecycle
from netremedy.logic.worker import remediate_device
from netremedy.models.items import DeviceResultItem, JobItem, JobState
from netremedy.models.messages import DeviceMessage
from netremedy.models.settings import load_settings
from tests.unit.events import context, drain_queue, http_event, sqs_records

# The life cycle as the README states it, written out here so that the table is checked, not restated.
ALLOWED: set[tuple[JobState, JobState]] = {
    ("pending", "running"),
    ("pending", "failed"),
    ("pending", "cancelled"),
    ("running", "completed"),
    ("running", "failed"),
    ("running", "cancelled"),
}
STATES: list[JobState] = ["pending", "running", "completed", "failed", "cancelled"]
PAIRS = list(product(STATES, STATES))
NOW = "2026-01-01T00:00:00.000Z"


def _job(aws: dict[str, Any], status: JobState, completed: int = 0, failed: int = 0, total: int = 2) -> str:
    job_id = f"job-{status}-{completed}-{failed}"
    job_table.put_new_job(
        aws["table"],
        JobItem(
            job_id=job_id,
            status=status,
            total_devices=total,
            completed_devices=completed,
            failed_devices=failed,
            created_at=NOW,
            updated_at=NOW,
            expires_at=4_102_444_800,  # 2100: a row past its expiry reads as gone
            deadline_at=NOW,
            open_shard="OPEN" if status in ("pending", "running") else None,
        ),
    )
    return job_id


def _stored(aws: dict[str, Any], job_id: str) -> JobItem:
    job = job_table.get_job(aws["table"], job_id)
    assert job is not None
    return job


def _result(job_id: str, device_id: str) -> DeviceResultItem:
    return DeviceResultItem(
        job_id=job_id,
        device_id=device_id,
        status="success",
        remediation="r",
        rollback="b",
        finished_at=NOW,
        expires_at=4_102_444_800,
    )


def _announced(aws: dict[str, Any]) -> list[str]:
    return [json.loads(body)["job_id"] for body in drain_queue(aws["finalize_url"])]


def _delete(job_id: str) -> tuple[int, dict[str, Any]]:
    event = http_event(
        "DELETE",
        f"/api/v1/batch/jobs/{job_id}",
        route="/api/v1/batch/jobs/{job_id}",
        path_parameters={"job_id": job_id},
    )
    response = cancel_job.handler(event, context())
    return response["statusCode"], json.loads(response["body"])


# The table


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_the_table_allows_exactly_the_documented_transitions(source: JobState, target: JobState) -> None:
    assert lifecycle.can_change(source, target) == ((source, target) in ALLOWED)


def test_open_and_terminal_states_follow_from_the_table() -> None:
    assert set(lifecycle.STATES) == set(STATES)
    assert lifecycle.OPEN_STATES == {"pending", "running"}
    assert lifecycle.TERMINAL_STATES == {"completed", "failed", "cancelled"}
    assert all(not lifecycle.TRANSITIONS[state] for state in lifecycle.TERMINAL_STATES)
    # Counting keeps a job open: it may count devices exactly while the job is open
    assert set(lifecycle.COUNTING_SOURCES) == lifecycle.OPEN_STATES
    assert (lifecycle.sources("completed"), lifecycle.sources("cancelled")) == (
        ("running",),
        ("pending", "running"),
    )


def test_effective_status_reads_an_open_job_with_every_device_counted_as_completed() -> None:
    def job(status: JobState, completed: int, failed: int) -> JobItem:
        return JobItem(
            job_id="j",
            status=status,
            total_devices=2,
            completed_devices=completed,
            failed_devices=failed,
            created_at=NOW,
            updated_at=NOW,
            expires_at=1,
        )

    assert lifecycle.effective_status(job("running", 1, 1)) == "completed"
    assert lifecycle.effective_status(job("running", 1, 0)) == "running"
    assert lifecycle.effective_status(job("cancelled", 1, 0)) == "cancelled"


# Every transition through the dal, with the conditions built from the table


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_every_transition_through_the_dal_happens_only_where_the_table_allows_it(
    aws: dict[str, Any], source: JobState, target: JobState
) -> None:
    # Given a job in the source state
    job_id = _job(aws, source, completed=1)
    # When a writer tries the change, with the source states the table allows for it
    if target == "pending":
        # Nothing leads back to pending: only creating a job makes one, and a job id is created once
        with pytest.raises(job_table.JobExistsError):
            _job(aws, source, completed=1)
        changed = False
    elif target == "running":
        outcome = job_table.commit_device_results(
            aws["table"],
            [_result(job_id, "new")],
            NOW,
            status=lifecycle.COUNTING_STATE,
            from_states=lifecycle.COUNTING_SOURCES,
        )
        changed = bool(outcome.recorded)
        # A running job stays running as it counts; a job that has ended takes no more results
        assert changed == (source in ("pending", "running"))
        assert [r.device_id for r in outcome.job_closed] == ([] if changed else ["new"])
    else:
        changed = job_table.close_job(
            aws["table"], job_id, target, NOW, from_states=lifecycle.sources(target), error="why"
        )
    # Then it happened exactly for the allowed transitions, and otherwise nothing changed
    if target != "running" or source != "running":
        assert changed == ((source, target) in ALLOWED)
    stored = _stored(aws, job_id)
    assert stored.status == (target if changed else source)
    if changed and target in lifecycle.TERMINAL_STATES:
        # An ended job leaves the sparse OpenJobs index the sweeper reads
        assert stored.open_shard is None and list(job_table.overdue_job_ids(aws["table"], "9999")) == []
        assert stored.error == "why"


def test_a_close_on_counters_fails_when_a_device_was_counted_since_they_were_read(
    aws: dict[str, Any],
) -> None:
    job_id = _job(aws, "running", completed=1)
    sources = lifecycle.sources("cancelled")
    assert not job_table.close_job(
        aws["table"], job_id, "cancelled", NOW, from_states=sources, counters=(0, 0)
    )
    assert _stored(aws, job_id).status == "running"
    assert job_table.close_job(aws["table"], job_id, "cancelled", NOW, from_states=sources, counters=(1, 0))
    assert _stored(aws, job_id).status == "cancelled"


# end_job: the one close of the logic, and its announcement


@pytest.mark.parametrize(
    ("source", "counted", "target", "ended", "final"),
    [
        ("pending", 0, "failed", True, "failed"),
        ("pending", 0, "cancelled", True, "cancelled"),
        ("pending", 0, "completed", False, "pending"),
        ("running", 1, "failed", True, "failed"),
        ("running", 1, "cancelled", True, "cancelled"),
        ("running", 1, "completed", False, "running"),
        ("running", 2, "completed", True, "completed"),
        # Every device counted: readers see completed already, so that is what the job becomes
        ("running", 2, "failed", False, "completed"),
        ("running", 2, "cancelled", False, "completed"),
        ("completed", 2, "cancelled", False, "completed"),
        ("completed", 2, "failed", False, "completed"),
        ("failed", 0, "cancelled", False, "failed"),
        ("cancelled", 1, "failed", False, "cancelled"),
        ("cancelled", 1, "completed", False, "cancelled"),
    ],
)
def test_end_job_ends_open_jobs_once_and_the_ending_call_announces(
    aws: dict[str, Any], source: JobState, counted: int, target: JobState, ended: bool, final: JobState
) -> None:
    job_id = _job(aws, source, completed=counted)
    assert lifecycle.end_job(load_settings(), job_id, target, "a reason") == ended
    assert _stored(aws, job_id).status == final
    # Whoever closed the job announced it, once; nobody else did
    closed_here = final != source
    assert _announced(aws) == ([job_id] if closed_here else [])
    # And a second attempt changes nothing and announces nothing
    assert not lifecycle.end_job(load_settings(), job_id, target, "again")
    assert _stored(aws, job_id).status == final and _announced(aws) == []


def test_end_job_refuses_states_that_are_not_an_end(aws: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="does not end as running"):
        lifecycle.end_job(load_settings(), _job(aws, "pending"), "running")


def test_end_job_of_a_job_that_is_gone_is_false(aws: dict[str, Any]) -> None:
    assert not lifecycle.end_job(load_settings(), "no-such-job", "cancelled")
    assert _announced(aws) == []


def test_the_job_is_closed_before_its_end_is_announced(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _job(aws, "running", completed=1)
    seen: list[str] = []
    real = job_events.announce_ended

    def announce(queue_url: str, announced_id: str) -> None:
        seen.append(_stored(aws, announced_id).status)
        real(queue_url, announced_id)

    monkeypatch.setattr(job_events, "announce_ended", announce)
    assert lifecycle.end_job(load_settings(), job_id, "cancelled")
    assert seen == ["cancelled"]


def test_a_cancel_that_loses_a_race_with_a_counted_device_reads_again(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a job whose first read is stale: a worker counted a device right after it
    job_id = _job(aws, "running", completed=1, total=3)
    real = job_table.get_job
    reads: list[int] = []

    def get_job(table: str, wanted: str) -> JobItem | None:
        job = real(table, wanted)
        reads.append(1)
        if job is not None and len(reads) == 1:
            return job.model_copy(update={"completed_devices": 0})
        return job

    monkeypatch.setattr(job_table, "get_job", get_job)
    # When it is cancelled, the close on the stale counters fails and the cancel reads again
    assert lifecycle.end_job(load_settings(), job_id, "cancelled")
    assert len(reads) == 2
    monkeypatch.setattr(job_table, "get_job", real)
    assert _stored(aws, job_id).status == "cancelled"


def test_a_cancel_racing_the_last_device_completes_the_job_instead(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a job whose last device is counted between the cancel's read and its close
    job_id = _job(aws, "running", completed=2, total=2)
    real = job_table.get_job
    reads: list[int] = []

    def get_job(table: str, wanted: str) -> JobItem | None:
        job = real(table, wanted)
        reads.append(1)
        return job.model_copy(update={"completed_devices": 1}) if job is not None and len(reads) == 1 else job

    monkeypatch.setattr(job_table, "get_job", get_job)
    # Then the cancel fails, and the job is completed and announced
    assert not lifecycle.end_job(load_settings(), job_id, "cancelled")
    monkeypatch.setattr(job_table, "get_job", real)
    assert _stored(aws, job_id).status == "completed" and _announced(aws) == [job_id]


def test_a_failed_announcement_raises_only_when_asked(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(queue_url: str, job_id: str) -> None:
        raise RuntimeError("queue unavailable")

    logged: list[tuple[str, Any]] = []
    monkeypatch.setattr(job_events, "announce_ended", refuse)
    monkeypatch.setattr(lifecycle.logger, "error", lambda message, extra: logged.append((message, extra)))
    # A counting caller whose batch comes back again is told, after the close
    strict = _job(aws, "running", completed=2)
    with pytest.raises(RuntimeError):
        lifecycle.end_job(load_settings(), strict, "completed", strict_announce=True)
    assert _stored(aws, strict).status == "completed"
    # Cancel and fail log it: the job's state is right already
    lenient = _job(aws, "pending")
    assert lifecycle.end_job(load_settings(), lenient, "cancelled")
    assert _stored(aws, lenient).status == "cancelled"
    assert logged == [("job end not announced", {"job_id": lenient, "error_type": "RuntimeError"})]


def test_a_completed_job_is_announced_again_only_when_completed(aws: dict[str, Any]) -> None:
    completed, cancelled = _job(aws, "completed", completed=2), _job(aws, "cancelled", completed=1)
    assert lifecycle.announce_again_if_completed(load_settings(), completed)
    assert not lifecycle.announce_again_if_completed(load_settings(), cancelled)
    assert not lifecycle.announce_again_if_completed(load_settings(), "no-such-job")
    assert _announced(aws) == [completed]


# Through the handlers: a state readers have seen as terminal never changes


def test_cancelling_a_job_whose_devices_are_all_counted_is_409_and_it_completes_with_its_bundle(
    aws: dict[str, Any],
) -> None:
    # Given a job whose devices were all counted by a worker that died before closing it
    devices = [
        {
            "device_id": f"r{i}",
            "platform": "cisco_ios",
            "running_config": "hostname a",
            "intended_config": "hostname b",
        }
        for i in range(2)
    ]
    response = create_job.handler(
        http_event("POST", "/api/v1/batch/remediation", body={"device_configs": devices}), context()
    )
    job_id = json.loads(response["body"])["job_id"]
    results = [
        result
        for message in map(DeviceMessage.model_validate_json, drain_queue(aws["queue_url"]))
        for result in (remediate_device(load_settings(), message, device) for device in message.devices)
    ]
    job_table.commit_device_results(
        aws["table"], results, NOW, status=lifecycle.COUNTING_STATE, from_states=lifecycle.COUNTING_SOURCES
    )
    assert _stored(aws, job_id).status == "running"  # readers see "completed" already
    # When it is cancelled
    status, body = _delete(job_id)
    # Then the cancel is refused as for any ended job, and the job is completed, not cancelled
    assert (status, body["error"]) == (409, "job_finished") and "completed" in body["message"]
    assert _stored(aws, job_id).status == "completed"
    # And it was announced once, so its results are written back and the bundle is served
    announced = drain_queue(aws["finalize_url"])
    assert [json.loads(body)["job_id"] for body in announced] == [job_id]
    assert write_back_results.handler(sqs_records(announced), context()) == {"batchItemFailures": []}
    bundle = job_results.handler(
        http_event(
            "GET",
            f"/api/v1/batch/jobs/{job_id}/bundle",
            route="/api/v1/batch/jobs/{job_id}/bundle",
            path_parameters={"job_id": job_id},
        ),
        context(),
    )
    assert bundle["statusCode"] == 200 and json.loads(bundle["body"])["format"] == "jsonl"
    # And a second cancel says the same
    assert _delete(job_id)[0] == 409
