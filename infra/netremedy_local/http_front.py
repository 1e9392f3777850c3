"""The local API Gateway's HTTP server (Werkzeug's threaded server): ``api_gateway.ApiFront`` routes requests
and builds their events; this module reads requests, invokes the function and answers with what it returns,
within the limits API Gateway (REST API, Lambda proxy integration) and Lambda enforce, refused the way they
refuse them, so that what passes locally cannot fail on AWS for a size or time reason."""

import base64
import json
import logging
import threading
from concurrent.futures import Future, wait
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import urlsplit

from werkzeug.datastructures import Headers
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.http import parse_set_header
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler
from werkzeug.serving import make_server as make_wsgi_server
from werkzeug.wrappers import Request, Response

from netremedy_local.template import FunctionSpec

log = logging.getLogger(__name__)

# API Gateway's limit on a request body.
MAX_BODY_BYTES = 10 * 1024 * 1024
# Lambda's limit on a synchronous invocation's request (the event as JSON) and response. AWS allows 100 bytes
# more for a response; the stricter figure keeps "passes locally" meaning "passes on AWS".
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# A REST API's Lambda integration gives up after 29 s, whatever the function's own Timeout.
INTEGRATION_TIMEOUT_SECONDS = 29.0
# How long a request may leave the server waiting for bytes it announced (a Content-Length longer than the body).
READ_TIMEOUT_SECONDS = 5.0

# Methods whose requests carry a body: without Content-Length (and not chunked) the body's end is unknown.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Framing is the server's to set: the function's own values for these would describe a different message.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
_CLIENT_REQUEST = "netremedy.client_request"


class Front(Protocol):
    """What the server needs of ``api_gateway.ApiFront``: a route (with its ``.function``, a FunctionSpec) for a
    request, the route's event, and the function's answer to it."""

    def match(self, method: str, path: str) -> tuple[Any, dict[str, str]] | None: ...

    def event(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        route: Any,
        path_parameters: dict[str, str],
        source_ip: str,
    ) -> dict[str, Any]: ...

    def invoke(self, route: Any, event: dict[str, Any]) -> dict[str, Any]: ...


class _LimitedRequest(Request):
    # One byte more than the limit: Werkzeug ends a chunked stream at max_content_length without an error, so
    # an oversized chunked body shows only as a byte past the limit.
    max_content_length = MAX_BODY_BYTES + 1


