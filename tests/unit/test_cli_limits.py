"""The CLI refuses, before sending, a job the API or Lambda would refuse: a body over the API's 5 MiB, or a body
whose Lambda event (the body as a JSON string) would be over 6 MB."""

from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from netremedy.models.api import MAX_REQUEST_BODY_BYTES
from netremedy_cli.api_client import MAX_BODY_BYTES, MAX_EVENT_BYTES, ApiClient
from netremedy_cli.errors import CliError
from tests.unit.fake_http import json_response


class Accepting(BaseAdapter):
    """Answers every request 202 and keeps it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        return json_response(request, 202, {"job_id": "job-1", "total_devices": 1})

    def close(self) -> None:
        return None


def _client() -> tuple[ApiClient, Accepting]:
    client = ApiClient("http://127.0.0.1:8000")
    transport = Accepting()
    client.session.mount("http://", transport)
    return client, transport


def _job(config: str) -> dict[str, Any]:
    return {
        "device_configs": [
            {
                "device_id": "r1",
                "platform": "cisco_ios",
                "running_config": config,
                "intended_config": "hostname b",
            }
        ]
    }


def test_a_body_whose_event_would_exceed_6_mb_is_refused_before_sending() -> None:
    # Given a 2 MB config of quotes: a 4 MB body, and an 8 MB event once the event escapes the body again
    client, transport = _client()
    # When it is submitted
    with pytest.raises(CliError, match="Lambda event would be about .* bytes.*split the devices"):
        client.submit(_job('"' * 2_000_000))
    # Then nothing went on the wire
    assert transport.sent == []


def test_a_body_whose_event_fits_is_sent() -> None:
    # Given a 4 MB config of short lines: each line break costs 3 bytes in the event, which stays under 6 MB
    client, transport = _client()
    config = "\n".join(["interface Gi0/1 shutdown"] * (MAX_EVENT_BYTES // 40))
    # When it is submitted
    answer = client.submit(_job(config))
    # Then it is sent whole
    assert answer["job_id"] == "job-1"
    assert len(transport.sent) == 1 and b"interface Gi0/1" in (transport.sent[0].body or b"")


def test_the_cli_refuses_bodies_over_the_apis_own_limit() -> None:
    # Given the API's limit and a job of plain lines just over it (its event would still fit in 6 MB)
    assert MAX_BODY_BYTES == MAX_REQUEST_BODY_BYTES
    client, transport = _client()
    config = "x" * (MAX_BODY_BYTES - 100)
    # When it is submitted
    with pytest.raises(CliError, match=r"the API accepts at most 5,242,880 \(5 MiB\).*drop them in S3"):
        client.submit(_job(config))
    # Then nothing went on the wire
    assert transport.sent == []
