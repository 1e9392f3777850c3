"""The local API Gateway: HTTP requests become HTTP API (payload 2.0) events for the template's functions."""

import base64
import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from netremedy_local.runtime import Handler, LocalLambdaContext
from netremedy_local.template import LOCAL_ACCOUNT_ID, FunctionSpec, RouteSpec

# API Gateway's own limit on a request body.
MAX_BODY_BYTES = 10 * 1024 * 1024
# Locally there is no SigV4: this header stands in for the IAM principal API Gateway would have verified.
CALLER_HEADER = "x-netremedy-caller"


class _Route:
    def __init__(self, spec: RouteSpec, function: FunctionSpec, handler: Handler) -> None:
        self.spec = spec
        self.function = function
        self.handler = handler
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(spec.path))
        self.pattern = re.compile(f"^{pattern}$")
        # One Lambda execution environment handles one event at a time; so does this one.
        self.lock = threading.Lock()


class ApiFront:
    def __init__(
        self, routes: list[tuple[RouteSpec, FunctionSpec, Handler]], region: str, stack_name: str
    ) -> None:
        self.routes = [_Route(*route) for route in routes]
        self.region = region
        self.stack_name = stack_name

    def match(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        for route in self.routes:
            if route.spec.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None

    def event(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        route: _Route,
        path_parameters: dict[str, str],
        source_ip: str,
    ) -> dict[str, Any]:
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        now = datetime.now(UTC)
        lowered = {name.lower(): value for name, value in headers.items()}
        try:
            text, is_base64 = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode("ascii"), True
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": f"{route.spec.method} {route.spec.path}",
            "rawPath": parts.path,
            "rawQueryString": parts.query,
            "headers": {name.lower(): value for name, value in headers.items()},
            "queryStringParameters": query or None,
            "pathParameters": path_parameters or None,
            "requestContext": {
                "accountId": LOCAL_ACCOUNT_ID,
                "apiId": "local",
                "domainName": headers.get("Host", "localhost"),
                "domainPrefix": "local",
                "http": {
                    "method": method,
                    "path": parts.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": headers.get("User-Agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": f"{route.spec.method} {route.spec.path}",
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(time.time() * 1000),
            },
            "body": text if body else None,
            "isBase64Encoded": is_base64,
        }
        caller = lowered.get(CALLER_HEADER)
        if caller:
            event["requestContext"]["authorizer"] = {
                "iam": {"accountId": LOCAL_ACCOUNT_ID, "callerId": caller, "userArn": caller}
            }
        return event

    def invoke(self, route: _Route, event: dict[str, Any]) -> dict[str, Any]:
        context = LocalLambdaContext(route.function, self.region, self.stack_name)
        with route.lock:
            result: dict[str, Any] = route.handler(event, context)
        return result


def _json_error(message: str) -> bytes:
    return json.dumps({"message": message}).encode()


def make_server(front: ApiFront, host: str, port: int) -> ThreadingHTTPServer:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return  # the functions log each request themselves

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            sent = {name.lower() for name in (headers or {})}
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if "content-type" not in sent:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                self._send(413, _json_error(f"Request body is larger than {MAX_BODY_BYTES} bytes"))
                return
            body = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path
            matched = front.match(self.command, path)
            if matched is None:
                self._send(404, _json_error("Not Found"))
                return
            route, path_parameters = matched
            event = front.event(
                self.command,
                self.path,
                dict(self.headers.items()),
                body,
                route,
                path_parameters,
                self.client_address[0],
            )
            try:
                result = front.invoke(route, event)
            except Exception:  # a crashed function is a 500 from API Gateway, as in AWS  # noqa: BLE001
                self._send(500, _json_error("Internal Server Error"))
                return
            payload = result.get("body") or ""
            data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode("utf-8")
            headers = {name: str(value) for name, value in (result.get("headers") or {}).items()}
            headers.pop("Content-Length", None)
            self._send(int(result.get("statusCode", 200)), data, headers)

        # Every method reaches the router, so an unknown one is API Gateway's 404, not the stdlib's 501.
        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = _handle

    server = ThreadingHTTPServer((host, port), RequestHandler)
    server.daemon_threads = True
    return server
