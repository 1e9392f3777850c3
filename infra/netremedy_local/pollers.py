"""Lambda's SQS event source mapping, locally: poll the queue, hand the worker a batch, delete what it
finished and leave the rest (``batchItemFailures``) to come back after the visibility timeout. An
invocation that runs past the function's Timeout is ended and failed, as Lambda does: nothing of its batch
is deleted."""

import hashlib
import logging
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from netremedy_local import metering
from netremedy_local.runtime import LocalLambdaContext, failure_summary, invocation_deadline, load_handler
from netremedy_local.template import FunctionSpec

log = logging.getLogger("netremedy_local.pollers")


@dataclass(frozen=True)
class PollerConfig:
    function: FunctionSpec
    environment: dict[str, str]
    queue_url: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool
    region: str
    stack_name: str
    state_dir: str = ".local"
    # The function's role credentials (iam.RoleSession.environment), as Lambda sets them; none with IAM off.
    role_environment: dict[str, str] = field(default_factory=dict)


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def messages_to_delete(
    messages: list[dict[str, Any]], response: Any, report_batch_item_failures: bool
) -> list[dict[str, Any]]:
    """Which messages the invocation finished, by Lambda's rules for partial batch responses."""
    if not report_batch_item_failures or not isinstance(response, dict):
        return messages
    failures = response.get("batchItemFailures") or []
    failed_ids = {failure.get("itemIdentifier") for failure in failures}
    known_ids = {message["MessageId"] for message in messages}
    if not failed_ids <= known_ids:
        return []  # an unknown or empty identifier fails the whole batch, as in AWS
    return [message for message in messages if message["MessageId"] not in failed_ids]


def poll_once(config: PollerConfig, sqs: Any, handler: Any, wait_seconds: int = 1) -> int:
    """Receive one batch, invoke the handler, delete what it finished; the number of messages received."""
    received = sqs.receive_message(
        QueueUrl=config.queue_url,
        MaxNumberOfMessages=config.batch_size,
        WaitTimeSeconds=wait_seconds,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    messages = received.get("Messages", [])
    if not messages:
        return 0
    context = LocalLambdaContext(config.function, config.region, config.stack_name)
    # An invocation error or timeout: every message returns after the visibility timeout.
    response: Any = None
    try:
        with invocation_deadline(config.function.timeout) as invocation:
            response = handler(sqs_event(messages, config.queue_arn, config.region), context)
    except Exception as exc:  # noqa: BLE001
        log.warning(
            "%s failed on a batch of %d: %s", config.function.logical_id, len(messages), failure_summary(exc)
        )
        return len(messages)
    if invocation.timed_out:
        log.warning(
            "%s timed out after %d s on a batch of %d; none is deleted",
            config.function.logical_id,
            config.function.timeout,
            len(messages),
        )
        return len(messages)
    done = messages_to_delete(messages, response, config.report_batch_item_failures)
    for start in range(0, len(done), 10):
        chunk = done[start : start + 10]
        sqs.delete_message_batch(
            QueueUrl=config.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
        )
    return len(messages)


def _run(config: PollerConfig, stop: Any, ready: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    os.environ.update(config.environment)
    os.environ.update(config.role_environment)  # the poller receives and deletes as the function's role too
    metering.install(Path(config.state_dir))
    handler = load_handler(config.function.handler)
    sqs = boto3.client("sqs", region_name=config.region)
    # Set before stop is first read: a pool stopping now either sees this poller ready (and waits for it)
    # or terminates it before it can have received anything.
    ready.set()
    while not stop.is_set():
        try:
            poll_once(config, sqs, handler)
        except Exception as exc:  # emulator restarting or unreachable: keep polling, like Lambda does  # noqa: BLE001
            log.warning("poller error: %s", type(exc).__name__)
            time.sleep(1)


class PollerPool:
    """One process per poller so that hier_config, which is CPU-bound, can use every core."""

    def __init__(self, configs: list[PollerConfig], processes_per_source: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._ready: list[Any] = []
        self._processes = []
        for config in configs:
            for i in range(processes_per_source):
                ready = context.Event()
                self._ready.append(ready)
                self._processes.append(
                    context.Process(
                        target=_run,
                        args=(config, self._stop, ready),
                        name=f"poller-{config.function.logical_id}-{i}",
                        daemon=True,
                    )
                )

    def start(self) -> None:
        for process in self._processes:
            process.start()

    def alive(self) -> bool:
        return all(process.is_alive() for process in self._processes)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        # A poller still importing its handler holds no message: it is ended at once rather than waited for
        # (on a loaded machine that start takes seconds, and every stack stop waited out the whole timeout).
        for process, ready in zip(self._processes, self._ready, strict=True):
            if process.is_alive() and not ready.is_set():
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in self._processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.terminate()
                process.join(1)
