"""Unit tests never reach a real endpoint: moto's in-process mock, with every endpoint override cleared."""

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from netremedy.dal.clients import clear_clients
from netremedy.models.settings import load_settings
from tests.conftest import job_table_properties

TABLE = "unit-jobs"
BUCKET = "unit-results"
QUEUE = "unit-devices"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A mocked account with the table, queue and bucket the service uses; the settings point at them."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    clear_clients()
    load_settings.cache_clear()
    with mock_aws():
        # The table exactly as template.yaml declares it (keys and indexes), so tests and template cannot drift.
        table = job_table_properties()
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=table["KeySchema"],
            AttributeDefinitions=table["AttributeDefinitions"],
            GlobalSecondaryIndexes=table.get("GlobalSecondaryIndexes", []),
            BillingMode="PAY_PER_REQUEST",
        )
        queue_url = boto3.client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
        finalize_url = boto3.client("sqs").create_queue(QueueName=f"{QUEUE}-finalize")["QueueUrl"]
        fanout_url = boto3.client("sqs").create_queue(QueueName=f"{QUEUE}-fanout")["QueueUrl"]
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        monkeypatch.setenv("TABLE_NAME", TABLE)
        monkeypatch.setenv("BUCKET_NAME", BUCKET)
        monkeypatch.setenv("DEVICE_QUEUE_URL", queue_url)
        monkeypatch.setenv("FINALIZE_QUEUE_URL", finalize_url)
        monkeypatch.setenv("FANOUT_QUEUE_URL", fanout_url)
        yield {
            "table": TABLE,
            "bucket": BUCKET,
            "queue_url": queue_url,
            "finalize_url": finalize_url,
            "fanout_url": fanout_url,
        }
    clear_clients()
    load_settings.cache_clear()


@pytest.fixture
def one_device_per_message(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Queue each device in its own message, for tests that lose, poison or dead-letter single devices."""
    monkeypatch.setenv("DEVICES_PER_MESSAGE", "1")
    load_settings.cache_clear()
