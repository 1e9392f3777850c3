"""Responses within Lambda's 6 MB and requests within what the API can enforce (moto in-process): sizes are
bytes of the response as the python3.12 runtime returns it, a result too large for a response is a link to
its outputs, outputs S3 no longer holds are a per-device error or a 410, bodies over 5 MiB are 413 and JSON
nested too deep is 400."""

import json
from typing import Any

import boto3
import pytest
import requests

from netremedy.handlers import create_job, job_report, job_results, remediate_devices, single_device
from netremedy.logic import fleet_report, results
from netremedy.logic.response_size import response_bytes
from netremedy.models.api import MAX_REQUEST_BODY_BYTES, DeviceSuccess, FleetReportResponse
from netremedy.models.settings import load_settings
from tests.unit.events import context, drain_queue, http_event, sqs_records

# Interface descriptions in Chinese: 3 bytes a character in UTF-8, 6 as a \uXXXX escape.
CHINESE = "连接到核心交换机的上行链路端口"


def _lambda_bytes(proxy_result: dict[str, Any]) -> int:
    """The response payload as Lambda's python3.12 runtime writes it (awslambdaric: ensure_ascii=False)."""
    return len(json.dumps(proxy_result, ensure_ascii=False).encode("utf-8"))


def _chinese_config(name: str, interfaces: int, variant: str) -> str:
    lines = [f"hostname {name}"]
    for port in range(interfaces):
        lines += [f"interface GigabitEthernet0/{port}", f" description {variant}{CHINESE}{port}"]
    return "\n".join(lines)


def _run_job(aws: dict[str, Any], devices: list[dict[str, Any]]) -> str:
    response = create_job.handler(
        http_event("POST", "/api/v1/batch/remediation", body={"device_configs": devices}), context()
    )
    assert response["statusCode"] == 202, response["body"]
    job_id: str = json.loads(response["body"])["job_id"]
    while bodies := drain_queue(aws["queue_url"]):
        for body in bodies:
            assert remediate_devices.handler(sqs_records([body]), context()) == {"batchItemFailures": []}
    return job_id


