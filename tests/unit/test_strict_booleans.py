"""Every boolean of a request is strict: only JSON true/false. An erase-everything remediation
(allow_empty_intended) must never come from "yes", 1 or "1"."""

import json
from typing import Any

import boto3
import pytest
from pydantic import BaseModel, ValidationError

from netremedy.handlers import create_job, single_device
from netremedy.logic.drops import start_dropped_job
from netremedy.models.api import BatchRemediationRequest, SingleDeviceRequest
from netremedy.models.drops import DropManifest
from netremedy.models.options import RemediationOptions
from netremedy.models.settings import load_settings
from tests.unit.events import context, http_event

NOT_BOOLEANS: list[Any] = ["yes", 1, "1", "true", 0, "false", "on", None, 1.0]
DEVICE = {"device_id": "r1", "platform": "cisco_ios", "running_config": "hostname a", "intended_config": ""}


def _located_errors(model: type[BaseModel], body: dict[str, Any]) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return [error["loc"] for error in caught.value.errors()]


@pytest.mark.parametrize("value", NOT_BOOLEANS)
@pytest.mark.parametrize(
    ("model", "body", "location"),
    [
        (BatchRemediationRequest, {"device_configs": [DEVICE]}, ("allow_empty_intended",)),
        (SingleDeviceRequest, DEVICE, ("allow_empty_intended",)),
        (DropManifest, {"device_configs": [DEVICE]}, ("allow_empty_intended",)),
    ],
)
def test_allow_empty_intended_accepts_only_a_boolean(
    model: type[BaseModel], body: dict[str, Any], location: tuple[str, ...], value: Any
) -> None:
    """Given a value that is not a JSON boolean, validation fails at that field instead of coercing it."""
    assert _located_errors(model, {**body, "allow_empty_intended": value}) == [location]


@pytest.mark.parametrize("value", NOT_BOOLEANS)
def test_sectional_exiting_accepts_only_a_boolean(value: Any) -> None:
    assert _located_errors(RemediationOptions, {"sectional_exiting": value}) == [("sectional_exiting",)]
    nested = {"device_configs": [DEVICE], "options": {"sectional_exiting": value}}
    assert _located_errors(BatchRemediationRequest, nested) == [("options", "sectional_exiting")]


@pytest.mark.parametrize("value", [True, False])
def test_json_true_and_false_still_work(value: bool) -> None:
    """Given JSON true/false (as sent over HTTP), every boolean keeps its value."""
    body = json.dumps({"device_configs": [DEVICE], "allow_empty_intended": value, "options": {}})
    assert BatchRemediationRequest.model_validate_json(body).allow_empty_intended is value
    assert (
        SingleDeviceRequest.model_validate({**DEVICE, "allow_empty_intended": value}).allow_empty_intended
        is value
    )
    assert DropManifest.model_validate_json(body).allow_empty_intended is value
    options = RemediationOptions.model_validate_json(json.dumps({"sectional_exiting": value}))
    assert options.sectional_exiting is value


def _single(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = single_device.handler(http_event("POST", "/api/v1/remediation", body=body), context())
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("value", ["yes", 1, "1", "true", 0])
def test_single_device_with_a_non_boolean_allow_empty_intended_is_422_not_an_erase(value: Any) -> None:
    """Given "yes" for allow_empty_intended and an empty intended config, the answer is a 422 naming the
    field, not the remediation that removes the whole running config."""
    status, body = _single({**DEVICE, "allow_empty_intended": value})
    assert status == 422 and body["error"] == "validation_error"
    assert [detail["field"] for detail in body["details"]] == ["allow_empty_intended"]
    assert "remediation" not in body


def test_single_device_with_allow_empty_intended_true_still_erases_as_asked() -> None:
    status, body = _single({**DEVICE, "allow_empty_intended": True})
    assert (status, body["status"], body["remediation"]) == (200, "success", "no hostname a")


def test_single_device_with_a_non_boolean_sectional_exiting_is_422() -> None:
    status, body = _single({**DEVICE, "intended_config": "hostname b", "options": {"sectional_exiting": "1"}})
    assert status == 422
    assert [detail["field"] for detail in body["details"]] == ["options.sectional_exiting"]


@pytest.mark.parametrize("value", ["yes", 1, "1"])
def test_batch_post_with_a_non_boolean_allow_empty_intended_is_422_and_stores_nothing(
    aws: dict[str, Any], value: Any
) -> None:
    event = http_event(
        "POST", "/api/v1/batch/remediation", body={"device_configs": [DEVICE], "allow_empty_intended": value}
    )
    response = create_job.handler(event, context("CreateJobFunction"))
    body = json.loads(response["body"])
    assert response["statusCode"] == 422
    assert [detail["field"] for detail in body["details"]] == ["allow_empty_intended"]
    assert boto3.client("dynamodb").scan(TableName=aws["table"])["Items"] == []


def test_a_drop_manifest_with_allow_empty_intended_yes_is_refused_naming_the_field(
    aws: dict[str, Any],
) -> None:
    """Given a dropped manifest saying "yes", no job starts and errors/ names the field."""
    s3 = boto3.client("s3")
    manifest = {"device_configs": [DEVICE], "allow_empty_intended": "yes"}
    s3.put_object(Bucket=aws["bucket"], Key="incoming/wipe.json", Body=json.dumps(manifest).encode())
    outcome = start_dropped_job(load_settings(), aws["bucket"], "incoming/wipe.json", "etag-1")
    assert (outcome.outcome, outcome.job_id, outcome.marker_key) == ("refused", None, "errors/wipe.json")
    refusal = json.loads(s3.get_object(Bucket=aws["bucket"], Key="errors/wipe.json")["Body"].read())
    assert [detail["field"] for detail in refusal["details"]] == ["allow_empty_intended"]
    assert (
        boto3.client("sqs").get_queue_attributes(
            QueueUrl=aws["queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )
