"""The local API Gateway's HTTP server against a fake front (no emulator): API Gateway's and Lambda's limits,
refused as AWS refuses them, and malformed HTTP answered with JSON, never a hang or the stdlib's HTML."""

import hashlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from netremedy_local.http_front import MAX_BODY_BYTES, MAX_PAYLOAD_BYTES, make_server
from netremedy_local.template import FunctionSpec

Handler = Callable[[dict[str, Any]], Any]


@dataclass
class FakeRoute:
    function: FunctionSpec
    handler: Handler


@dataclass
class FakeFront:
    """Routes by exact (method, path); the event is the request's method, target and body as text."""

    routes: dict[tuple[str, str], FakeRoute]
    invoked: list[dict[str, Any]] = field(default_factory=list)

    def match(self, method: str, path: str) -> tuple[FakeRoute, dict[str, str]] | None:
        route = self.routes.get((method, path))
        return (route, {}) if route else None

    def event(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        route: FakeRoute,
        path_parameters: dict[str, str],
        source_ip: str,
    ) -> dict[str, Any]:
        return {"httpMethod": method, "path": target, "body": body.decode("utf-8")}

    def invoke(self, route: FakeRoute, event: dict[str, Any]) -> Any:
        self.invoked.append(event)
        return route.handler(event)


def _function(timeout: int = 29) -> FunctionSpec:
    return FunctionSpec(
        logical_id="FakeFunction", handler="fake.handler", timeout=timeout, memory_mb=128, environment={}
    )


def _json(status: int, document: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(document),
    }


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _echo(event: dict[str, Any]) -> dict[str, Any]:
    """What the function received, as a digest: the answer stays small whatever the body."""
    return _json(200, {"sha256": _digest(event["body"])})


# The JSON of an event with an empty body: what an event of the fake front costs beyond its body.
EVENT_OVERHEAD = len(json.dumps({"httpMethod": "POST", "path": "/echo", "body": ""}))
# The same for the runtime's serialization of a result whose body is the only variable part.
RESULT_OVERHEAD = len(json.dumps({"statusCode": 200, "body": ""}))