def _message(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """API Gateway's own error shape."""
    return Response(
        json.dumps({"message": message}), status=status, headers=headers, content_type="application/json"
    )


# API Gateway's answers where the function's answer cannot be used, as AWS words them.
def _internal_server_error() -> Response:
    return _message(502, "Internal server error")


def _body_too_large() -> Response:
    # Not JSON on AWS either: the front end refuses the body before API Gateway's error responses apply.
    return Response(
        f"HTTP content length exceeded {MAX_BODY_BYTES} bytes.",
        status=413,
        content_type="text; charset=utf-8",
    )


def _payload_size(document: Any) -> int:
    """Bytes of a Lambda payload: JSON with non-ASCII text as UTF-8, as the Python 3.12 runtime serializes a
    handler's result (awslambdaric's marshaller sets ``ensure_ascii=False`` for python3.12)."""
    return len(json.dumps(document, ensure_ascii=False).encode("utf-8"))


def _framing_error(environ: dict[str, Any]) -> Response | None:
    """A request whose body's length is unknown or not a length is refused before anything reads it."""
    if "chunked" in parse_set_header(environ.get("HTTP_TRANSFER_ENCODING")):
        return None
    length = environ.get("CONTENT_LENGTH")
    if length is None:
        if environ["REQUEST_METHOD"] in _BODY_METHODS:
            return _message(400, "Content-Length is required (or Transfer-Encoding: chunked)")
        return None
    if not (length.isascii() and length.strip().isdigit()):
        return _message(400, "Content-Length must be a non-negative number of bytes")
    return None


def _proxy_response(result: Any) -> Response:
    """The HTTP response API Gateway makes of a Lambda proxy integration's result; TypeError or ValueError for
    a result it cannot use (API Gateway's "malformed Lambda proxy response")."""
    if not isinstance(result, dict):
        raise TypeError("the result is not an object")
    status = result.get("statusCode")
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError("statusCode is not an HTTP status")
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise TypeError("body is not a string")
    data = base64.b64decode(body, validate=True) if result.get("isBase64Encoded") else body.encode("utf-8")
    # API Gateway sends both maps; a name in multiValueHeaders replaces the same name in headers.
    single = {str(name): [value] for name, value in (result.get("headers") or {}).items()}
    multi = {str(name): list(values) for name, values in (result.get("multiValueHeaders") or {}).items()}
    headers = Headers()
    for name, values in (single | multi).items():
        if name.lower() not in _FRAMING_HEADERS:
            for value in values:
                headers.add(name, str(value))
    headers.setdefault("Content-Type", "application/json")  # a REST API's default for proxy responses
    return Response(data, status=status, headers=headers)


class _Gateway:
    """The WSGI application: one request in, API Gateway's answer out."""

    def __init__(self, front: Front, integration_timeout: float) -> None:
        self.front = front
        self.integration_timeout = integration_timeout

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        try:
            response = self._answer(environ)
        except Exception as exc:  # a fault of the local gateway itself, not of the function  # noqa: BLE001
            log.error("local API Gateway failed on %s: %s", environ.get("REQUEST_METHOD"), type(exc).__name__)
            response = _message(500, "Internal server error")
        return response(environ, start_response)

    def _answer(self, environ: dict[str, Any]) -> Response:
        refusal = _framing_error(environ)
        if refusal is not None:
            return refusal
        try:
            body = _LimitedRequest(environ).get_data(cache=False)
        except RequestEntityTooLarge:
            return _body_too_large()
        except ClientDisconnected:
            # Fewer bytes than announced arrived before the read timeout, or a chunk was malformed: the
            # function never sees a partial body.
            return _message(400, "The request body is incomplete or its chunked encoding is malformed")
        if len(body) > MAX_BODY_BYTES:
            return _body_too_large()
        method = environ["REQUEST_METHOD"]
        target, headers = environ[_CLIENT_REQUEST]
        matched = self.front.match(method, urlsplit(target).path)
        if matched is None:
            # A REST API answers a path or method it does not have with 403, signed or not.
            return _message(403, "Missing Authentication Token")
        route, path_parameters = matched
        event = self.front.event(
            method, target, headers, body, route, path_parameters, environ.get("REMOTE_ADDR", "")
        )
        if _payload_size(event) > MAX_PAYLOAD_BYTES:
            # Lambda refuses the invocation; the function does not run.
            return _message(413, "Request Too Long", {"x-amzn-ErrorType": "BadRequestException"})
        return self._invoke(route, event)

    def _invoke(self, route: Any, event: dict[str, Any]) -> Response:
        function: FunctionSpec = route.function
        outcome: Future[dict[str, Any]] = Future()

        def run() -> None:
            try:
                outcome.set_result(self.front.invoke(route, event))
            except BaseException as exc:  # whatever the handler raises fails the invocation  # noqa: BLE001
                outcome.set_exception(exc)

        # A thread of its own, so that the answer can go out at the deadline while the handler still runs
        # (Python cannot stop it; on AWS the execution environment would be discarded).
        threading.Thread(target=run, daemon=True, name=f"invoke-{function.logical_id}").start()
        done, _ = wait([outcome], timeout=min(self.integration_timeout, function.timeout))
        if not done:
            if self.integration_timeout <= function.timeout:
                return _message(504, "Endpoint request timed out")
            log.warning("%s timed out after %s s (its Timeout)", function.logical_id, function.timeout)
            return _internal_server_error()
        failure = outcome.exception()
        if failure is not None:
            # The type only: exception messages may quote configuration text.
            log.warning("%s failed: %s", function.logical_id, type(failure).__name__)
            return _internal_server_error()
        result = outcome.result()
        try:
            size = _payload_size(result)
            response = _proxy_response(result)
        except (TypeError, ValueError) as exc:
            log.warning("%s returned a response API Gateway cannot use: %s", function.logical_id, exc)
            return _internal_server_error()
        if size > MAX_PAYLOAD_BYTES:
            log.warning("%s returned %d bytes, over Lambda's response limit", function.logical_id, size)
            return _internal_server_error()
        return response


class _RequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    # Applies to every read of the connection: a body that stops arriving ends in a 400, not a hung thread.
    timeout = READ_TIMEOUT_SECONDS

    def make_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().make_environ()
        # The target and headers as the client sent them, for the event (the WSGI environ has the decoded path
        # and CGI-style header names, without headers whose names hold "_").
        environ[_CLIENT_REQUEST] = (self.path, dict(self.headers.items()))
        return environ

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        # API Gateway speaks HTTP/1.x and 2, whose replies have a status line and headers.
        if self.request_version == "HTTP/0.9":
            self.send_error(HTTPStatus.BAD_REQUEST, "HTTP/0.9 requests are not supported")
            return False
        return True

    def handle_expect_100(self) -> bool:
        return True  # Werkzeug sends "100 Continue" itself when it runs the request; once is enough

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's own refusals (bad request line, unsupported HTTP version, header lines too
        long) as JSON, like every other error, instead of its HTML page."""
        status = HTTPStatus(code)
        body = json.dumps({"message": message or status.phrase}).encode()
        self.close_connection = True
        # A request line that did not parse leaves the version at HTTP/0.9, which would suppress the status line.
        self.request_version = self.protocol_version
        self.send_response(code, status.phrase)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def log(self, type: str, message: str, *args: Any) -> None:
        return  # the functions log each request themselves


def make_server(
    front: Front,
    host: str,
    port: int,
    *,
    integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
    read_timeout: float = READ_TIMEOUT_SECONDS,
) -> BaseWSGIServer:
    """A threaded server (one thread per connection) for ``serve_forever()`` in a thread; ``shutdown()`` and
    ``server_close()`` stop it. The timeouts are API Gateway's unless a test needs shorter ones."""

    class RequestHandler(_RequestHandler):
        timeout = read_timeout

    return make_wsgi_server(
        host, port, _Gateway(front, integration_timeout), threaded=True, request_handler=RequestHandler
    )
