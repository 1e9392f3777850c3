"""Security and bad input on the real local stack: caller scoping, idempotent POST, clear 4xx with nothing
stored, no secrets in logs, and a schemathesis fuzz run from the OpenAPI document with zero 5xx."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration

DEVICE = {
    "device_id": "r1",
    "platform": "cisco_ios",
    "running_config": "hostname r1",
    "intended_config": "hostname r1-new",
}


def test_a_job_is_visible_to_its_creator_only(local_stack: LocalStack) -> None:
    api = local_stack.api_url
    alice, mallory = (
        {"x-netremedy-caller": "arn:aws:iam::1:user/alice"},
        {"x-netremedy-caller": "arn:aws:iam::1:user/mallory"},
    )
    created = requests.post(
        f"{api}/api/v1/batch/remediation", json={"device_configs": [DEVICE]}, headers=alice, timeout=30
    ).json()
    job = created["job_id"]
    for method, path in (("GET", ""), ("GET", "/results"), ("DELETE", "")):
        response = requests.request(
            method, f"{api}/api/v1/batch/jobs/{job}{path}", headers=mallory, timeout=30
        )
        assert response.status_code == 404 and response.json()["error"] == "job_not_found", (method, path)
        unsigned = requests.request(method, f"{api}/api/v1/batch/jobs/{job}{path}", timeout=30)
        assert unsigned.status_code == 404, (method, path)
    assert requests.get(f"{api}/api/v1/batch/jobs/{job}", headers=alice, timeout=30).json()["job_id"] == job


def test_a_retried_post_with_the_same_idempotency_key_gets_the_same_job(local_stack: LocalStack) -> None:
    before = local_stack.job_count()
    headers = {"Idempotency-Key": "integration-retry-1"}
    body = {"device_configs": [DEVICE]}
    answers = [
        requests.post(
            f"{local_stack.api_url}/api/v1/batch/remediation", json=body, headers=headers, timeout=30
        )
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert len({a.json()["job_id"] for a in answers}) == 1
    assert local_stack.job_count() == before + 1


@pytest.mark.parametrize(
    ("send", "status", "error", "field"),
    [
        ({"data": b'{"device_configs": ['}, 400, "invalid_json", None),
        (
            {"data": b"\xff\xfe\x00garbage", "headers": {"Content-Type": "application/json"}},
            400,
            "invalid_json",
            None,
        ),
        (
            {"data": b"device_configs=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
            415,
            "unsupported_media_type",
            "headers.content-type",
        ),
        ({"json": {}}, 422, "validation_error", "device_configs"),
        ({"json": {"device_configs": []}}, 422, "validation_error", "device_configs"),
        ({"json": {"device_configs": [DEVICE, DEVICE]}}, 422, "validation_error", "device_configs"),
        (
            {"json": {"device_configs": [dict(DEVICE, device_id=123)]}},
            422,
            "validation_error",
            "device_configs[0].device_id",
        ),
        (
            {"json": {"device_configs": [dict(DEVICE, device_id="../etc/passwd")]}},
            422,
            "validation_error",
            "device_configs[0].device_id",
        ),
        (
            {"json": {"device_configs": [dict(DEVICE, device_id="r" * 129)]}},
            422,
            "validation_error",
            "device_configs[0].device_id",
        ),
        (
            {"json": {"device_configs": [dict(DEVICE, platform="ios")]}},
            422,
            "validation_error",
            "device_configs[0].platform",
        ),
        (
            {"json": {"device_configs": [dict(DEVICE, running_config="a" * (4 * 1024 * 1024 + 1))]}},
            422,
            "validation_error",
            "device_configs[0].running_config",
        ),
        (
            {"json": {"device_configs": [dict(DEVICE, device_id=f"d{i}") for i in range(10_001)]}},
            422,
            "validation_error",
            "device_configs",
        ),
        ({"data": b"{" + b" " * (10 * 1024 * 1024) + b"}"}, 413, None, None),
    ],
    ids=[
        "truncated-json",
        "not-utf8",
        "form-encoded",
        "missing-field",
        "empty-list",
        "duplicate-id",
        "id-type",
        "id-unsafe",
        "id-too-long",
        "unknown-platform",
        "config-too-big",
        "too-many-devices",
        "body-over-10MB",
    ],
)
def test_bad_input_is_a_clear_4xx_and_stores_nothing(
    local_stack: LocalStack, send: dict[str, Any], status: int, error: str | None, field: str | None
) -> None:
    before = local_stack.job_count()
    response = requests.post(f"{local_stack.api_url}/api/v1/batch/remediation", timeout=60, **send)
    assert response.status_code == status, response.text[:500]
    if error:
        assert response.json()["error"] == error and response.json()["message"]
    if field:
        assert field in [detail["field"] for detail in response.json()["details"]]
    assert local_stack.job_count() == before


def test_no_config_text_reaches_the_logs(local_stack: LocalStack) -> None:
    # Given configurations carrying a password hash, an SNMP community and a key, on a device that succeeds
    # and on one hier_config refuses
    secrets = ["$1$mERr$hx5rVt7rPNoS4wqbXKX7m0", "sn0wyC0mmunity-ro", "K3yStr1ng-0xDEADBEEF"]
    running = f"hostname s1\nenable secret 5 {secrets[0]}\nsnmp-server community {secrets[1]} RO\n"
    intended = f"hostname s1\nenable secret 5 {secrets[0]}\nkey chain k\n key 1\n  key-string {secrets[2]}\n"
    duplicate = running + f"snmp-server community {secrets[1]} RO\n"
    job_id = local_stack.submit(
        [
            {
                "device_id": "secret-ok",
                "platform": "cisco_ios",
                "running_config": running,
                "intended_config": intended,
            },
            {
                "device_id": "secret-bad",
                "platform": "cisco_ios",
                "running_config": duplicate,
                "intended_config": intended,
            },
        ]
    )
    local_stack.wait(job_id)
    results = {r["device_id"]: r for r in local_stack.results(job_id)["results"]}
    assert secrets[2] in results["secret-ok"]["remediation"]  # the secrets did flow through the service
    # Then none of them appears in any log line the stack wrote (functions, pollers, emulator)
    logs = [Path(local_stack.log_path), Path(local_stack.log_path).parent / "emulator.log"]
    text = "\n".join(path.read_text(errors="replace") for path in logs if path.exists())
    assert job_id in text  # the logs are the right ones, and they do name the job
    for secret in secrets:
        assert secret not in text


def test_fuzzing_the_api_from_its_openapi_document_gives_no_5xx(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    document = requests.get(f"{local_stack.api_url}/api/v1/openapi.json", timeout=30).json()
    assert {
        "/api/v1/batch/remediation",
        "/api/v1/batch/jobs/{job_id}",
        "/api/v1/batch/jobs/{job_id}/results",
    } <= set(document["paths"])
    report = tmp_path / "junit.xml"
    # The coverage phase is left out: under Python 3.11 it trips a hypothesis AST error inside schemathesis
    # itself, which is a tool fault, not an API answer.
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{local_stack.api_url}/api/v1/openapi.json",
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,fuzzing,stateful",
            "--max-examples",
            "25",
            "--workers",
            "2",
            "--max-time",
            "45",
            "--seed",
            "20261129",
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # its cache stays out of the checkout
    )
    assert run.returncode == 0, run.stdout[-4000:]
    assert "passed" in run.stdout and " 0 passed" not in run.stdout
    assert json.dumps(document).count("ErrorResponse") > 0
