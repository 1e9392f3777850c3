"""Sizes on the real local stack, whose API Gateway refuses what Lambda and API Gateway refuse: results pages
of non-ASCII configs fit in Lambda's 6 MB response, a result too large for any response is a link the CLI
follows, outputs S3 expired are reported per device, bodies over 5 MiB are a 413 the API words, and JSON
nested too deep is a 400."""

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from netremedy_cli.main import main
from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration

LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024
MAX_REQUEST_BODY_BYTES = 5 * 1024 * 1024
# Interface descriptions in Chinese: 3 bytes a character in UTF-8, 7 in the response as a \uXXXX escape.
CHINESE = "连接到核心交换机的上行链路端口" * 3


def _chinese_config(name: str, interfaces: int, variant: str) -> str:
    lines = [f"hostname {name}"]
    for port in range(interfaces):
        lines += [f"interface GigabitEthernet0/{port}", f" description {variant}{CHINESE}{port}"]
    return "\n".join(lines)


def _post(stack: LocalStack, path: str, body: bytes) -> requests.Response:
    return requests.post(
        f"{stack.api_url}{path}", data=body, headers={"Content-Type": "application/json"}, timeout=120
    )


def _submit_utf8(stack: LocalStack, devices: list[dict[str, Any]]) -> str:
    body = json.dumps({"device_configs": devices}, ensure_ascii=False).encode("utf-8")
    response = _post(stack, "/api/v1/batch/remediation", body)
    assert response.status_code == 202, response.text[:300]
    job_id: str = response.json()["job_id"]
    assert stack.wait(job_id)["status"] == "completed"
    return job_id