def _page(job_id: str, next_token: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    event = http_event(
        "GET",
        f"/api/v1/batch/jobs/{job_id}/results",
        route="/api/v1/batch/jobs/{job_id}/results",
        path_parameters={"job_id": job_id},
        query={"next_token": next_token} if next_token else None,
    )
    proxy = job_results.handler(event, context())
    return proxy, json.loads(proxy["body"])


def _device(job_id: str, device_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    event = http_event(
        "GET",
        f"/api/v1/batch/jobs/{job_id}/results/{device_id}",
        route="/api/v1/batch/jobs/{job_id}/results/{device_id}",
        path_parameters={"job_id": job_id, "device_id": device_id},
    )
    proxy = job_results.handler(event, context())
    return proxy, json.loads(proxy["body"])


@pytest.fixture
def claim_checked(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Every successful result's outputs in S3, as results over RESULT_INLINE_LIMIT_BYTES are."""
    monkeypatch.setenv("RESULT_INLINE_LIMIT_BYTES", "0")
    load_settings.cache_clear()
    return aws


def test_response_bytes_are_the_bytes_a_result_adds_to_lambdas_response() -> None:
    # Given a one-device answer with every kind of character JSON escapes, or encodes in several bytes
    body = {
        "device_id": "r1",
        "platform": "generic",
        "running_config": "hostname r1",
        "intended_config": f'hostname r1\ndescription "{CHINESE}" \\ tab\there 🚀',
    }
    # When it is answered
    proxy = single_device.handler(http_event("POST", "/api/v1/remediation", body=body), context())
    result = DeviceSuccess.model_validate_json(proxy["body"])
    # Then the body is UTF-8 JSON (no \u escapes), and the counted size is exactly what the body adds to the
    # payload Lambda returns
    assert CHINESE in proxy["body"] and "\\u" not in proxy["body"]
    assert _lambda_bytes(proxy) - _lambda_bytes(proxy | {"body": ""}) == response_bytes(result)


def test_a_page_of_chinese_configs_stays_within_its_byte_budget(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a page budget of 40,000 bytes and devices whose outputs are 19,000 characters, many Chinese: 30,000
    # bytes each as UTF-8 JSON (49,000 with \u escapes), which a budget of characters would put two to a page
    monkeypatch.setattr(results, "RESULTS_PAGE_BYTES", 40_000)
    devices = [
        {
            "device_id": f"cn-{n}",
            "platform": "cisco_ios",
            "running_config": _chinese_config(f"cn-{n}", 150, "旧"),
            "intended_config": _chinese_config(f"cn-{n}", 150, "新"),
        }
        for n in range(4)
    ]
    job_id = _run_job(aws, devices)
    # When every page is read
    seen: list[dict[str, Any]] = []
    token = None
    while True:
        proxy, page = _page(job_id, token)
        envelope = _lambda_bytes(proxy | {"body": json.dumps(page | {"results": []}, ensure_ascii=False)})
        # Then each page's results take at most the budget in the payload Lambda returns
        assert _lambda_bytes(proxy) - envelope <= 40_000
        seen += page["results"]
        if not (token := page["next_token"]):
            break
    # And the pages hold every device once, in full
    assert [result["device_id"] for result in seen] == [f"cn-{n}" for n in range(4)]
    assert all(f"description 新{CHINESE}149" in result["remediation"] for result in seen)
    assert all(f"description 旧{CHINESE}149" in result["rollback"] for result in seen)


def test_a_result_too_large_for_a_response_is_a_link_to_its_outputs(
    claim_checked: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a job of a device whose outputs are over the page budget on their own, next to a small one
    monkeypatch.setattr(results, "RESULTS_PAGE_BYTES", 20_000)
    big = {
        "device_id": "big",
        "platform": "cisco_ios",
        "running_config": _chinese_config("big", 200, "旧"),
        "intended_config": _chinese_config("big", 200, "新"),
    }
    small = {"device_id": "small", "platform": "cisco_ios", "running_config": "a", "intended_config": "b"}
    job_id = _run_job(claim_checked, [big, small])
    # When the results and the big device are read
    _, page = _page(job_id)
    _, device = _device(job_id, "big")
    # Then the big result is a link, valid for an hour, without outputs; the small one is inline
    link, inline = page["results"]
    # (its compliance and risks are in the row, so the link carries them too)
    assert set(link) == {"device_id", "status", "output_url", "expires_in", "compliant", "risks"}
    assert (link["expires_in"], link["compliant"], link["risks"]) == (3600, False, [])
    assert (link["device_id"], link["status"]) == ("big", "success")
    assert inline == {
        "device_id": "small",
        "status": "success",
        "remediation": "no a\nb",
        "rollback": "no b\na",
        "compliant": False,
        "risks": [],
    }
    assert set(device) == set(link)
    # And the link serves the outputs themselves
    for url in (link["output_url"], device["output_url"]):
        outputs = requests.get(url, timeout=10).json()
        assert set(outputs) == {"remediation", "rollback"}
        assert f"description 新{CHINESE}199" in outputs["remediation"]


def test_outputs_that_expired_in_s3_are_a_per_device_error_or_410(claim_checked: dict[str, Any]) -> None:
    # Given a job whose first device's outputs S3's lifecycle removed before DynamoDB removed its row
    devices = [
        {"device_id": name, "platform": "cisco_ios", "running_config": "a", "intended_config": "b"}
        for name in ("gone", "kept")
    ]
    job_id = _run_job(claim_checked, devices)
    boto3.client("s3").delete_object(Bucket=claim_checked["bucket"], Key=f"outputs/{job_id}/gone.json")
    # When the results, the device and the fleet report are read
    proxy, page = _page(job_id)
    device_proxy, device = _device(job_id, "gone")
    report = job_report.handler(
        http_event(
            "GET",
            f"/api/v1/batch/jobs/{job_id}/report",
            route="/api/v1/batch/jobs/{job_id}/report",
            path_parameters={"job_id": job_id},
        ),
        context(),
    )
    # Then the page answers, the device saying its outputs expired; the device route is 410
    assert proxy["statusCode"] == 200
    gone, kept = page["results"]
    assert (
        gone["status"] == "failed"
        and "expired" in gone["error"]
        and "submit the device again" in gone["error"]
    )
    assert kept["remediation"] == "no a\nb"
    assert (device_proxy["statusCode"], device["error"]) == (410, "result_expired")
    assert "expired" in device["message"]
    # And the report counts it as failed
    assert report["statusCode"] == 200
    body = FleetReportResponse.model_validate_json(report["body"])
    assert (body.failed_devices, body.devices_with_changes) == (1, 1)


def test_the_fleet_report_counts_the_bytes_of_its_changes(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a report budget of 3,000 bytes and 60 distinct changes of quotes: about 60 characters each, but
    # each quote is 4 bytes once the body is escaped inside the payload Lambda returns
    monkeypatch.setattr(fleet_report, "_REPORT_BYTES", 3_000)
    quotes = '"' * 20
    intended = "\n".join(f"description {n} {quotes}" for n in range(60))
    job_id = _run_job(
        aws, [{"device_id": "q", "platform": "generic", "running_config": "a", "intended_config": intended}]
    )
    # When the report is read
    proxy = job_report.handler(
        http_event(
            "GET",
            f"/api/v1/batch/jobs/{job_id}/report",
            route="/api/v1/batch/jobs/{job_id}/report",
            path_parameters={"job_id": job_id},
            query={"limit": "500"},
        ),
        context(),
    )
    report = FleetReportResponse.model_validate_json(proxy["body"])
    # Then its changes stay within the budget as Lambda returns them, and the report says it is truncated
    assert report.truncated and 0 < len(report.changes) < report.unique_changes
    assert sum(response_bytes(change) + 1 for change in report.changes) <= 3_000


def test_the_one_device_answer_counts_escaped_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a limit of 3,000 bytes and outputs of 1,000 quotes: 1,000 bytes of text, 4,000 once escaped
    monkeypatch.setattr(single_device, "SYNC_OUTPUT_MAX_BYTES", 3_000)
    body = {"device_id": "r1", "platform": "generic", "running_config": "", "intended_config": '"' * 1000}
    # When it is computed
    proxy = single_device.handler(http_event("POST", "/api/v1/remediation", body=body), context())
    answer = json.loads(proxy["body"])
    # Then it is refused as too large for a synchronous answer, pointing to a batch job
    assert (proxy["statusCode"], answer["status"]) == (200, "failed")
    assert (
        "bytes as Lambda returns it" in answer["error"]
        and "POST /api/v1/batch/remediation" in answer["error"]
    )


def _padded_body(size: int) -> str:
    """A valid job body of exactly ``size`` bytes (whitespace before the closing brace)."""
    device = {"device_id": "r1", "platform": "cisco_ios", "running_config": "a", "intended_config": "b"}
    text = json.dumps({"device_configs": [device]})
    return text[:-1] + " " * (size - len(text)) + "}"


@pytest.mark.parametrize(
    ("path", "handler"),
    [("/api/v1/batch/remediation", create_job.handler), ("/api/v1/remediation", single_device.handler)],
    ids=["batch", "one-device"],
)
def test_a_body_over_5_mib_is_413_naming_the_limit_and_s3_drops(
    aws: dict[str, Any], path: str, handler: Any
) -> None:
    # Given a body one byte over the limit
    body = _padded_body(MAX_REQUEST_BODY_BYTES + 1)
    # When it is posted
    proxy = handler(http_event("POST", path, raw_body=body), context())
    answer = json.loads(proxy["body"])
    # Then it is refused with the limit and the way to send bigger jobs, and no job is recorded
    assert (proxy["statusCode"], answer["error"]) == (413, "request_too_large")
    assert "5,242,880" in answer["message"] and "S3" in answer["message"]
    assert answer["details"][0]["field"] == "body" and "5,242,880" in answer["details"][0]["message"]
    assert drain_queue(aws["queue_url"]) == []
    assert boto3.client("dynamodb").scan(TableName=aws["table"])["Count"] == 0


def test_a_body_of_exactly_5_mib_is_accepted(aws: dict[str, Any]) -> None:
    proxy = create_job.handler(
        http_event("POST", "/api/v1/batch/remediation", raw_body=_padded_body(MAX_REQUEST_BODY_BYTES)),
        context(),
    )
    assert proxy["statusCode"] == 202, proxy["body"]
    assert json.loads(proxy["body"])["total_devices"] == 1


DEVICE = '"device_id": "r1", "platform": "cisco_ios", "running_config": "a", "intended_config": "b"'


@pytest.mark.parametrize(
    "body",
    [
        "[" * 1000 + "]" * 1000,
        '{"device_configs": [{' + DEVICE + ', "extra": ' + "[" * 1000 + "]" * 1000 + "}]}",
        '{"device_configs": ' + "[" * 70 + "]" * 70 + "}",
        "{" + DEVICE + ', "options": {"tag_rules": ' + "[" * 999 + "]" * 999 + "}}",
    ],
    ids=["1000-arrays", "1000-in-a-device", "71-levels", "999-in-options"],
)
@pytest.mark.parametrize(
    ("path", "handler"),
    [("/api/v1/batch/remediation", create_job.handler), ("/api/v1/remediation", single_device.handler)],
    ids=["batch", "one-device"],
)
def test_json_nested_too_deep_is_400_invalid_json(
    aws: dict[str, Any], path: str, handler: Any, body: str
) -> None:
    proxy = handler(http_event("POST", path, raw_body=body), context())
    answer = json.loads(proxy["body"])
    assert (proxy["statusCode"], answer["error"]) == (400, "invalid_json")
    assert answer["message"] == "The request body is nested more than 64 levels deep"


def test_json_nested_within_the_limit_is_validated_as_usual(aws: dict[str, Any]) -> None:
    # Given 64 levels (the limit) where the body's schema wants an object
    proxy = single_device.handler(
        http_event("POST", "/api/v1/remediation", raw_body="[" * 64 + "]" * 64), context()
    )
    # Then it is an ordinary validation error
    assert (proxy["statusCode"], json.loads(proxy["body"])["error"]) == (422, "validation_error")
