"""Big jobs through an upload, in-process (moto): the upload form, its owner binding, one job per upload, the
mutual exclusion with device_configs, and what the fan-out function makes of the uploaded manifest."""

import base64
import json
from typing import Any

import boto3
import pytest
from hier_config import Platform, WorkflowRemediation, get_hconfig

from netremedy.dal import job_table
from netremedy.handlers import create_job, create_upload, fan_out_jobs, job_status, remediate_devices
from netremedy.models.api import MAX_UPLOAD_BYTES, UPLOAD_EXPIRES_IN_SECONDS
from tests.unit.events import context, drain_queue, http_event, sqs_records

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"
DEVICES = [
    {
        "device_id": f"r{index}",
        "platform": "cisco_ios",
        "running_config": f"hostname r{index}\ninterface Gi0/1\n description old",
        "intended_config": f"hostname r{index}\ninterface Gi0/1\n description new",
    }
    for index in range(3)
]


def _new_upload(caller: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    event = http_event("POST", "/api/v1/batch/uploads", body=body, caller=caller)
    response = create_upload.handler(event, context("CreateUploadFunction"))
    return response["statusCode"], json.loads(response["body"])


def _upload(aws: dict[str, Any], caller: str, manifest: bytes | None) -> str:
    """An upload of ``caller``'s holding ``manifest`` (None: the form was never used)."""
    status, body = _new_upload(caller)
    assert status == 201, body
    if manifest is not None:
        boto3.client("s3").put_object(Bucket=aws["bucket"], Key=body["fields"]["key"], Body=manifest)
    upload_id: str = body["upload_id"]
    return upload_id


def _post_job(body: Any, caller: str) -> tuple[int, dict[str, Any]]:
    event = http_event("POST", "/api/v1/batch/remediation", body=body, caller=caller)
    response = create_job.handler(event, context("CreateJobFunction"))
    return response["statusCode"], json.loads(response["body"])


def _status(job_id: str, caller: str) -> dict[str, Any]:
    event = http_event(
        "GET",
        f"/api/v1/batch/jobs/{job_id}",
        route="/api/v1/batch/jobs/{job_id}",
        path_parameters={"job_id": job_id},
        caller=caller,
    )
    response = job_status.handler(event, context("JobStatusFunction"))
    assert response["statusCode"] == 200, response["body"]
    body: dict[str, Any] = json.loads(response["body"])
    return body


def _run_fan_out(aws: dict[str, Any]) -> None:
    messages = drain_queue(aws["fanout_url"])
    assert messages, "the job was not handed to the fan-out function"
    assert fan_out_jobs.handler(sqs_records(messages), context("FanOutJobsFunction")) == {
        "batchItemFailures": []
    }


def _manifest(devices: list[dict[str, Any]], **fields: Any) -> bytes:
    return json.dumps({"device_configs": devices, **fields}).encode()


def test_an_upload_is_a_presigned_post_for_one_key_under_uploads_limited_to_1_gib(
    aws: dict[str, Any],
) -> None:
    # When a caller asks for an upload of a JSON Lines manifest
    status, body = _new_upload(ALICE, {"format": "jsonl"})
    # Then it gets a form for exactly uploads/<id>.jsonl, whose signed policy S3 enforces
    assert status == 201
    assert set(body) == {"upload_id", "url", "fields", "expires_in", "max_bytes"}
    assert body["fields"]["key"] == f"uploads/{body['upload_id']}.jsonl"
    assert (body["expires_in"], body["max_bytes"]) == (UPLOAD_EXPIRES_IN_SECONDS, MAX_UPLOAD_BYTES)
    policy = json.loads(base64.b64decode(body["fields"]["policy"]))
    assert ["content-length-range", 1, MAX_UPLOAD_BYTES] in policy["conditions"]
    assert {"key": body["fields"]["key"]} in policy["conditions"]
    # And the upload is recorded as the caller's
    row = boto3.client("dynamodb").get_item(
        TableName=aws["table"], Key={"pk": {"S": f"UPLOAD#{body['upload_id']}"}, "sk": {"S": "UPLOAD"}}
    )["Item"]
    assert row["owner"]["S"] == ALICE


def test_an_upload_without_a_body_is_json_and_an_unknown_format_is_a_422(aws: dict[str, Any]) -> None:
    status, body = _new_upload(ALICE)
    assert status == 201 and body["fields"]["key"].endswith(".json")
    status, body = _new_upload(ALICE, {"format": "xml"})
    assert status == 422 and body["details"][0]["field"] == "format"


def test_another_caller_cannot_start_a_job_from_my_upload(aws: dict[str, Any]) -> None:
    # Given Alice's uploaded manifest
    upload_id = _upload(aws, ALICE, _manifest(DEVICES))
    # When Bob starts a job from it, then it does not exist for him, and nothing is recorded
    status, body = _post_job({"manifest_upload": upload_id}, BOB)
    assert status == 404
    assert (body["error"], body["details"][0]["field"]) == ("upload_not_found", "manifest_upload")
    assert drain_queue(aws["fanout_url"]) == []
    # And Alice can still start it, once: the job is pending with its count unknown until read
    status, created = _post_job({"manifest_upload": upload_id}, ALICE)
    assert status == 202 and created["total_devices"] is None
    assert _status(created["job_id"], ALICE)["status"] == "pending"
    status, body = _post_job({"manifest_upload": upload_id}, ALICE)
    assert status == 409 and (body["error"], body["job_id"]) == ("upload_used", created["job_id"])


def test_an_unknown_upload_id_is_a_404_and_a_malformed_one_a_422(aws: dict[str, Any]) -> None:
    status, body = _post_job({"manifest_upload": "0b5e0c2e-6f1a-4b7e-9c3d-2a1f5e8d7c64"}, ALICE)
    assert status == 404 and body["error"] == "upload_not_found"
    status, body = _post_job({"manifest_upload": "../inputs/x"}, ALICE)
    assert status == 422 and body["details"][0]["field"] == "manifest_upload"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"device_configs": DEVICES, "manifest_upload": "0b5e0c2e-6f1a-4b7e-9c3d-2a1f5e8d7c64"}, "not both"),
        ({}, "Field required (or give manifest_upload instead)"),
    ],
)
def test_device_configs_and_manifest_upload_are_mutually_exclusive(
    aws: dict[str, Any], body: dict[str, Any], message: str
) -> None:
    status, answer = _post_job(body, ALICE)
    assert status == 422
    assert [detail["field"] for detail in answer["details"]] == ["device_configs"]
    assert message in answer["details"][0]["message"]


