"""API Gateway's and Lambda's limits on the real local stack, with the real functions behind them: a request
whose event is over 6 MB never reaches the function, a one-device result too large for Lambda's 6 MB response
is answered as a failed device instead of API Gateway's 502, and HTTP that cannot be delimited is a JSON 400,
as they would be on AWS."""

import json
import socket
from typing import Any

import pytest
import requests

from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration

LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024


def _quoted_config(device: str, quotes: int) -> str:
    """Unique lines that are mostly double quotes: each costs 2 bytes in a JSON body and 4 in the event
    (or the response) that carries that body as a JSON string."""
    run = '"' * 100
    return "\n".join(f"description {device}-{i} {run}" for i in range(quotes // len(run)))


def test_a_post_whose_event_is_over_6_mb_is_request_too_long_and_stores_nothing(
    local_stack: LocalStack,
) -> None:
    # Given a job whose body is about 7 MB (under API Gateway's 10 MB) but whose event escapes it to 14 MB
    devices = [
        {
            "device_id": f"d{n}",
            "platform": "cisco_ios",
            "running_config": _quoted_config(f"d{n}", 1_600_000),
            "intended_config": "hostname new",
        }
        for n in range(2)
    ]
    body = json.dumps({"device_configs": devices}).encode()
    assert len(body) < 10 * 1024 * 1024 < 2 * len(body)
    before = local_stack.job_count()
    # When it is posted
    response = requests.post(
        f"{local_stack.api_url}/api/v1/batch/remediation",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=120,
    )
    # Then Lambda refused the event as API Gateway reports it, and the function did not run: no job exists
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert response.json() == {"message": "Request Too Long"}
    assert local_stack.job_count() == before


@pytest.mark.parametrize("quotes", [100_000, 1_000_000], ids=["0.8MB", "8MB"])
def test_a_one_device_answer_fits_in_lambdas_response_or_says_to_use_a_job(
    local_stack: LocalStack, quotes: int
) -> None:
    # Given one device whose remediation and rollback each repeat its intended lines: with a million quotes
    # the request's event is about 4 MB, the result as Lambda would return it about 8 MB
    device: dict[str, Any] = {
        "device_id": "r1",
        "platform": "generic",
        "running_config": "hostname r1",
        "intended_config": "hostname r1\n" + _quoted_config("r1", quotes),
    }
    # When it is computed synchronously
    response = requests.post(f"{local_stack.api_url}/api/v1/remediation", json=device, timeout=120)
    # Then a result Lambda can return reaches the client; one it could not is the device failed, saying to
    # submit it as a batch job (whose results link to outputs of any size), never API Gateway's 502
    assert response.status_code == 200, response.text[:300]
    assert len(response.content) < LAMBDA_PAYLOAD_LIMIT
    result = response.json()
    if quotes == 100_000:
        assert result["status"] == "success" and result["remediation"] == _quoted_config("r1", quotes)
    else:
        assert result["status"] == "failed" and "POST /api/v1/batch/remediation" in result["error"]


def test_a_body_over_10_mb_is_refused_with_api_gateways_words(local_stack: LocalStack) -> None:
    before = local_stack.job_count()
    response = requests.post(
        f"{local_stack.api_url}/api/v1/batch/remediation",
        data=b"{" + b" " * (10 * 1024 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
        timeout=120,
    )
    assert response.status_code == 413
    assert response.text == "HTTP content length exceeded 10485760 bytes."
    assert local_stack.job_count() == before


def test_a_chunked_post_creates_the_job(local_stack: LocalStack) -> None:
    # Given a job body streamed in chunks (no Content-Length), as HTTP clients stream generated bodies
    device = {
        "device_id": "c1",
        "platform": "cisco_ios",
        "running_config": "hostname a",
        "intended_config": "hostname b",
    }
    text = json.dumps({"device_configs": [device]}).encode()
    # When it is posted
    response = requests.post(
        f"{local_stack.api_url}/api/v1/batch/remediation",
        data=iter([text[:20], text[20:]]),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    # Then the function read the whole body: the job exists and computes the device
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert local_stack.wait(job_id)["status"] == "completed"
    [result] = local_stack.results(job_id)["results"]
    assert result["remediation"] == "no hostname a\nhostname b"


def _raw(api_url: str, request: bytes) -> tuple[int, str, bytes]:
    host, port = api_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers.get("content-type", ""), body


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"POST /api/v1/batch/remediation HTTP/1.1\r\nContent-Type: application/json", 400),
        (b"POST /api/v1/batch/remediation HTTP/1.1\r\nContent-Length: -1", 400),
        (b"POST /api/v1/batch/remediation HTTP/1.1\r\nContent-Length: 2k", 400),
        (b"QUERY /api/v1/batch/remediation HTTP/1.1\r\nContent-Length: 2", 403),
        (b"FOO /api/v1/platforms HTTP/1.1\r\nContent-Length: 2", 403),
    ],
    ids=["length-missing", "length-negative", "length-not-a-number", "method-QUERY", "method-FOO"],
)
def test_malformed_http_is_answered_with_json(local_stack: LocalStack, head: bytes, status: int) -> None:
    before = local_stack.job_count()
    answered, content_type, body = _raw(local_stack.api_url, head + b"\r\nHost: localhost\r\n\r\n{}")
    assert (answered, content_type) == (status, "application/json")
    assert json.loads(body)["message"]
    assert local_stack.job_count() == before
