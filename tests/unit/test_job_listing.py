"""GET /api/v1/batch/jobs in-process (moto, the table and its JobsByOwner index as template.yaml declares
them): whose jobs, the order, the fields, paging, the status filter and its bound, and the tokens."""

import base64
import json
import uuid
from typing import Any

import boto3
import pytest

from netremedy.dal import job_table
from netremedy.handlers import list_jobs
from netremedy.logic import job_listing
from netremedy.logic.jobs import ACCOUNT_OWNER
from netremedy.models.items import JobItem
from tests.unit.events import context, http_event

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"
FAR_FUTURE = 4_102_444_800  # 2100


def _job(owner: str, minute: int, **fields: Any) -> JobItem:
    created_at = f"2026-12-01T09:{minute:02d}:00.000Z"
    job = JobItem.model_validate(
        {
            "job_id": str(uuid.uuid4()),
            "status": "pending",
            "total_devices": 2,
            "created_at": created_at,
            "updated_at": created_at,
            "expires_at": FAR_FUTURE,
            "owner": owner,
            **fields,
        }
    )
    job_table.put_new_job("unit-jobs", job)
    return job


def _list(caller: str | None = ALICE, **query: str) -> tuple[int, dict[str, Any]]:
    event = http_event("GET", "/api/v1/batch/jobs", query=query or None, caller=caller)
    response = list_jobs.handler(event, context("ListJobsFunction"))
    return response["statusCode"], json.loads(response["body"])


def _all_pages(**query: str) -> tuple[list[str], int]:
    """Every job id of the listing, following next_token, and how many pages it took."""
    ids: list[str] = []
    pages = 0
    token: str | None = None
    while True:
        status, body = _list(**query, **({"next_token": token} if token else {}))
        assert status == 200, body
        pages += 1
        ids += [job["job_id"] for job in body["jobs"]]
        token = body.get("next_token")
        if token is None:
            return ids, pages
        assert pages < 50, "next_token never ends"


def test_a_caller_sees_only_its_own_jobs_newest_first_with_their_fields(aws: dict[str, Any]) -> None:
    # Given two jobs of alice (one ended), one of bob and one started by an S3 drop
    older = _job(
        ALICE,
        1,
        status="completed",
        completed_devices=1,
        failed_devices=1,
        updated_at="2026-12-01T09:05:00.000Z",
    )
    newer = _job(ALICE, 2, status="running", completed_devices=1, source="api")
    _job(BOB, 3)
    _job(ACCOUNT_OWNER, 4, source="s3://drops/drops/fleet.json")

    # When alice lists her jobs
    status, body = _list()

    # Then she gets hers, newest first, each with its status, counters, times and source
    assert status == 200
    assert body == {
        "jobs": [
            {
                "job_id": newer.job_id,
                "status": "running",
                "total_devices": 2,
                "completed_devices": 1,
                "failed_devices": 0,
                "created_at": "2026-12-01T09:02:00.000Z",
                "finished_at": None,
                "source": "api",
            },
            {
                "job_id": older.job_id,
                "status": "completed",
                "total_devices": 2,
                "completed_devices": 1,
                "failed_devices": 1,
                "created_at": "2026-12-01T09:01:00.000Z",
                "finished_at": "2026-12-01T09:05:00.000Z",
                "source": "api",
            },
        ],
        "next_token": None,
    }
    assert [job["source"] for job in _list(owner="account")[1]["jobs"]] == ["s3://drops/drops/fleet.json"]
    assert len(_list(BOB)[1]["jobs"]) == 1


def test_a_job_whose_devices_are_all_counted_is_listed_and_filtered_as_completed(aws: dict[str, Any]) -> None:
    # Given a job still open in its row but with every device counted (its close comes next)
    counted = _job(ALICE, 1, status="running", completed_devices=2, updated_at="2026-12-01T09:03:00.000Z")
    _job(ALICE, 2, status="running", completed_devices=1)

    # When alice lists her completed jobs, then it is there, with the time its last device was counted
    _, body = _list(status="completed")
    assert [(job["job_id"], job["status"], job["finished_at"]) for job in body["jobs"]] == [
        (counted.job_id, "completed", "2026-12-01T09:03:00.000Z")
    ]
    assert [job["status"] for job in _list(status="running")[1]["jobs"]] == ["running"]


def test_pages_follow_each_other_without_gaps_or_repeats(aws: dict[str, Any]) -> None:
    # Given seven jobs, two of them created in the same millisecond
    jobs = [_job(ALICE, minute) for minute in (1, 2, 3, 3, 4, 5, 6)]

    # When alice reads them three at a time
    ids, pages = _all_pages(limit="3")

    # Then every job comes once, newest first, in three pages
    assert pages == 3
    assert sorted(ids) == sorted(job.job_id for job in jobs)
    created = {job.job_id: job.created_at for job in jobs}
    assert [created[job_id] for job_id in ids] == sorted(created.values(), reverse=True)