def _expected(device: dict[str, Any]) -> tuple[str, str]:
    """hier_config itself, as tests/integration/test_corpus_fidelity.py computes the reference."""
    workflow = WorkflowRemediation(
        get_hconfig(Platform.CISCO_IOS, device["running_config"]),
        get_hconfig(Platform.CISCO_IOS, device["intended_config"]),
    )
    remediation = "\n".join(c.cisco_style_text() for c in workflow.remediation_config.all_children_sorted())
    rollback = "\n".join(c.cisco_style_text() for c in workflow.rollback_config.all_children_sorted())
    return remediation, rollback


def test_a_job_from_an_upload_reads_it_fans_it_out_and_completes_with_hier_configs_output(
    aws: dict[str, Any],
) -> None:
    # Given a job started from an uploaded manifest
    upload_id = _upload(aws, ALICE, _manifest(DEVICES))
    _, created = _post_job({"manifest_upload": upload_id}, ALICE)
    # When the fan-out function reads it and the workers compute the devices
    _run_fan_out(aws)
    assert _status(created["job_id"], ALICE)["total_devices"] == len(DEVICES)
    assert remediate_devices.handler(sqs_records(drain_queue(aws["queue_url"])), context()) == {
        "batchItemFailures": []
    }
    # Then the job completed, every device as hier_config computes it
    status = _status(created["job_id"], ALICE)
    assert (status["status"], status["completed_devices"], status["failed_devices"]) == ("completed", 3, 0)
    rows = job_table.query_device_results(aws["table"], created["job_id"])
    computed = {row.device_id: (row.remediation, row.rollback) for row in rows}
    assert computed == {device["device_id"]: _expected(device) for device in DEVICES}


def test_options_in_the_post_replace_the_manifests_own(aws: dict[str, Any]) -> None:
    # Given a manifest whose intended configs are empty, which only allow_empty_intended lets through
    empty = [dict(device, intended_config="") for device in DEVICES]
    upload_id = _upload(aws, ALICE, _manifest(empty, allow_empty_intended=False))
    # When the POST allows empty intended configs
    _, created = _post_job({"manifest_upload": upload_id, "allow_empty_intended": True}, ALICE)
    _run_fan_out(aws)
    remediate_devices.handler(sqs_records(drain_queue(aws["queue_url"])), context())
    # Then the POST's setting applied: every device computed
    status = _status(created["job_id"], ALICE)
    assert (status["status"], status["completed_devices"]) == ("completed", 3)


