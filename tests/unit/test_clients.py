"""netremedy.dal.clients: one botocore session per process, clients made one at a time from it."""

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from netremedy.dal import clients


@pytest.fixture
def fresh_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    clients.clear_clients()
    yield
    clients.clear_clients()


def test_every_service_comes_from_one_session_and_each_client_is_made_once(
    fresh_clients: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[boto3.session.Session] = []
    original_init = boto3.session.Session.__init__

    def counting_init(self: boto3.session.Session, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "__init__", counting_init)

    dynamodb, sqs, s3 = clients.client("dynamodb"), clients.client("sqs"), clients.client("s3")

    assert len(made) == 1
    assert [c.meta.service_model.service_name for c in (dynamodb, sqs, s3)] == ["dynamodb", "sqs", "s3"]
    assert clients.client("dynamodb") is dynamodb
    # The pool the fan-out's sending threads need, on every client.
    assert dynamodb.meta.config.max_pool_connections == sqs.meta.config.max_pool_connections == 32


def test_clearing_makes_a_new_session_that_reads_the_environment_again(
    fresh_clients: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = clients.client("sqs")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "other-key")

    assert clients.client("sqs") is first  # a container's clients are kept...
    clients.clear_clients()
    second = clients.client("sqs")

    # ...until cleared: then the endpoint and the credentials are the environment's new ones.
    assert second is not first
    assert second.meta.endpoint_url == "http://127.0.0.1:4566"
    assert second._request_signer._credentials.access_key == "other-key"


def test_threads_never_make_clients_from_the_session_at_the_same_time(
    fresh_clients: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A botocore session is not thread-safe: whatever the threads ask for, one client is made at a time.
    inside = 0
    most_inside = 0
    counter_lock = threading.Lock()
    original_client = boto3.session.Session.client

    def slow_client(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        nonlocal inside, most_inside
        with counter_lock:
            inside += 1
            most_inside = max(most_inside, inside)
        time.sleep(0.05)  # long enough for every other thread to arrive while this one is inside
        try:
            return original_client(self, *args, **kwargs)
        finally:
            with counter_lock:
                inside -= 1

    monkeypatch.setattr(boto3.session.Session, "client", slow_client)
    start = threading.Barrier(6)
    got: list[Any] = []

    def ask(service: str) -> None:
        start.wait()
        got.append(clients.client(service))

    threads = [threading.Thread(target=ask, args=(s,)) for s in ("dynamodb", "sqs", "s3") * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(got) == 6
    assert most_inside == 1
    assert {c.meta.service_model.service_name for c in got} == {"dynamodb", "sqs", "s3"}
