"""What a fake transport answers the CLI: a JSON response to the request as it went on the wire."""

import json
from typing import Any

import requests


def json_response(request: requests.PreparedRequest, status: int, body: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    response.url = request.url or ""
    response.request = request
    return response