def _quoted_config(device: str, quotes: int) -> str:
    """Unique lines that are mostly double quotes: each costs 4 bytes in the response Lambda returns."""
    run = '"' * 100
    return "\n".join(f"description {device}-{i} {run}" for i in range(quotes // len(run)))


def test_pages_of_chinese_configs_fit_in_lambdas_response(local_stack: LocalStack) -> None:
    # Given a job whose body is 4.5 MB of configs that are mostly Chinese: 2.2 million characters of results,
    # which as \u escapes would be a 9 MB page, and as UTF-8 are 4.5 MB
    devices = [
        {
            "device_id": f"cn-{n}",
            "platform": "cisco_ios",
            "running_config": _chinese_config(f"cn-{n}", 1500, "旧"),
            "intended_config": _chinese_config(f"cn-{n}", 1500, "新"),
        }
        for n in range(9)
    ]
    job_id = _submit_utf8(local_stack, devices)
    # When every page is read
    pages: list[requests.Response] = []
    token = None
    while True:
        query = f"?next_token={token}" if token else ""
        pages.append(
            requests.get(f"{local_stack.api_url}/api/v1/batch/jobs/{job_id}/results{query}", timeout=120)
        )
        assert pages[-1].status_code == 200, pages[-1].text[:300]
        if not (token := pages[-1].json()["next_token"]):
            break
    # Then each page is UTF-8 JSON within Lambda's response limit, and the pages hold every device in full
    assert len(pages) > 1
    assert all(len(page.content) < LAMBDA_PAYLOAD_LIMIT and "\\u" not in page.text for page in pages)
    results = [result for page in pages for result in page.json()["results"]]
    assert [result["device_id"] for result in results] == [f"cn-{n}" for n in range(9)]
    for result in results:
        assert result["remediation"].count(f"description 新{CHINESE}") == 1500
        assert result["rollback"].count(f"description 旧{CHINESE}") == 1500


def test_a_result_too_large_for_any_response_is_a_link_the_cli_follows(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    # Given a device whose remediation and rollback each repeat a million quotes: over 8 MB as returned
    intended = "hostname big\n" + _quoted_config("big", 1_000_000)
    devices = [
        {
            "device_id": "big",
            "platform": "generic",
            "running_config": "hostname big",
            "intended_config": intended,
        },
        {
            "device_id": "small",
            "platform": "cisco_ios",
            "running_config": "hostname a",
            "intended_config": "hostname b",
        },
    ]
    job_id = _submit_utf8(local_stack, devices)
    # When its results and the device are read
    page = requests.get(f"{local_stack.api_url}/api/v1/batch/jobs/{job_id}/results", timeout=120)
    device = requests.get(f"{local_stack.api_url}/api/v1/batch/jobs/{job_id}/results/big", timeout=120)
    # Then both answer a link valid for an hour instead of the outputs; the small device is inline
    assert page.status_code == 200 and device.status_code == 200, (page.text[:300], device.text[:300])
    link, small = page.json()["results"]
    # (compliance and risks stay inline: they are small, and the fleet's counters need no download)
    assert set(link) == {"device_id", "status", "output_url", "expires_in", "compliant", "risks"}
    assert (link["status"], link["expires_in"], link["compliant"]) == ("success", 3600, False)
    assert isinstance(link["risks"], list)
    assert small["remediation"] == "no hostname a\nhostname b"
    assert set(device.json()) == set(link)
    # And the link serves the outputs
    outputs = requests.get(link["output_url"], timeout=120).json()
    assert outputs["remediation"] == _quoted_config("big", 1_000_000)
    assert _quoted_config("big", 1_000_000).splitlines()[0] in outputs["rollback"]
    # And the CLI writes them to files as if they had come inline
    assert main(["results", job_id, "--out", str(tmp_path), "--url", local_stack.api_url]) == 0
    assert (tmp_path / "big.remediation.conf").read_text() == outputs["remediation"]
    assert (tmp_path / "big.rollback.conf").read_text() == outputs["rollback"]
    assert (tmp_path / "small.remediation.conf").read_text() == "no hostname a\nhostname b"


def test_outputs_expired_in_s3_are_a_failed_device_and_a_410(local_stack: LocalStack) -> None:
    # Given a job whose claim-checked outputs (over 100 KB) S3's lifecycle removed before DynamoDB's TTL
    # removed the result row
    devices = [
        {
            "device_id": name,
            "platform": "cisco_ios",
            "running_config": _chinese_config(name, 500, "旧"),
            "intended_config": _chinese_config(name, 500, "新"),
        }
        for name in ("gone", "kept")
    ]
    job_id = _submit_utf8(local_stack, devices)
    local_stack.client("s3").delete_object(
        Bucket=local_stack.resources["ResultBucket"], Key=f"outputs/{job_id}/gone.json"
    )
    # When the results and the device are read
    page = local_stack.results(job_id)
    device = requests.get(f"{local_stack.api_url}/api/v1/batch/jobs/{job_id}/results/gone", timeout=60)
    # Then the page holds the device as failed, saying its outputs expired, and the device route is 410
    gone, kept = page["results"]
    assert gone["status"] == "failed" and "expired" in gone["error"]
    assert kept["remediation"].count(f"description 新{CHINESE}") == 500
    assert device.status_code == 410 and device.json()["error"] == "result_expired"


def _padded_body(path: str, size: int) -> bytes:
    """A body the route would accept, of exactly ``size`` bytes (whitespace before its closing brace)."""
    device = {"device_id": "r1", "platform": "cisco_ios", "running_config": "a", "intended_config": "b"}
    text = json.dumps({"device_configs": [device]} if "batch" in path else device).encode()
    return text[:-1] + b" " * (size - len(text)) + b"}"


@pytest.mark.parametrize("path", ["/api/v1/batch/remediation", "/api/v1/remediation"])
def test_a_body_over_5_mib_is_the_apis_own_413(local_stack: LocalStack, path: str) -> None:
    # Given a body just over 5 MiB, whose event is still under Lambda's 6 MB
    body = _padded_body(path, MAX_REQUEST_BODY_BYTES + 1_000)
    before = local_stack.job_count()
    # When it is posted
    response = _post(local_stack, path, body)
    # Then the API refuses it naming the limit and S3 drops, and stores nothing
    assert response.status_code == 413, response.text[:300]
    answer = response.json()
    assert answer["error"] == "request_too_large"
    assert "5,242,880" in answer["message"] and "S3" in answer["message"]
    assert answer["details"][0]["field"] == "body"
    assert local_stack.job_count() == before


@pytest.mark.parametrize("path", ["/api/v1/batch/remediation", "/api/v1/remediation"])
def test_json_nested_1000_levels_deep_is_400_invalid_json(local_stack: LocalStack, path: str) -> None:
    response = _post(local_stack, path, b"[" * 1000 + b"]" * 1000)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"] == "invalid_json"
    assert "nested more than 64 levels" in response.json()["message"]
