"""The patched AWS emulator (``python -m netremedy_local.emulator_server``) in a subprocess, reached over HTTP
with boto3 exactly as the local stack reaches it; each test gets its own table, queue and event bus."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from netremedy_local.emulator import MotoServer
from netremedy_local.launcher import free_port
from tests.conftest import job_table_properties


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = MotoServer("127.0.0.1", free_port(), tmp_path_factory.mktemp("emulator") / "emulator.log")
    server.start()
    try:
        yield server.endpoint
    finally:
        server.stop()


@dataclass
class Emulated:
    endpoint: str
    table: str
    queue_url: str

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture
def aws(emulator: str) -> Emulated:
    """A fresh table shaped as template.yaml's JobTable, and a fresh queue, on the shared emulator."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    emulated = Emulated(emulator, name, "")
    table = job_table_properties()
    emulated.client("dynamodb").create_table(
        TableName=name,
        KeySchema=table["KeySchema"],
        AttributeDefinitions=table["AttributeDefinitions"],
        GlobalSecondaryIndexes=table.get("GlobalSecondaryIndexes", []),
        BillingMode="PAY_PER_REQUEST",
    )
    emulated.queue_url = emulated.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    return emulated
