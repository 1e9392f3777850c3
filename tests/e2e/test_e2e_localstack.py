"""The stack ``make localstack-deploy`` put into LocalStack answers a batch end to end.

Skips, with the reason, where no LocalStack is reachable (``LOCALSTACK_URL``, default
``http://localhost:4566``) or nothing was deployed into it (no ``.local/localstack.json`` and no ``API_URL``).
LocalStack's free plan is enough (the API is a REST API, API Gateway v1), but it runs Lambda functions in
Docker containers, so this needs a machine with Docker. The recorded URL carries the REST API's stage
(``http://<api-id>.execute-api.localhost.localstack.cloud:4566/v1``); the suite appends ``/api/v1/...``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import requests

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEPLOYED = PROJECT_ROOT / ".local" / "localstack.json"


def _on_localstack(url: str, localstack: str) -> bool:
    """An API served by LocalStack: its execute-api host name, or LocalStack's own host and port."""
    target, edge = urlsplit(url), urlsplit(localstack)
    return "localstack" in (target.hostname or "") or target.netloc == edge.netloc


@pytest.fixture(scope="module")
def localstack_api_url() -> str:
    localstack = os.environ.get("LOCALSTACK_URL", "http://localhost:4566").rstrip("/")
    try:
        health = requests.get(f"{localstack}/_localstack/health", timeout=3)
    except requests.RequestException as exc:
        pytest.skip(
            f"LocalStack not reachable at {localstack} ({type(exc).__name__}): start it and run "
            "make localstack-deploy"
        )
    if health.status_code != 200 or "services" not in health.text:
        pytest.skip(
            f"{localstack} answers but is not LocalStack (GET /_localstack/health: HTTP "
            f"{health.status_code}; make serve's emulator also uses :4566): set LOCALSTACK_URL"
        )
    if DEPLOYED.is_file():
        api_url: str = json.loads(DEPLOYED.read_text())["api_url"]
        return api_url
    target = os.environ.get("API_URL", "").strip()
    if target and _on_localstack(target, localstack):
        return target
    pytest.skip(
        f"LocalStack is up at {localstack} but no stack is known to be deployed in it "
        f"(no {DEPLOYED}, no API_URL on LocalStack): run make localstack-deploy"
    )


def test_the_localstack_stack_remediates_a_batch(
    localstack_api_url: str, make_api: Callable[[str], Api]
) -> None:
    api = make_api(localstack_api_url)
    job_id = api.submit(
        [
            {
                "device_id": "r1",
                "platform": "cisco_ios",
                "running_config": "hostname r1\n",
                "intended_config": "hostname r1-new\n",
            },
            {
                "device_id": "r2",
                "platform": "cisco_ios",
                "running_config": "hostname r2\n",
                "intended_config": "",
            },
        ]
    )
    status = api.wait(job_id, timeout=300)  # first invocations pull Lambda images and cold-start
    assert status["status"] == "completed" and status["progress"] == 100.0, status
    results = {result["device_id"]: result for result in api.results(job_id)["results"]}
    assert results["r1"] == {
        "device_id": "r1",
        "status": "success",
        "remediation": "no hostname r1\nhostname r1-new",
        "rollback": "no hostname r1-new\nhostname r1",
        "compliant": False,
        "risks": [],
    }
    assert results["r2"]["status"] == "failed" and "allow_empty_intended" in results["r2"]["error"]
