"""The local API Gateway's routing and events: which template function a request goes to, and the event API
Gateway would send it. The HTTP server itself is ``http_front``."""

import base64
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from netremedy_local.runtime import Handler, LocalLambdaContext
from netremedy_local.template import LOCAL_ACCOUNT_ID, FunctionSpec, RouteSpec

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
