"""boto3 clients, created once per container, all from one session.

The endpoint comes from the standard ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables that
botocore reads itself, so the same code talks to AWS, LocalStack or the embedded emulator.
"""

import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Fan-out sends SQS batches from a few threads; the default pool of 10 connections would serialise them.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)

# A session is not thread-safe (boto3's documentation); the clients it makes are. Clients are made one at a
# time under this lock, and then shared by every thread.
_SESSION_LOCK = threading.Lock()


@cache
def _session() -> boto3.session.Session:
    # One per process: each new session parses botocore's endpoint, partition and defaults data again. The
    # worker's three clients took 0.53 CPU-s from a session each and 0.24 from one (Python 3.12, this VM),
    # which every cold start pays.
    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    with _SESSION_LOCK:
        return _session().client(service, config=_CLIENT_CONFIG)


def clear_clients() -> None:
    """Forget every client and the session (tests that point the service at another endpoint or identity:
    a session keeps the credentials it found first)."""
    with _SESSION_LOCK:
        client.cache_clear()
        _session.cache_clear()


def error_code(exc: BaseException) -> str:
    """AWS's error code of a botocore error (e.g. ``ThrottlingException``), else the exception's type."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return exc.__class__.__name__