def test_a_rare_status_is_found_past_the_read_bound_with_short_pages_that_end(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one failed job under eight newer running ones, and a bound of three rows read a page
    monkeypatch.setattr(job_listing, "MAX_EXAMINED_JOBS", 3)
    failed = _job(ALICE, 1, status="failed", error="fan-out failed")
    for minute in range(2, 10):
        _job(ALICE, minute, status="running")

    # When alice lists her failed jobs, following next_token
    ids, pages = _all_pages(status="failed")

    # Then the pages before it are empty but keep a token, and the walk ends once the index is exhausted
    assert ids == [failed.job_id]
    assert pages == 3
    first_status, first = _list(status="failed")
    assert first_status == 200 and first["jobs"] == [] and first["next_token"]


def test_rows_from_before_the_index_and_other_rows_with_an_owner(aws: dict[str, Any]) -> None:
    dynamodb = boto3.client("dynamodb")
    # Given a job row as the first version of the service wrote it (no field added since) ...
    old_id = str(uuid.uuid4())
    dynamodb.put_item(
        TableName=aws["table"],
        Item={
            "pk": {"S": f"JOB#{old_id}"},
            "sk": {"S": "JOB"},
            "job_id": {"S": old_id},
            "status": {"S": "completed"},
            "total_devices": {"N": "1"},
            "completed_devices": {"N": "1"},
            "failed_devices": {"N": "0"},
            "created_at": {"S": "2026-11-20T08:00:00.000Z"},
            "updated_at": {"S": "2026-11-20T08:00:05.000Z"},
            "expires_at": {"N": str(FAR_FUTURE)},
            "owner": {"S": ALICE},
            "source": {"S": "api"},
        },
    )
    # ... an upload's row, which has an owner and created_at too, and a job past its expiry (TTL not run yet)
    dynamodb.put_item(
        TableName=aws["table"],
        Item={
            "pk": {"S": f"UPLOAD#{uuid.uuid4()}"},
            "sk": {"S": "UPLOAD"},
            "owner": {"S": ALICE},
            "created_at": {"S": "2026-12-01T09:30:00.000Z"},
            "expires_at": {"N": str(FAR_FUTURE)},
        },
    )
    _job(ALICE, 40, expires_at=1_700_000_000)

    # When alice lists her jobs, then only the old job is there, as it was written
    _, body = _list()
    assert [(job["job_id"], job["finished_at"]) for job in body["jobs"]] == [
        (old_id, "2026-11-20T08:00:05.000Z")
    ]


def _token(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        _token("router1"),  # a results page's token
        # fixed ids, not fresh ones: every pytest-xdist worker must collect the same test names
        _token("2026-12-01T09:00:00.000Z 9b2f6a1e-0c4d-4e8a-b1f3-5d7e2a9c6b40 extra"),
        _token("2026-12-01 3c8e1d52-7a9b-4f06-8e2d-1b4a6c9f0e73"),
        "x" * 401,
    ],
)
def test_a_token_the_api_did_not_issue_is_refused_naming_next_token(aws: dict[str, Any], token: str) -> None:
    status, body = _list(next_token=token)
    assert status in (400, 422)
    assert [detail["field"] for detail in body["details"]] in (["next_token"], ["query.next_token"])
    if status == 400:
        assert body["error"] == "invalid_next_token"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "done"}, "query.status"),
        ({"owner": "bob"}, "query.owner"),
        ({"limit": "0"}, "query.limit"),
        ({"limit": "101"}, "query.limit"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(
    aws: dict[str, Any], query: dict[str, str], field: str
) -> None:
    status, body = _list(**query)
    assert status == 422 and body["error"] == "validation_error"
    assert [detail["field"] for detail in body["details"]] == [field]
    assert field in body["message"]


def test_an_issued_token_only_moves_within_the_callers_own_jobs(aws: dict[str, Any]) -> None:
    # Given jobs of alice and of bob, bob's newest created after alice's newest
    for minute in (1, 2, 3):
        _job(ALICE, minute)
        _job(BOB, minute if minute < 3 else 4)

    # When bob replays alice's token, then he reads his own older jobs, never hers
    _, page = _list(limit="1")
    _, replayed = _list(BOB, next_token=page["next_token"])
    bob_ids = {job["job_id"] for job in _list(BOB)[1]["jobs"]}
    assert len(replayed["jobs"]) == 2 and {job["job_id"] for job in replayed["jobs"]} <= bob_ids
