"""The API handlers in-process (moto): status codes *and* bodies, and nothing stored for bad input."""

import json
from typing import Any

import boto3
import pytest

from netremedy.handlers import create_job, job_results, job_status
from netremedy.models.platforms import PLATFORM_NAMES
from tests.unit.events import context, http_event

SPEC_DEVICES = [
    {
        "device_id": "router1",
        "platform": "cisco_ios",
        "running_config": "hostname router1",
        "intended_config": "hostname router1-new",
    },
    {
        "device_id": "router2",
        "platform": "cisco_ios",
        "running_config": "hostname router2",
        "intended_config": "hostname router2-new",
    },
    {
        "device_id": "switch1",
        "platform": "cisco_nxos",
        "running_config": "hostname switch1",
        "intended_config": "hostname switch1-new",
    },
]


def _post(body: Any = None, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    event = http_event("POST", "/api/v1/batch/remediation", body=body, **kwargs)
    response = create_job.handler(event, context("CreateJobFunction"))
    return response["statusCode"], json.loads(response["body"])


def _nothing_stored(aws: dict[str, Any]) -> bool:
    items = boto3.client("dynamodb").scan(TableName=aws["table"])["Items"]
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=aws["queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return items == [] and attributes["ApproximateNumberOfMessages"] == "0"


def test_create_answers_202_with_job_id_and_queues_every_device(aws: dict[str, Any]) -> None:
    status, body = _post({"device_configs": SPEC_DEVICES})
    assert status == 202
    assert body["total_devices"] == 3 and len(body["job_id"]) == 36
    messages = boto3.client("sqs").receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10)[
        "Messages"
    ]
    packets = [json.loads(message["Body"]) for message in messages]
    assert sorted(device["device_id"] for packet in packets for device in packet["devices"]) == [
        "router1",
        "router2",
        "switch1",
    ]
    assert {packet["job_id"] for packet in packets} == {body["job_id"]}


def test_new_job_reports_pending_with_zero_progress(aws: dict[str, Any]) -> None:
    _, created = _post({"device_configs": SPEC_DEVICES})
    event = http_event(
        "GET",
        f"/api/v1/batch/jobs/{created['job_id']}",
        route="/api/v1/batch/jobs/{job_id}",
        path_parameters={"job_id": created["job_id"]},
    )
    response = job_status.handler(event, context())
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body == {
        "job_id": created["job_id"],
        "status": "pending",
        "progress": 0.0,
        "total_devices": 3,
        "completed_devices": 0,
        "failed_devices": 0,
        "compliant_devices": 0,
        "non_compliant_devices": 0,
        "held_devices": 0,
        "by_platform": {},
        "error": None,
    }


def test_unknown_platform_is_422_naming_the_field_and_the_valid_names(aws: dict[str, Any]) -> None:
    devices = [dict(SPEC_DEVICES[0]), dict(SPEC_DEVICES[1], platform="cisco_iosxe")]
    status, body = _post({"device_configs": devices})
    assert status == 422 and body["error"] == "validation_error"
    assert [detail["field"] for detail in body["details"]] == ["device_configs[1].platform"]
    for name in PLATFORM_NAMES:
        assert name in body["details"][0]["message"]
    assert _nothing_stored(aws)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"device_configs": []}, "device_configs"),
        ({}, "device_configs"),
        ({"device_configs": [dict(SPEC_DEVICES[0], device_id="a/b")]}, "device_configs[0].device_id"),
        ({"device_configs": [SPEC_DEVICES[0], SPEC_DEVICES[0]]}, "device_configs"),
        ({"device_configs": [dict(SPEC_DEVICES[0], running_config=5)]}, "device_configs[0].running_config"),
        (
            {"device_configs": [{k: v for k, v in SPEC_DEVICES[0].items() if k != "intended_config"}]},
            "device_configs[0].intended_config",
        ),
    ],
)
def test_bad_bodies_are_422_naming_the_field_and_store_nothing(
    aws: dict[str, Any], payload: dict[str, Any], field: str
) -> None:
    status, body = _post(payload)
    assert status == 422
    assert field in [detail["field"] for detail in body["details"]]
    assert _nothing_stored(aws)


