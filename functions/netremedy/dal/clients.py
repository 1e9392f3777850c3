"""boto3 clients, created once per container.

The endpoint comes from the standard ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables that
botocore reads itself, so the same code talks to AWS, LocalStack or the embedded emulator.
"""

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Fan-out sends SQS batches from a few threads; the default pool of 10 connections would serialise them.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)


@cache
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=_CLIENT_CONFIG)


def error_code(exc: BaseException) -> str:
    """AWS's error code of a botocore error (e.g. ``ThrottlingException``), else the exception's type."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return exc.__class__.__name__
