"""The real local stack for integration tests: ``python -m netremedy_local``, the code path of ``make serve``,
started once per test session; boto3 reaches its emulator over HTTP."""

import functools
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from netremedy.dal.clients import clear_clients
from netremedy.models.settings import load_settings
from netremedy_local.launcher import StackLauncher, StackStartError
from netremedy_local.pollers import PollerConfig
from netremedy_local.template import FunctionSpec, load_stack_model
from tests.conftest import PROJECT_ROOT


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class LocalStack:
    api_url: str
    aws_endpoint: str
    region: str
    resources: dict[str, str]
    log_path: Path

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.aws_endpoint,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def submit(self, devices: list[dict[str, Any]], **extra: Any) -> str:
        response = requests.post(
            f"{self.api_url}/api/v1/batch/remediation", json={"device_configs": devices, **extra}, timeout=60
        )
        assert response.status_code == 202, response.text
        job_id: str = response.json()["job_id"]
        return job_id

    def status(self, job_id: str) -> dict[str, Any]:
        response = requests.get(f"{self.api_url}/api/v1/batch/jobs/{job_id}", timeout=30)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait(self, job_id: str, timeout: float = 300) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status(job_id)
            if status["status"] in ("completed", "failed"):
                return status
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} did not finish in {timeout}s: {self.status(job_id)}")

    def wait_for_json(self, key: str, timeout: float = 120) -> dict[str, Any]:
        """The JSON object at ``key`` of the stack's bucket, once it has been written (S3 drop outcomes,
        write-back summaries)."""
        s3 = self.client("s3")
        deadline = time.monotonic() + timeout
        while True:
            try:
                document: dict[str, Any] = json.loads(
                    s3.get_object(Bucket=self.resources["ResultBucket"], Key=key)["Body"].read()
                )
                return document
            except s3.exceptions.NoSuchKey:
                assert time.monotonic() < deadline, f"{key} never appeared"
                time.sleep(0.3)

    def results(self, job_id: str) -> dict[str, Any]:
        response = requests.get(f"{self.api_url}/api/v1/batch/jobs/{job_id}/results", timeout=120)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def job_count(self) -> int:
        """Job rows in the table (to show that a refused request stored nothing)."""
        pages = (
            self.client("dynamodb")
            .get_paginator("scan")
            .paginate(
                TableName=self.resources["JobTable"],
                FilterExpression="sk = :job",
                ExpressionAttributeValues={":job": {"S": "JOB"}},
                Select="COUNT",
            )
        )
        return sum(page["Count"] for page in pages)

    def queue_depth(self, logical_id: str = "DeviceQueue") -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.resources[logical_id],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


@contextmanager
def running_stack(state_dir: Path, port: int | None = None, **settings: str) -> Iterator[LocalStack]:
    """``python -m netremedy_local`` in a subprocess with the given settings (environment variables)."""
    launcher = StackLauncher(state_dir, settings, port=port, project_root=PROJECT_ROOT, start_timeout=90)
    try:
        description = launcher.start()
    except StackStartError as exc:
        launcher.stop()
        pytest.fail(str(exc))
    try:
        yield LocalStack(
            api_url=description.api_url,
            aws_endpoint=description.aws_endpoint,
            region=description.region,
            resources=description.resources,
            log_path=launcher.log_path,
        )
    finally:
        launcher.stop()


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # The spec's workflow is written against localhost:8000; use that port when it is free so the script
    # runs unchanged, as a user would run it against `make serve`. Under pytest-xdist (`make test`) only the
    # first worker tries it: two workers that both found it free would race to bind it.
    first_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0") == "gw0"
    with running_stack(
        tmp_path_factory.mktemp("local-stack"), port=8000 if first_worker and _port_free(8000) else None
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The default stack on a port of the launcher's choosing (8000 belongs to a user's `make serve`), started
    once for every module that needs no settings of its own: each start and stop costs seconds. Those modules
    keep to their own callers, keys and jobs, and measure counters as differences, so sharing is safe; a
    module that needs its own settings or an empty stack defines its own ``stack`` fixture."""
    with running_stack(tmp_path_factory.mktemp("shared-stack")) as started:
        yield started


@functools.cache
def worker_function() -> FunctionSpec:
    """template.yaml's device worker, parsed once per session (a test of a paused stack plays it)."""
    return load_stack_model(PROJECT_ROOT / "template.yaml", "us-east-1", "x").functions[
        "RemediateDevicesFunction"
    ]


def paused_worker(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, **settings: str
) -> Iterator[PollerConfig]:
    """This process as a device worker of a stack started with its workers paused (LOCAL_PAUSED_FUNCTIONS):
    the real handler, over HTTP to the stack's emulator, so a test can die, lose messages or change the
    bucket where it likes. ``settings`` add to the worker's environment. For ``yield from`` in a fixture."""
    environment = {
        "AWS_ENDPOINT_URL": stack.aws_endpoint,
        "AWS_DEFAULT_REGION": stack.region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TABLE_NAME": stack.resources["JobTable"],
        "BUCKET_NAME": stack.resources["ResultBucket"],
        "DEVICE_QUEUE_URL": stack.resources["DeviceQueue"],
        **settings,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    clear_clients()
    load_settings.cache_clear()
    queue_arn = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.resources["DeviceQueue"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    yield PollerConfig(
        function=worker_function(),
        environment=environment,
        queue_url=stack.resources["DeviceQueue"],
        queue_arn=queue_arn,
        batch_size=10,
        report_batch_item_failures=True,
        region=stack.region,
        stack_name="paused",
    )
    clear_clients()
    load_settings.cache_clear()
