"""End-to-end suite: plain HTTP against a running netremedy stack, nothing else.

The target is ``API_URL`` (the stack's base URL, e.g. the ``ApiUrl`` output of a deployed stack, or the URL
``make localstack-deploy`` printed). Unset, the suite starts the embedded local stack itself
(``python -m netremedy_local`` on free ports with its own state directory) and stops it afterwards. These
tests import nothing of the service: they speak HTTP like any client, so they hold for LocalStack and AWS too.

Auth: the embedded stack takes the caller from the ``x-netremedy-caller`` header; a deployed API Gateway
(``*.amazonaws.com``) requires SigV4, signed here with botocore from the standard AWS credential chain.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from requests.auth import AuthBase

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = "/api/v1/openapi.json"
TERMINAL = ("completed", "failed", "cancelled")
# Headers covered by the SigV4 signature besides Host and X-Amz-*; the rest may be rewritten on the way.
_SIGNED_HEADERS = ("content-type", "idempotency-key")
_EXECUTE_API_HOST = re.compile(r"^[^.]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$")


class SigV4(AuthBase):
    """Signs each request for API Gateway's IAM authorizer (service ``execute-api``)."""

    def __init__(self, url: str) -> None:
        import botocore.session  # only needed against AWS

        session = botocore.session.get_session()
        self.credentials = session.get_credentials()
        match = _EXECUTE_API_HOST.match(urlsplit(url).hostname or "")
        self.region = match.group(1) if match else session.get_config_variable("region")
        if self.credentials is None or not self.region:
            pytest.fail(f"{url} needs SigV4: configure AWS credentials and a region as for the AWS CLI")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        body = request.body.encode() if isinstance(request.body, str) else request.body
        headers = {k: v for k, v in request.headers.items() if k.lower() in _SIGNED_HEADERS}
        unsigned = AWSRequest(method=request.method, url=request.url, data=body or b"", headers=headers)
        SigV4Auth(self.credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(unsigned)
        request.headers.update(dict(unsigned.headers.items()))
        return request


class Api:
    """A thin HTTP client for one stack: every request carries this suite's caller (and SigV4 on AWS)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        # One principal per run on the embedded stack; ignored by a deployed stack (IAM identity instead).
        self.session.headers["x-netremedy-caller"] = f"e2e-{uuid.uuid4()}"
        host = (urlsplit(self.base_url).hostname or "").lower()
        if host.endswith("amazonaws.com"):
            self.session.auth = SigV4(self.base_url)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post_batch(self, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("POST", "/api/v1/batch/remediation", json=body, **kwargs)

    def submit(self, devices: list[dict[str, Any]], **options: Any) -> str:
        response = self.post_batch({"device_configs": devices, **options})
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["total_devices"] == len(devices), body
        job_id: str = body["job_id"]
        return job_id

    def status(self, job_id: str) -> dict[str, Any]:
        response = self.get(f"/api/v1/batch/jobs/{job_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait(self, job_id: str, timeout: float = 120) -> dict[str, Any]:
        """Polls the status until the job ends, checking progress never goes backwards on the way."""
        deadline, progress = time.monotonic() + timeout, 0.0
        while True:
            status = self.status(job_id)
            assert status["progress"] >= progress, status
            progress = status["progress"]
            if status["status"] in TERMINAL:
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} did not end within {timeout} s: {status}")
            time.sleep(0.25)

    def results(self, job_id: str, **params: Any) -> dict[str, Any]:
        response = self.get(f"/api/v1/batch/jobs/{job_id}/results", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _embedded_stack(state_dir: Path) -> Iterator[str]:
    """``python -m netremedy_local`` (what ``make serve`` runs) on free ports; yields its API URL."""
    env = {
        name: value
        for name, value in os.environ.items()
        # The plain stack: its own emulator, default parameters, every worker running.
        if not name.startswith("AWS_ENDPOINT_URL")
        and name not in ("PARAMETER_OVERRIDES", "LOCAL_PAUSED_FUNCTIONS", "LOCAL_SCHEDULE_SECONDS")
    }
    port = _free_port()
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        AWS_PORT=str(_free_port()),
        LOCAL_STATE_DIR=str(state_dir),
        NETREMEDY_PROJECT_ROOT=str(PROJECT_ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("LOCAL_WORKERS", "1")  # a handful of devices: one poller process is plenty
    api_url = f"http://127.0.0.1:{port}"
    log_path = state_dir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "netremedy_local"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                tail = log_path.read_text()[-3000:]
                pytest.fail(f"the embedded stack exited with {process.returncode}:\n{tail}")
            try:
                if requests.get(api_url + OPENAPI_PATH, timeout=(2, 10)).status_code == 200:
                    break
            # A slow first answer (the document is built on the first request) is not a failure: only the
            # 90 s deadline is.
            except (requests.ConnectionError, requests.Timeout):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the embedded stack did not answer within 90 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield api_url
    finally:
        # SIGTERM, not SIGINT: a background process (make ... &, CI) ignores SIGINT.
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="package")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stack under test: ``API_URL``, or an embedded stack started for this directory's tests."""
    target = os.environ.get("API_URL", "").strip()
    if target:
        yield target.rstrip("/")
    else:
        yield from _embedded_stack(tmp_path_factory.mktemp("e2e-stack"))


@pytest.fixture(scope="package")
def api(api_url: str) -> Api:
    return Api(api_url)


@pytest.fixture(scope="session")
def make_api() -> Callable[[str], Api]:
    """A client for another stack (the LocalStack test uses it)."""
    return Api
