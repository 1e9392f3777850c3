"""The local API Gateway's HTTP server: requests are routed and turned into events by ``api_gateway.ApiFront``
and answered with what the function returns."""

import base64
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from netremedy_local.api_gateway import ApiFront

# API Gateway's own limit on a request body.
MAX_BODY_BYTES = 10 * 1024 * 1024


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