@contextmanager
def serving(front: FakeFront, **timeouts: float) -> Iterator[str]:
    server = make_server(front, "127.0.0.1", 0, **timeouts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def front() -> FakeFront:
    return FakeFront({("POST", "/echo"): FakeRoute(_function(), _echo)})


@pytest.fixture
def api(front: FakeFront) -> Iterator[str]:
    with serving(front, read_timeout=0.5) as url:
        yield url


def _raw(url: str, request: bytes) -> tuple[int, str, bytes]:
    """Send bytes as they are (for requests no HTTP library would make); the status line, Content-Type and
    body of the answer. The server closes every connection after one answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers.get("Content-Type", ""), body


# --- API Gateway: 10 MB body -------------------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_body_over_10_mb_is_api_gateways_413_and_the_function_does_not_run(
    api: str, front: FakeFront, framing: str
) -> None:
    # Given a body one byte over API Gateway's limit, with its length announced or streamed in chunks
    body = b"x" * (MAX_BODY_BYTES + 1)
    data: Any = body if framing == "content-length" else iter([body[:1_000_000], body[1_000_000:]])
    # When it is posted
    response = requests.post(f"{api}/echo", data=data, timeout=60)
    # Then API Gateway's own words answer it, and the function never saw it
    assert response.status_code == 413
    assert response.text == "HTTP content length exceeded 10485760 bytes."
    assert front.invoked == []


# --- Lambda: 6 MB event --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("a" * (MAX_PAYLOAD_BYTES - EVENT_OVERHEAD), 200),
        ("a" * (MAX_PAYLOAD_BYTES - EVENT_OVERHEAD + 1), 413),
        # 3.2 MB of quotes: far under 10 MB as a body, 6.4 MB once JSON escapes them inside the event
        ('"' * 3_200_000, 413),
    ],
    ids=["event-at-6MB", "event-one-byte-over", "body-escaped-over-6MB"],
)
def test_an_event_over_6_mb_is_request_too_long_and_the_function_does_not_run(
    api: str, front: FakeFront, body: str, status: int
) -> None:
    # When a body whose event is at or over Lambda's request limit is posted
    response = requests.post(f"{api}/echo", data=body.encode(), timeout=60)
    # Then at the limit the function answers; over it Lambda refuses the event as API Gateway reports it
    assert response.status_code == status
    if status == 413:
        assert response.json() == {"message": "Request Too Long"}
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["x-amzn-ErrorType"] == "BadRequestException"
        assert front.invoked == []
    else:
        assert response.json() == {"sha256": _digest(body)}
        assert len(front.invoked) == 1


# --- Lambda: 6 MB response -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("r" * (MAX_PAYLOAD_BYTES - RESULT_OVERHEAD), 200),
        ("r" * (MAX_PAYLOAD_BYTES - RESULT_OVERHEAD + 1), 502),
        # 2 million CJK characters: 6 MB as the Python 3.12 runtime sends them (UTF-8); escaped as \\uXXXX
        # they would be 12 MB, and a measure of that would refuse what Lambda returns
        ("中" * 2_000_000, 200),
        ("中" * 2_100_000, 502),
    ],
    ids=["response-at-6MB", "response-one-byte-over", "utf8-under-6MB", "utf8-over-6MB"],
)
def test_a_response_over_6_mb_is_api_gateways_502(body: str, status: int) -> None:
    # Given a function whose result, serialized as the runtime does, is at or over Lambda's response limit
    front = FakeFront(
        {("GET", "/big"): FakeRoute(_function(), lambda event: {"statusCode": 200, "body": body})}
    )
    with serving(front) as api:
        # When it is called
        response = requests.get(f"{api}/big", timeout=60)
    # Then the client gets the body whole, or API Gateway's integration failure
    assert response.status_code == status
    if status == 200:
        assert response.content == body.encode("utf-8")
    else:
        assert response.json() == {"message": "Internal server error"}


# --- Timeouts --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function_timeout", "integration_timeout", "status", "message"),
    [
        (1, 29.0, 502, "Internal server error"),  # Lambda ends the invocation at the function's Timeout
        (29, 0.5, 504, "Endpoint request timed out"),  # API Gateway stops waiting first
    ],
    ids=["function-timeout", "integration-timeout"],
)
def test_a_handler_still_running_at_the_deadline_is_answered_without_waiting_for_it(
    function_timeout: int, integration_timeout: float, status: int, message: str
) -> None:
    # Given a handler that runs until released, behind a gateway whose smaller deadline is about a second
    release = threading.Event()
    front = FakeFront(
        {
            ("GET", "/slow"): FakeRoute(
                _function(function_timeout), lambda event: release.wait(10) and _json(200, {})
            )
        }
    )
    try:
        with serving(front, integration_timeout=integration_timeout) as api:
            started = time.monotonic()
            # When it is called
            response = requests.get(f"{api}/slow", timeout=30)
            elapsed = time.monotonic() - started
    finally:
        release.set()
    # Then the client gets the answer of whichever limit comes first, at that limit
    assert response.status_code == status
    assert response.json() == {"message": message}
    assert (
        min(function_timeout, integration_timeout) <= elapsed < min(function_timeout, integration_timeout) + 2
    )


def test_a_handler_that_raises_is_502_and_its_message_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    # Given a function that fails with a message quoting configuration text
    def crash(event: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("duplicate line: snmp-server community s3cr3t RO")

    front = FakeFront({("GET", "/crash"): FakeRoute(_function(), crash)})
    with caplog.at_level(logging.WARNING), serving(front) as api:
        # When it is called
        response = requests.get(f"{api}/crash", timeout=30)
    # Then API Gateway's answer to a function error is a 502 (a REST proxy integration's, not a 500), and the
    # log names the failure without its text
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}
    assert "ValueError" in caplog.text and "s3cr3t" not in caplog.text


@pytest.mark.parametrize(
    "result",
    [
        "not an object",
        {"body": "no status"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    ],
    ids=["not-an-object", "no-status", "body-not-text", "bad-base64"],
)
def test_a_result_api_gateway_cannot_use_is_502(result: Any) -> None:
    front = FakeFront({("GET", "/odd"): FakeRoute(_function(), lambda event: result)})
    with serving(front) as api:
        response = requests.get(f"{api}/odd", timeout=30)
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_headers_and_multi_value_headers_reach_the_client(api: str) -> None:
    # Given a function answering with both header maps, as a REST API resolver does
    result = {
        "statusCode": 201,
        "headers": {"X-One": "1", "Content-Type": "text/plain"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": "made",
    }
    front = FakeFront({("PUT", "/thing"): FakeRoute(_function(), lambda event: result)})
    with serving(front) as url:
        response = requests.put(f"{url}/thing", data=b"", timeout=30)
    assert (response.status_code, response.text) == (201, "made")
    assert response.headers["X-One"] == "1" and response.headers["Content-Type"] == "text/plain"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_requests_are_answered_concurrently() -> None:
    # Given a handler that takes half a second
    front = FakeFront(
        {("GET", "/nap"): FakeRoute(_function(), lambda event: time.sleep(0.5) or _json(200, {}))}
    )
    with serving(front) as api:
        started = time.monotonic()
        # When four requests arrive at once
        threads = [threading.Thread(target=requests.get, args=(f"{api}/nap",)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    # Then they are served side by side, not one after another
    assert elapsed < 1.5
    assert len(front.invoked) == 4


# --- Malformed HTTP --------------------------------------------------------------------------------------------


def test_a_chunked_body_reaches_the_function_whole(api: str) -> None:
    # When a body is streamed with Transfer-Encoding: chunked (requests does so for an iterator)
    response = requests.post(f"{api}/echo", data=iter([b'{"device', b'_configs": ', b"[]}"]), timeout=30)
    # Then the function sees all of it
    assert response.status_code == 200
    assert response.json() == {"sha256": _digest('{"device_configs": []}')}


@pytest.mark.parametrize(
    ("request_bytes", "message"),
    [
        (b"POST /echo HTTP/1.1\r\nHost: x\r\n\r\n", "Content-Length is required"),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\nhello", "Content-Length must be"),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\nhello", "Content-Length must be"),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b", "incomplete"),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
            "chunked encoding is malformed",
        ),
    ],
    ids=["length-missing", "length-negative", "length-not-a-number", "length-longer-than-body", "bad-chunk"],
)
def test_a_body_of_unknown_or_false_length_is_a_json_400_and_the_function_does_not_run(
    api: str, front: FakeFront, request_bytes: bytes, message: str
) -> None:
    # When a request's body cannot be delimited (for a length longer than the body: after the read timeout)
    started = time.monotonic()
    status, content_type, body = _raw(api, request_bytes)
    # Then it is a JSON 400 without a hang, and the function never sees a partial body
    assert status == 400 and content_type == "application/json"
    assert message in json.loads(body)["message"]
    assert front.invoked == []
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(("method", "path"), [("QUERY", "/echo"), ("FOO", "/echo"), ("POST", "/nowhere")])
def test_unknown_methods_and_routes_are_the_rest_apis_json_403(api: str, method: str, path: str) -> None:
    # When a method no route has, or a path no route has, is sent
    response = requests.request(method, f"{api}{path}", data=b"", timeout=30)
    # Then it is a REST API's JSON answer for a missing resource, never the stdlib's HTML 501
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"message": "Missing Authentication Token"}


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /echo HTTP/9.x\r\n\r\n", 400),
        (b"GET /echo HTTP/2.0\r\n\r\n", 505),
        (b"GET /echo\r\n\r\n", 400),  # HTTP/0.9, whose reply would have no status line
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
    ],
    ids=["bad-request-line", "bad-version", "http-2-over-text", "http-0.9", "target-too-long"],
)
def test_requests_the_http_parser_refuses_get_json(api: str, request_bytes: bytes, status: int) -> None:
    answered, content_type, body = _raw(api, request_bytes)
    assert answered == status and content_type == "application/json"
    assert json.loads(body)["message"]
