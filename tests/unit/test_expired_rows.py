"""Rows past ``expires_at`` are gone (DynamoDB's TTL deletes them days late and reads return them until then),
and a manifest no retry can read is refused at once."""

import json
import time
from typing import Any

import boto3
import pytest

from netremedy.dal import job_table
from netremedy.handlers import job_results, job_status, start_dropped_jobs
from netremedy.logic import lifecycle
from netremedy.logic.drops import start_dropped_job
from netremedy.models.items import DeviceResultItem, JobItem
from netremedy.models.settings import load_settings
from tests.unit.events import context, http_event, sqs_records

LATER = 4_102_444_800  # 2100-01-01


def _past() -> int:
    return int(time.time()) - 60


def _job(table: str, job_id: str, expires_at: int, total: int = 2) -> None:
    job_table.put_new_job(
        table,
        JobItem(
            job_id=job_id,
            status="pending",
            total_devices=total,
            created_at="2026-01-01T00:00:00.000Z",
            updated_at="2026-01-01T00:00:00.000Z",
            expires_at=expires_at,
        ),
    )


def _result(job_id: str, device_id: str, expires_at: int) -> DeviceResultItem:
    return DeviceResultItem(
        job_id=job_id,
        device_id=device_id,
        status="success",
        remediation="hostname new",
        rollback="hostname old",
        finished_at="2026-01-01T00:00:01.000Z",
        expires_at=expires_at,
    )


def _commit(table: str, results: list[DeviceResultItem]) -> None:
    job_table.commit_device_results(
        table, results, "t", status=lifecycle.COUNTING_STATE, from_states=lifecycle.COUNTING_SOURCES
    )


def _get(module: Any, path: str, route: str, **parameters: str) -> tuple[int, dict[str, Any]]:
    response = module.handler(http_event("GET", path, route=route, path_parameters=parameters), context())
    return response["statusCode"], json.loads(response["body"])


def test_a_job_row_past_its_expiry_is_404_job_not_found(aws: dict[str, Any]) -> None:
    # Given a job row DynamoDB still returns although its expiry has passed
    _job(aws["table"], "old", _past())
    assert "Item" in boto3.client("dynamodb").get_item(
        TableName=aws["table"], Key={"pk": {"S": "JOB#old"}, "sk": {"S": "JOB"}}
    )
    # Then the dal has no such job, and the API answers as for any unknown job
    assert job_table.get_job(aws["table"], "old") is None
    for module, path, route in (
        (job_status, "/api/v1/batch/jobs/old", "/api/v1/batch/jobs/{job_id}"),
        (job_results, "/api/v1/batch/jobs/old/results", "/api/v1/batch/jobs/{job_id}/results"),
    ):
        status, body = _get(module, path, route, job_id="old")
        assert (status, body["error"]) == (404, "job_not_found")


def test_an_expired_job_cannot_be_ended_again(aws: dict[str, Any]) -> None:
    # Given an expired open job, its counted devices all in
    _job(aws["table"], "old", _past(), total=1)
    _commit(aws["table"], [_result("old", "a", LATER)])
    # When something tries to end it, nothing changes: it is gone
    assert lifecycle.end_job(load_settings(), "old", "completed") is False


def test_device_rows_past_their_expiry_are_absent(aws: dict[str, Any]) -> None:
    # Given a live job with one live and one expired device row
    _job(aws["table"], "j1", LATER)
    _commit(aws["table"], [_result("j1", "fresh", LATER), _result("j1", "stale", _past())])
    # Then reads leave the expired row out, one by one and in pages
    assert [item.device_id for item in job_table.query_device_results(aws["table"], "j1")] == ["fresh"]
    assert job_table.get_device_result(aws["table"], "j1", "stale") is None
    assert job_table.get_device_result(aws["table"], "j1", "fresh") is not None
    status, body = _get(
        job_results, "/api/v1/batch/jobs/j1/results", "/api/v1/batch/jobs/{job_id}/results", job_id="j1"
    )
    assert status == 200
    assert [result["device_id"] for result in body["results"]] == ["fresh"]
    status, body = _get(
        job_results,
        "/api/v1/batch/jobs/j1/results/stale",
        "/api/v1/batch/jobs/{job_id}/results/{device_id}",
        job_id="j1",
        device_id="stale",
    )
    assert (status, body["error"]) == (404, "device_not_found")


def test_an_expired_drop_claim_no_longer_holds_the_upload(aws: dict[str, Any]) -> None:
    # Given a claim of an upload that has expired (DynamoDB has not deleted it yet)
    source = "s3://bucket/incoming/weekly.json"
    assert job_table.claim_drop(aws["table"], source, "etag-1", "job-1", _past()) == ("job-1", True)
    # When the same upload (key and ETag) is claimed again, it is a new claim with the new job id
    assert job_table.claim_drop(aws["table"], source, "etag-1", "job-2", LATER) == ("job-2", True)
    # And a live claim still holds: a third claim gets job-2
    assert job_table.claim_drop(aws["table"], source, "etag-1", "job-3", LATER) == ("job-2", False)


DEVICE = {
    "device_id": "r1",
    "platform": "cisco_ios",
    "running_config": "hostname r1",
    "intended_config": "hostname r2",
}


def test_the_same_manifest_uploaded_after_its_job_expired_starts_a_new_job(aws: dict[str, Any]) -> None:
    # Given a drop whose claim and job have expired (the same manifest, uploaded weekly, has the same ETag)
    s3 = boto3.client("s3")
    s3.put_object(
        Bucket=aws["bucket"], Key="incoming/weekly.json", Body=json.dumps({"device_configs": [DEVICE]})
    )
    source = f"s3://{aws['bucket']}/incoming/weekly.json"
    job_table.claim_drop(aws["table"], source, "etag-1", "expired-job", _past())
    _job(aws["table"], "expired-job", _past(), total=1)
    # When it is delivered again
    outcome = start_dropped_job(load_settings(), aws["bucket"], "incoming/weekly.json", "etag-1")
    # Then a new job starts (not the expired one, whose id is taken)
    assert outcome.outcome == "accepted" and outcome.job_id not in (None, "expired-job")
    assert job_table.get_job(aws["table"], outcome.job_id or "") is not None


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_manifest_nested_too_deeply_is_refused_at_once(aws: dict[str, Any], depth: int) -> None:
    # Given a manifest of a few KB nesting arrays deeper than Python's JSON reader goes
    s3 = boto3.client("s3")
    body = '{"device_configs": ' + "[" * depth + "]" * depth + "}"
    s3.put_object(Bucket=aws["bucket"], Key="incoming/deep.json", Body=body.encode())
    notification = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": aws["bucket"]},
                    "object": {"key": "incoming/deep.json", "eTag": "etag-deep", "size": len(body)},
                },
            }
        ]
    }
    # When its notification is handled
    response = start_dropped_jobs.handler(sqs_records([json.dumps(notification)]), context())
    # Then the record succeeds (no retries for hours) and errors/ says why, at once
    assert response == {"batchItemFailures": []}
    refusal = json.loads(s3.get_object(Bucket=aws["bucket"], Key="errors/deep.json")["Body"].read())
    assert "nested too deeply" in refusal["error"]
    assert (refusal["source"], refusal["etag"]) == (f"s3://{aws['bucket']}/incoming/deep.json", "etag-deep")
