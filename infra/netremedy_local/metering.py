"""Counting the AWS API calls a local stack process makes (for the benchmarks), with botocore event hooks.

This module is the one place that instruments boto3: ``add_hook`` registers a botocore event handler on
every client the process creates from then on (the benchmark's billing meter, bench/_stack_meter, plugs in
here). ``install`` adds the call counter when ``LOCAL_METER_AWS_CALLS=1``: a ``before-parameter-build``
hook (it sees each call's parameters before serialisation) counts calls by operation, and writes that touch
a job row (sk "JOB"), flushed to ``<state dir>/aws-calls/<pid>.json`` every two seconds when they changed.
"""

import functools
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3.session

Hook = Callable[..., None]

_counts: Counter[str] = Counter()
FLUSH_INTERVAL_SECONDS = 2.0
_lock = threading.Lock()
_hooks: list[tuple[str, Hook]] = []
_instrumented = False


def _instrument() -> None:
    """Wrap boto3's client factory once per process, so that each new client gets every hook added."""
    global _instrumented
    if _instrumented:
        return
    _instrumented = True
    original = boto3.session.Session.client

    @functools.wraps(original)
    def client(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        created = original(self, *args, **kwargs)
        for event, handler in _hooks:
            created.meta.events.register(event, handler)
        return created

    boto3.session.Session.client = client


def add_hook(event: str, handler: Hook) -> None:
    """Register ``handler`` for botocore ``event`` on every boto3 client this process creates from now on."""
    _instrument()
    _hooks.append((event, handler))


def _job_row_writes(operation: str, params: dict[str, Any]) -> int:
    def is_job(key: dict[str, Any] | None) -> bool:
        return bool(key) and key.get("sk", {}).get("S") == "JOB"  # type: ignore[union-attr]

    if operation in ("UpdateItem", "PutItem", "DeleteItem"):
        return int(is_job(params.get("Key") or params.get("Item")))
    if operation == "TransactWriteItems":
        return sum(
            1
            for entry in params.get("TransactItems", [])
            for op in entry.values()
            if is_job(op.get("Key") or op.get("Item"))
        )
    return 0


def _count(model: Any, params: dict[str, Any], **_: Any) -> None:
    operation = f"{model.service_model.service_name}:{model.name}"
    with _lock:
        _counts[operation] += 1
        _counts["job_row_writes"] += _job_row_writes(model.name, params)


def install(state_dir: Path) -> None:
    if os.environ.get("LOCAL_METER_AWS_CALLS") != "1":
        return
    add_hook("before-parameter-build", _count)
    target = state_dir / "aws-calls" / f"{os.getpid()}.json"
    target.parent.mkdir(parents=True, exist_ok=True)

    def counts() -> dict[str, int]:
        with _lock:
            return dict(_counts)

    start_flushing(target, counts, "aws-call-meter")


def start_flushing(target: Path, snapshot: Callable[[], dict[str, Any]], name: str) -> None:
    """A daemon thread that writes ``snapshot()`` to ``target`` as JSON every FLUSH_INTERVAL_SECONDS, when it
    changed (each write costs the process CPU it is measured by), through a temporary file renamed over it
    (a reader never sees half a file). Used by this meter and by the benchmark's billing meter."""

    def flush() -> None:
        written: dict[str, Any] = {}
        while True:
            current = snapshot()
            if current != written:
                temporary = target.with_suffix(".tmp")
                temporary.write_text(json.dumps(current))
                temporary.replace(target)
                written = current
            time.sleep(FLUSH_INTERVAL_SECONDS)

    threading.Thread(target=flush, daemon=True, name=name).start()


def totals(state_dir: Path) -> Counter[str]:
    """Every process's counts added up."""
    summed: Counter[str] = Counter()
    for path in (state_dir / "aws-calls").glob("*.json"):
        try:
            summed.update(json.loads(path.read_text()))
        except ValueError:  # not expected (writes are atomic); the next flush replaces it
            continue
    return summed
