"""Every job ends, and only its owner sees it: cancel, dead letters, the deadline sweeper, caller scoping,
idempotent POST (handlers in-process against moto)."""

import json
from typing import Any

import boto3
import pytest

from netremedy.dal import job_table
from netremedy.handlers import (
    cancel_job,
    create_job,
    fail_dead_letters,
    job_results,
    job_status,
    remediate_devices,
    sweep_jobs,
)
from netremedy.models.settings import load_settings
from tests.unit.events import context, http_event, sqs_records

DEVICES = [
    {
        "device_id": f"r{i}",
        "platform": "cisco_ios",
        "running_config": f"hostname r{i}",
        "intended_config": f"hostname r{i}-new",
    }
    for i in range(3)
]


def _as(caller: str | None, event: dict[str, Any]) -> dict[str, Any]:
    if caller:
        event["requestContext"]["identity"]["userArn"] = caller
    return event


def _post(
    body: Any, caller: str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    event = _as(caller, http_event("POST", "/api/v1/batch/remediation", body=body, headers=headers))
    response = create_job.handler(event, context())
    return response["statusCode"], json.loads(response["body"])


def _job_call(
    module: Any, method: str, job_id: str, suffix: str = "", caller: str | None = None
) -> tuple[int, dict[str, Any]]:
    event = _as(
        caller,
        http_event(
            method,
            f"/api/v1/batch/jobs/{job_id}{suffix}",
            route=f"/api/v1/batch/jobs/{{job_id}}{suffix}",
            path_parameters={"job_id": job_id},
        ),
    )
    response = module.handler(event, context())
    return response["statusCode"], json.loads(response["body"])


def _drain(aws: dict[str, Any]) -> list[str]:
    sqs = boto3.client("sqs")
    bodies: list[str] = []
    while messages := sqs.receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        bodies.extend(message["Body"] for message in messages)
    return bodies


def test_cancel_stops_a_job_and_workers_record_nothing_more(aws: dict[str, Any]) -> None:
    _, created = _post({"device_configs": DEVICES})
    status, body = _job_call(cancel_job, "DELETE", created["job_id"])
    assert status == 200 and body["status"] == "cancelled"
    # Already-queued devices arrive after the cancel: they are skipped, not counted
    remediate_devices.handler(sqs_records(_drain(aws)), context())
    _, after = _job_call(job_status, "GET", created["job_id"])
    assert (after["status"], after["completed_devices"], after["failed_devices"]) == ("cancelled", 0, 0)
    assert _job_call(job_results, "GET", created["job_id"], "/results")[1]["results"] == []
    # Cancelling again is a conflict that says why
    status, body = _job_call(cancel_job, "DELETE", created["job_id"])
    assert status == 409 and "cancelled" in body["message"]


def test_a_finished_job_cannot_be_cancelled(aws: dict[str, Any]) -> None:
    _, created = _post({"device_configs": DEVICES})
    remediate_devices.handler(sqs_records(_drain(aws)), context())
    status, body = _job_call(cancel_job, "DELETE", created["job_id"])
    assert status == 409 and body["error"] == "job_finished" and "completed" in body["message"]


def test_another_callers_job_is_not_found(aws: dict[str, Any]) -> None:
    _, created = _post({"device_configs": DEVICES}, caller="arn:aws:iam::1:user/alice")
    job_id = created["job_id"]
    for module, method, suffix in (
        (job_status, "GET", ""),
        (job_results, "GET", "/results"),
        (cancel_job, "DELETE", ""),
    ):
        status, body = _job_call(module, method, job_id, suffix, caller="arn:aws:iam::1:user/mallory")
        assert (status, body["error"]) == (404, "job_not_found"), module.__name__
    status, body = _job_call(job_status, "GET", job_id, caller="arn:aws:iam::1:user/alice")
    assert status == 200 and body["job_id"] == job_id
    assert job_table.get_job(aws["table"], job_id).owner == "arn:aws:iam::1:user/alice"  # type: ignore[union-attr]


def test_the_same_idempotency_key_gets_the_same_job(aws: dict[str, Any]) -> None:
    key = {"Idempotency-Key": "nightly-2026-11-29"}
    first_status, first = _post({"device_configs": DEVICES}, headers=key)
    second_status, second = _post({"device_configs": DEVICES}, headers=key)
    assert first_status == second_status == 202 and first == second
    jobs = [
        item
        for item in boto3.client("dynamodb").scan(TableName=aws["table"])["Items"]
        if item["sk"]["S"] == "JOB"
    ]
    assert len(jobs) == 1
    # Another caller with the same key gets its own job
    _, other = _post({"device_configs": DEVICES}, caller="arn:aws:iam::1:user/bob", headers=key)
    assert other["job_id"] != first["job_id"]


def test_an_idempotency_key_reused_for_another_body_is_refused(aws: dict[str, Any]) -> None:
    key = {"Idempotency-Key": "k1"}
    _post({"device_configs": DEVICES}, headers=key)
    status, body = _post({"device_configs": DEVICES[:1]}, headers=key)
    assert status == 422 and body["details"][0]["field"] == "headers.idempotency-key"


def test_an_unusable_idempotency_key_is_400(aws: dict[str, Any]) -> None:
    status, body = _post({"device_configs": DEVICES}, headers={"Idempotency-Key": "x" * 256})
    assert status == 400 and body["details"][0]["field"] == "headers.idempotency-key"


@pytest.mark.usefixtures("one_device_per_message")
def test_a_dead_letter_fails_its_device_so_the_job_ends(aws: dict[str, Any]) -> None:
    _, created = _post({"device_configs": DEVICES})
    bodies = _drain(aws)
    remediate_devices.handler(sqs_records(bodies[:2]), context())
    # The third message exhausted its receives and sits in the DLQ
    response = fail_dead_letters.handler(sqs_records(bodies[2:] + ["garbage"], receive_count=5), context())
    assert response == {"batchItemFailures": []}
    _, status = _job_call(job_status, "GET", created["job_id"])
    assert (status["status"], status["completed_devices"], status["failed_devices"]) == ("completed", 2, 1)
    results = {
        r["device_id"]: r for r in _job_call(job_results, "GET", created["job_id"], "/results")[1]["results"]
    }
    dead = json.loads(bodies[2])["devices"][0]["device_id"]
    assert results[dead]["status"] == "failed" and "after 5 attempts" in results[dead]["error"]


def test_a_malformed_message_that_names_its_device_fails_it_at_once(aws: dict[str, Any]) -> None:
    _, created = _post({"device_configs": DEVICES[:1]})
    _drain(aws)
    poison = json.dumps({"job_id": created["job_id"], "device_id": "r0", "payload": {"platform": 42}})
    response = remediate_devices.handler(sqs_records([poison]), context())
    assert response == {"batchItemFailures": []}
    result = _job_call(job_results, "GET", created["job_id"], "/results")[1]
    assert result["status"] == "completed"
    assert (
        result["results"][0]["status"] == "failed"
        and "malformed device message" in result["results"][0]["error"]
    )


def test_a_message_whose_options_do_not_parse_fails_its_devices_naming_the_option(aws: dict[str, Any]) -> None:
    # The worker parses a message's options only when it has them (cold start): bad ones still fail the
    # message's devices at once, naming the field as the message's own validation would.
    _, created = _post({"device_configs": DEVICES[:1]})
    body = json.loads(_drain(aws)[0])
    body["options"] = {"outputs": ["patch"]}
    response = remediate_devices.handler(sqs_records([json.dumps(body)]), context())
    assert response == {"batchItemFailures": []}
    result = _job_call(job_results, "GET", created["job_id"], "/results")[1]
    assert result["status"] == "completed"
    assert [(r["status"], r["error"]) for r in result["results"]] == [
        ("failed", "malformed device message (fields: options.outputs.0)")
    ]


@pytest.mark.usefixtures("one_device_per_message")
def test_the_sweeper_fails_devices_that_never_reported_after_the_deadline(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given jobs whose deadline is already past: one with a device done and two lost
    monkeypatch.setenv("JOB_DEADLINE_SECONDS", "0")
    load_settings.cache_clear()
    _, created = _post({"device_configs": DEVICES})
    remediate_devices.handler(sqs_records(_drain(aws)[:1]), context())
    # When the sweeper runs (twice: the second run must change nothing)
    report = sweep_jobs.handler({}, context())
    again = sweep_jobs.handler({}, context())
    # Then the lost devices are failed with the reason, and the job is completed
    assert report == {"jobs_finished": [created["job_id"]], "jobs_failed": [], "devices_failed": 2}
    assert again == {"jobs_finished": [], "jobs_failed": [], "devices_failed": 0}
    _, status = _job_call(job_status, "GET", created["job_id"])
    assert (status["status"], status["completed_devices"], status["failed_devices"]) == ("completed", 1, 2)
    failed = [
        r
        for r in _job_call(job_results, "GET", created["job_id"], "/results")[1]["results"]
        if r["status"] == "failed"
    ]
    assert len(failed) == 2 and all("deadline" in r["error"] for r in failed)


def test_the_sweeper_fails_a_job_whose_device_list_is_missing(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOB_DEADLINE_SECONDS", "0")
    load_settings.cache_clear()
    _, created = _post({"device_configs": DEVICES})
    boto3.client("s3").delete_object(Bucket=aws["bucket"], Key=f"inputs/{created['job_id']}/devices.json")
    report = sweep_jobs.handler({}, context())
    assert report["jobs_failed"] == [created["job_id"]]
    _, status = _job_call(job_status, "GET", created["job_id"])
    assert status["status"] == "failed" and "device list" in status["error"]


def test_jobs_within_their_deadline_are_left_alone(aws: dict[str, Any]) -> None:
    _, created = _post({"device_configs": DEVICES})
    assert sweep_jobs.handler({}, context()) == {"jobs_finished": [], "jobs_failed": [], "devices_failed": 0}
    assert _job_call(job_status, "GET", created["job_id"])[1]["status"] == "pending"