def test_a_refused_upload_is_a_failed_job_saying_why_with_field_paths(aws: dict[str, Any]) -> None:
    # Given an uploaded manifest with an unknown platform and a device without configs
    bad = [dict(DEVICES[0], platform="cisco_nope"), {"device_id": "r9", "platform": "cisco_ios"}]
    upload_id = _upload(aws, ALICE, _manifest(bad))
    _, created = _post_job({"manifest_upload": upload_id}, ALICE)
    # When the fan-out function reads it
    _run_fan_out(aws)
    # Then the job failed, its error saying the manifest was refused, each problem with its field path
    status = _status(created["job_id"], ALICE)
    assert status["status"] == "failed"
    assert status["error"].startswith("the uploaded manifest was refused: ")
    fields = [detail["field"] for detail in status["error_details"]]
    assert "device_configs[0].platform" in fields
    assert any(field.startswith("device_configs[1]") for field in fields)
    assert drain_queue(aws["queue_url"]) == []


def test_a_job_from_an_upload_never_uploaded_fails_saying_so(aws: dict[str, Any]) -> None:
    # Given an upload whose form was never used (or S3 refused the file: over its size limit)
    upload_id = _upload(aws, ALICE, None)
    _, created = _post_job({"manifest_upload": upload_id}, ALICE)
    _run_fan_out(aws)
    status = _status(created["job_id"], ALICE)
    assert status["status"] == "failed"
    assert "nothing was uploaded" in status["error"]


def test_malformed_json_is_refused_with_the_drop_readers_error(aws: dict[str, Any]) -> None:
    upload_id = _upload(aws, ALICE, b'{"device_configs": [')
    _, created = _post_job({"manifest_upload": upload_id}, ALICE)
    _run_fan_out(aws)
    status = _status(created["job_id"], ALICE)
    assert status["status"] == "failed" and "JSON" in status["error"]


def test_a_redelivered_start_counts_every_device_once(aws: dict[str, Any]) -> None:
    # Given a job from an upload whose fan-out message is delivered twice
    upload_id = _upload(aws, ALICE, _manifest(DEVICES))
    _, created = _post_job({"manifest_upload": upload_id}, ALICE)
    messages = drain_queue(aws["fanout_url"])
    fan_out_jobs.handler(sqs_records(messages), context("FanOutJobsFunction"))
    fan_out_jobs.handler(sqs_records(messages, receive_count=2), context("FanOutJobsFunction"))
    # When every queued device message is computed
    remediate_devices.handler(sqs_records(drain_queue(aws["queue_url"])), context())
    # Then each device counted once
    status = _status(created["job_id"], ALICE)
    assert (status["status"], status["total_devices"], status["completed_devices"]) == ("completed", 3, 3)


def test_the_manifests_own_options_apply_unless_the_post_sets_others_even_with_an_idempotency_key(
    aws: dict[str, Any],
) -> None:
    # Given a manifest that allows empty intended configs, started with an Idempotency-Key and no options
    empty = [dict(device, intended_config="") for device in DEVICES]
    upload_id = _upload(aws, ALICE, _manifest(empty, allow_empty_intended=True))
    event = http_event(
        "POST",
        "/api/v1/batch/remediation",
        body={"manifest_upload": upload_id},
        headers={"Idempotency-Key": "retry-1"},
        caller=ALICE,
    )
    first = create_job.handler(event, context("CreateJobFunction"))
    # When the same request is retried, then it answers the same job (no 409: the retry is not a second use)
    again = create_job.handler(event, context("CreateJobFunction"))
    assert (first["statusCode"], again["statusCode"]) == (202, 202)
    job_id = json.loads(first["body"])["job_id"]
    assert json.loads(again["body"])["job_id"] == job_id
    # And the manifest's allow_empty_intended applied: every device computed
    _run_fan_out(aws)
    remediate_devices.handler(sqs_records(drain_queue(aws["queue_url"])), context())
    status = _status(job_id, ALICE)
    assert (status["status"], status["completed_devices"]) == ("completed", 3)
