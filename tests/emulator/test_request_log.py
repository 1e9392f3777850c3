"""The emulator's log: werkzeug's line per request only when LOCAL_EMULATOR_ACCESS_LOG=1 asks for it (a big
job makes tens of thousands of requests), its warnings and errors always."""

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from netremedy_local.emulator import MotoServer
from netremedy_local.launcher import free_port


def _log_after_three_requests(log_path: Path) -> str:
    server = MotoServer("127.0.0.1", free_port(), log_path)
    server.start()  # its readiness check is a request too
    try:
        sqs = boto3.client(
            "sqs",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        sqs.create_queue(QueueName="logged")
        sqs.list_queues()
        sqs.get_queue_url(QueueName="logged")
    finally:
        server.stop()
    return log_path.read_text()


@pytest.fixture
def access_log_unset(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LOCAL_EMULATOR_ACCESS_LOG", raising=False)
    yield


def test_the_emulator_logs_no_line_per_request_by_default(tmp_path: Path, access_log_unset: None) -> None:
    text = _log_after_three_requests(tmp_path / "emulator.log")
    assert "HTTP/1.1" not in text and "/moto-api/data.json" not in text


def test_the_access_log_has_a_line_per_request_when_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCAL_EMULATOR_ACCESS_LOG", "1")
    text = _log_after_three_requests(tmp_path / "emulator.log")
    # the readiness check and the three SQS calls (JSON protocol: POST /)
    assert "GET /moto-api/data.json HTTP/1.1" in text
    assert text.count('"POST / HTTP/1.1" 200') == 3