def test_malformed_json_is_400(aws: dict[str, Any]) -> None:
    status, body = _post(raw_body='{"device_configs": [')
    assert (status, body["error"]) == (400, "invalid_json")
    assert _nothing_stored(aws)


def test_a_form_encoded_body_is_415_and_not_echoed(aws: dict[str, Any]) -> None:
    secret = "enable secret 5 $1$abcd$SECRETHASH"
    status, body = _post(
        raw_body=f"running_config={secret}", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert (status, body["error"]) == (415, "unsupported_media_type")
    assert "SECRETHASH" not in json.dumps(body)
    assert _nothing_stored(aws)


def test_unknown_job_is_404_json_for_status_and_results(aws: dict[str, Any]) -> None:
    for module, path, route in (
        (job_status, "/api/v1/batch/jobs/nope", "/api/v1/batch/jobs/{job_id}"),
        (job_results, "/api/v1/batch/jobs/nope/results", "/api/v1/batch/jobs/{job_id}/results"),
    ):
        response = module.handler(
            http_event("GET", path, route=route, path_parameters={"job_id": "nope"}), context()
        )
        assert response["statusCode"] == 404
        assert json.loads(response["body"])["error"] == "job_not_found"


def test_fanout_failure_marks_the_job_failed_and_answers_503(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a queue that refuses messages
    from netremedy.dal import device_queue

    def refuse(queue_url: str, batches: Any) -> None:
        raise device_queue.QueueSendError(["m0"], "throttled")

    monkeypatch.setattr(device_queue, "send_batches", refuse)
    # When a job is submitted
    status, body = _post({"device_configs": SPEC_DEVICES})
    # Then the caller is told to retry and the recorded job says why it failed
    assert status == 503 and body["error"] == "job_not_started"
    items = boto3.client("dynamodb").scan(TableName=aws["table"])["Items"]
    assert len(items) == 1 and items[0]["status"]["S"] == "failed"
    assert "fan-out" in items[0]["error"]["S"]


def test_a_lone_surrogate_escape_is_422_and_stores_nothing(aws: dict[str, Any]) -> None:
    raw = (
        '{"device_configs": [{"device_id": "r1", "platform": "cisco_ios", '
        '"running_config": "hostname \\udc80", "intended_config": "hostname b"}]}'
    )
    status, body = _post(raw_body=raw)
    assert status == 422
    assert [detail["field"] for detail in body["details"]] == ["device_configs[0].running_config"]
    assert _nothing_stored(aws)


def test_a_job_needing_many_send_batches_is_fanned_out_after_the_answer(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the device limit but over INLINE_FANOUT_MAX_BATCHES send batches, the POST stores the job and
    asks the fan-out function to queue it, instead of waiting for every SendMessageBatch."""
    from netremedy.models.settings import load_settings

    monkeypatch.setenv("DEVICES_PER_MESSAGE", "1")
    load_settings.cache_clear()
    devices = [dict(SPEC_DEVICES[0], device_id=f"r{i:02d}") for i in range(21)]  # 21 messages: 3 batches
    status, body = _post({"device_configs": devices})
    assert status == 202 and body["total_devices"] == 21
    sqs = boto3.client("sqs")
    assert "Messages" not in sqs.receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10)
    (request,) = sqs.receive_message(QueueUrl=aws["fanout_url"], MaxNumberOfMessages=10)["Messages"]
    assert json.loads(request["Body"]) == {"job_id": body["job_id"]}
    small_status, small = _post({"device_configs": devices[:20]})  # 2 batches: queued before the answer
    packets = sqs.receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10)["Messages"]
    assert small_status == 202 and {json.loads(m["Body"])["job_id"] for m in packets} == {small["job_id"]}
