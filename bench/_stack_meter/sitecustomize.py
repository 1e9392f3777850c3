"""Billing-unit meter for the benchmark's local stack (loaded into every stack process via PYTHONPATH).

It does nothing unless ``BENCH_METER_DIR`` is set. Then every boto3 client the process creates gets botocore
event hooks that add up, per process, what AWS bills rather than what the code calls:

- SQS: messages sent per queue, requests in 64 KiB chunks (SQS bills each 64 KiB of a request's payload as
  one request), receives that came back empty, messages received;
- DynamoDB: estimated write and read request units from the item sizes (1 KiB per WRU, 4 KiB per strongly
  consistent RRU, half for eventually consistent reads, twice for transactions);
- S3: requests by price tier (PUT/COPY/POST/LIST and GET/HEAD);
- EventBridge: events put, in 64 KiB chunks as billed;
- Lambda invocations of the queue-driven functions: the time from a poller's non-empty ReceiveMessage to
  its next DeleteMessageBatch or ReceiveMessage is one invocation of the handler, whose duration Lambda
  bills;
- where the time goes in the worker, create_job and write-back handlers: each handler's time, the worker's
  compute_remediation calls (timed by wrapping them as they are imported) and the AWS calls each handler
  makes (timed by the hooks); with ``BENCH_PROFILE=worker,create_job,write_back`` those handlers are also
  run under cProfile;
- the worker's CPU time split into parts (parse, remediation, rollback, text, validation, JSON/pydantic, AWS
  calls by operation, Powertools, freeing the trees, garbage collection, the service's own code), each part's own time without the parts it calls,
  and the pollers' CPU outside the handler (receiving and deleting SQS messages, which on AWS the event
  source mapping does unbilled).

Counts are written to ``$BENCH_METER_DIR/<pid>.json`` as the repository's meter writes its own
(``metering.start_flushing``: every two seconds, when they changed). The hooks are plugged into the
repository's meter (netremedy_local.metering, the one place that instruments boto3), whose own call counter
(``LOCAL_METER_AWS_CALLS``) runs alongside; sizes are measured as AWS measures them
(netremedy_local.aws_limits).
"""

import functools
import gc
import math
import os
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from netremedy_local import metering
from netremedy_local.aws_limits import dynamodb_item_size, events_entry_size, sqs_message_size

_DIR = os.environ.get("BENCH_METER_DIR")

# Re-entrant: the garbage collector's callback (_gc_callback) may run while this thread holds it.
_lock = threading.RLock()
_units: dict[str, float] = defaultdict(float)
_invocation: dict[str, Any] = {}  # the open invocation of this (poller) process: queue and start time


def _add(key: str, value: float = 1.0) -> None:
    _units[key] += value


def _queue_name(url: str | None) -> str:
    return (url or "?").rstrip("/").rsplit("/", 1)[-1]


def _wru(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _rru(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


def _dynamodb_writes(operation: str, params: dict[str, Any]) -> None:
    if operation == "PutItem":
        _add("dynamodb:wru", _wru(dynamodb_item_size(params.get("Item"))))
    elif operation in ("UpdateItem", "DeleteItem"):
        # The new or old item's size is not in the request; the rows updated here are job rows, well under 1 KiB.
        _add("dynamodb:wru", 1)
    elif operation == "TransactWriteItems":
        for entry in params.get("TransactItems", []):
            for kind, body in entry.items():
                size = dynamodb_item_size(body.get("Item")) if kind == "Put" else 0
                _add("dynamodb:wru", 2 * _wru(size))
                _add("dynamodb:transact_entries")
    elif operation == "BatchWriteItem":
        for requests in params.get("RequestItems", {}).values():
            for request in requests:
                _add("dynamodb:wru", _wru(dynamodb_item_size(request.get("PutRequest", {}).get("Item"))))


def _dynamodb_reads(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        _add("dynamodb:rru", _rru(dynamodb_item_size(parsed.get("Item")), consistent))
    elif operation in ("Query", "Scan"):
        _add(
            "dynamodb:rru",
            _rru(sum(dynamodb_item_size(item) for item in parsed.get("Items", [])), consistent),
        )
    elif operation == "BatchGetItem":
        for items in parsed.get("Responses", {}).values():
            for item in items:
                _add("dynamodb:rru", _rru(dynamodb_item_size(item), consistent))
    elif operation == "TransactGetItems":
        for response in parsed.get("Responses", []):
            _add("dynamodb:rru", 2 * _rru(dynamodb_item_size(response.get("Item")), True))


# --- SQS ------------------------------------------------------------------------------------------------


def _chunks(payload_bytes: int) -> int:
    return max(1, math.ceil(payload_bytes / 65536))


def _close_invocation(now: float) -> None:
    if _invocation:
        queue = _invocation.pop("queue")
        started = _invocation.pop("started")
        _add(f"lambda:{queue}:invocations")
        _add(f"lambda:{queue}:seconds", now - started)


def _sqs_before(operation: str, params: dict[str, Any]) -> None:
    queue = _queue_name(params.get("QueueUrl"))
    if operation == "SendMessageBatch":
        entries = params.get("Entries", [])
        payload = sum(sqs_message_size(e.get("MessageBody", ""), e.get("MessageAttributes")) for e in entries)
        _add(f"sqs:{queue}:sent_messages", len(entries))
        _add("sqs:requests_64k", _chunks(payload))
    elif operation == "SendMessage":
        payload = sqs_message_size(params.get("MessageBody", ""), params.get("MessageAttributes"))
        _add(f"sqs:{queue}:sent_messages")
        _add("sqs:requests_64k", _chunks(payload))
    elif operation in ("DeleteMessageBatch", "DeleteMessage", "ReceiveMessage"):
        _close_invocation(time.perf_counter())
        if operation != "ReceiveMessage":
            _add("sqs:requests_64k")
    else:
        _add("sqs:requests_64k")


def _sqs_after(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
    if operation != "ReceiveMessage":
        return
    queue = _queue_name(params.get("QueueUrl"))
    messages = parsed.get("Messages") or []
    payload = sum(len(m.get("Body", "").encode("utf-8")) for m in messages)
    _add("sqs:requests_64k", _chunks(payload))
    if not messages:
        _add(f"sqs:{queue}:empty_receives")
        return
    _add(f"sqs:{queue}:receives")
    _add(f"sqs:{queue}:received_messages", len(messages))
    _invocation.update(queue=queue, started=time.perf_counter())


# --- S3 -------------------------------------------------------------------------------------------------

_S3_GET_TIER = {"GetObject", "HeadObject", "GetObjectTagging", "HeadBucket"}
_S3_FREE = {"DeleteObject", "DeleteObjects"}


def _s3_before(operation: str) -> None:
    if operation in _S3_GET_TIER:
        _add("s3:get_tier_requests")
    elif operation not in _S3_FREE:
        _add("s3:put_tier_requests")


# --- hooks ----------------------------------------------------------------------------------------------


def _before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    service, operation = model.service_model.service_name, model.name
    context["bench_params"] = params
    if _current:  # the call's time is charged to the handler running in this process
        context["bench_timed"] = (f"{_current[-1]}:aws_seconds:{service}:{operation}", time.perf_counter())
    frame = _enter(f"aws:{service}:{operation}")
    if frame is not None:
        context["bench_cpu_frame"] = frame
    with _lock:
        _add(f"calls:{service}:{operation}")
        if service == "dynamodb":
            _dynamodb_writes(operation, params)
        elif service == "sqs":
            _sqs_before(operation, params)
        elif service == "s3":
            _s3_before(operation)
        elif service == "events" and operation == "PutEvents":
            for entry in params.get("Entries", []):
                _add("events:billed_events", _chunks(events_entry_size(entry)))


def _time_call(context: dict[str, Any], **_: Any) -> None:
    """Also the ``after-call-error`` hook: a call that raised (its retries spent) took its time too."""
    frame = context.pop("bench_cpu_frame", None)
    if frame is not None:
        _leave(frame)
    timed = context.pop("bench_timed", None)
    if timed is not None:
        key, started = timed
        with _lock:
            _add(key, time.perf_counter() - started)


def _after(http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    _time_call(context)
    service, operation = model.service_model.service_name, model.name
    params = context.get("bench_params") or {}
    if not isinstance(parsed, dict) or "Error" in parsed and parsed.get("Error"):
        return
    with _lock:
        if service == "dynamodb":
            _dynamodb_reads(operation, params, parsed)
        elif service == "sqs":
            _sqs_after(operation, params, parsed)


# --- where the handlers' time goes ---------------------------------------------------------------------
#
# A few handlers and the worker's hier_config computation are timed by wrapping them as their modules are
# imported (wall time: what Lambda bills, waits included), the AWS calls each handler makes by the hooks,
# from parameter build to the parsed answer or the error, retries included. AWS call time is summed over the
# handler's threads (the fan-out sends from 8), so it can exceed the handler's time.

_TIMED_HANDLERS = {
    "netremedy.handlers.remediate_devices": "worker",
    "netremedy.handlers.create_job": "create_job",
    "netremedy.handlers.write_back_results": "write_back",
    "netremedy.handlers.fan_out_jobs": "fan_out",
    "netremedy.handlers.job_results": "job_results",
}
_COMPUTE_MODULE = "netremedy.logic.worker"
_MODEL_MODULES = ("api", "drops", "items", "match_rules", "messages", "options", "risks", "settings")
_current: list[str] = []  # the handler running in this process (one at a time per timed handler here)


_PROFILED = set(filter(None, os.environ.get("BENCH_PROFILE", "").split(",")))


def _profiled(label: str, handler: Any) -> Any:
    """cProfile every call of the handler (its own thread only), the stats dumped after each call."""
    import cProfile

    profiler = cProfile.Profile()
    target = Path(_DIR or ".") / f"profile-{label}-{os.getpid()}.pstats"

    def profiled(event: Any, context: Any) -> Any:
        profiler.enable()
        try:
            return handler(event, context)
        finally:
            profiler.disable()
            profiler.dump_stats(target)

    return profiled


def _timed_handler(label: str, handler: Any) -> Any:
    if label in _PROFILED:
        handler = _profiled(label, handler)
    # The worker's handler runs on its poller's main thread and starts no thread of its own: thread_time is
    # its CPU alone (process_time would add the two meters' flush threads). create_job and the write-back
    # send from thread pools, whose CPU only process_time sees.
    clock = time.thread_time if label == "worker" else time.process_time

    def timed(event: Any, context: Any) -> Any:
        started, cpu_started = time.perf_counter(), clock()
        _current.append(label)
        root = _Frame(_WORKER_ROOT)
        if label == "worker":
            _frames.stack = [root]
        try:
            return handler(event, context)
        finally:
            if label == "worker":
                _leave(root)
                _frames.stack = []
            _current.remove(label)
            with _lock:
                _add(f"{label}:invocations")
                _add(f"{label}:records", len(event.get("Records", []) or []))
                _add(f"{label}:handler_seconds", time.perf_counter() - started)
                _add(f"{label}:handler_cpu_seconds", clock() - cpu_started)

    return timed


def _timed_compute(compute: Any) -> Any:
    """Wall and CPU time of compute_remediation (on the handler's thread: wall minus CPU is time spent
    waiting for a core)."""

    def timed(*args: Any, **kwargs: Any) -> Any:
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            return compute(*args, **kwargs)
        finally:
            with _lock:
                _add("worker:compute_seconds", time.perf_counter() - started)
                _add("worker:compute_cpu_seconds", time.thread_time() - cpu_started)
                _add("worker:compute_calls")

    return timed


# --- the worker's CPU, part by part ---------------------------------------------------------------------
#
# Functions are wrapped as their modules are imported; each part's CPU (thread_time, see _timed_handler) is
# its own, without the parts it calls (a text conversion inside compute_remediation, pydantic inside the
# counting code, an AWS call inside a claim check), so the parts add up to the handler's CPU. What is in no
# part (Powertools' decorators, the handler's own lines, the meter's own cost) is the root's: unattributed.

_WORKER_ROOT = "unattributed"
# The service's pydantic models count as JSON only when the service's code uses them; inside another part
# (hier_config's options, an AWS call) they are part of that work.
_JSON_CALLERS = {_WORKER_ROOT, "netremedy", "powertools"}
_frames = threading.local()


class _Frame:
    __slots__ = ("label", "nested", "started")

    def __init__(self, label: str) -> None:
        self.label, self.started, self.nested = label, time.thread_time(), 0.0


def _enter(label: str) -> _Frame | None:
    """A new part open on this thread, or None outside the worker's handler."""
    stack = getattr(_frames, "stack", None)
    if not stack or label == "json" and stack[-1].label not in _JSON_CALLERS:
        return None
    frame = _Frame(label)
    stack.append(frame)
    return frame


def _leave(frame: _Frame) -> None:
    stack = getattr(_frames, "stack", None)
    if not stack or not any(open_frame is frame for open_frame in stack):
        return
    while stack[-1] is not frame:  # left open (an AWS call that failed before botocore's after-call): dropped
        stack.pop()
    stack.pop()
    elapsed = time.thread_time() - frame.started
    with _lock:
        _add(f"worker:cpu:{frame.label}", elapsed - frame.nested)
    if stack:
        stack[-1].nested += elapsed


def _part(label: str, function: Any) -> Any:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        frame = _enter(label)
        if frame is None:
            return function(*args, **kwargs)
        try:
            return function(*args, **kwargs)
        finally:
            _leave(frame)

    return timed


def _gc_callback(phase: str, info: dict[str, Any]) -> None:
    """A collection runs on the thread that triggered it, inside whatever part was running: a part of its
    own, to tell allocation-heavy work from the collector's cost in a big process."""
    if phase == "start":
        _frames.gc = _enter("gc")
    elif (frame := getattr(_frames, "gc", None)) is not None:
        _frames.gc = None
        _leave(frame)


def _patch_remediation(module: Any) -> None:
    """hier_config's steps as netremedy.logic.remediation calls them."""
    for name, label in (
        ("get_hconfig", "parse"),
        ("check_device_configs", "validation"),
        ("evaluate_risks", "validation"),
        ("_as_text", "text"),
        ("_config_text", "text"),
        ("unlink_trees", "free"),
    ):
        setattr(module, name, _part(label, getattr(module, name)))
    workflow = module.WorkflowRemediation
    for name in ("remediation_config", "rollback_config"):  # properties, computed on first access
        setattr(workflow, name, property(_part(name.split("_")[0], getattr(workflow, name).fget)))


def _patch_models(module: Any) -> None:
    """The service's pydantic models (hier_config's own are left alone: wrapping every BaseModel would tax
    its parsing too): construction, validation, dumps and copies."""
    from pydantic import BaseModel

    for model in vars(module).values():
        if not (
            isinstance(model, type) and issubclass(model, BaseModel) and model.__module__ == module.__name__
        ):
            continue
        for name in ("__init__", "model_dump", "model_dump_json", "model_copy"):
            method = getattr(model, name)
            if not getattr(method, "_bench_json", False):  # a base class of the service's has it already
                setattr(model, name, _json_part(method))
        for name in ("model_validate", "model_validate_json"):
            function = getattr(model, name).__func__
            if not getattr(function, "_bench_json", False):
                setattr(model, name, classmethod(_json_part(function)))


def _json_part(function: Any) -> Any:
    timed = _part("json", function)
    timed._bench_json = True
    return timed


def _patch_worker_handler(module: Any) -> None:
    """What the handler module holds, if it does (a part missing from the code is simply not measured)."""
    processor = getattr(module, "processor", None)  # Powertools' BatchProcessor, where the handler uses it
    if processor is not None:
        for name in ("__call__", "__enter__", "__exit__", "process", "response"):
            setattr(type(processor), name, _part("powertools", getattr(type(processor), name)))
    # The records' formatting and output (JSON); wrapping logger.info itself would move the "location" the
    # records name to this file.
    inner = getattr(module.logger, "_logger", None)
    if inner is not None:
        inner.handle = _part("powertools", inner.handle)
    module.metrics.flush_metrics = _part("powertools", module.metrics.flush_metrics)
    for name, label in (
        ("count_devices", "powertools"),
        ("_remediate_record", "netremedy"),
        ("record_results", "netremedy"),
    ):
        if hasattr(module, name):
            setattr(module, name, _part(label, getattr(module, name)))


def _patch_boto3(module: Any) -> None:
    """Creating a client (once per container, on first use) is AWS work too, apart from the calls."""
    module.Session.client = _part("aws:create_client", module.Session.client)


def _patch_poller(module: Any) -> None:
    """CPU of each poll outside the handler: receiving, building the event, deleting (on AWS the event source
    mapping's, unbilled), split into polls that received messages and empty ones."""
    poll_once = module.poll_once

    def timed(config: Any, *args: Any, **kwargs: Any) -> int:
        started = time.thread_time()
        received: int = poll_once(config, *args, **kwargs)
        kind = "busy" if received else "idle"
        with _lock:
            _add(f"poller:{config.function.logical_id}:{kind}_cpu_seconds", time.thread_time() - started)
            _add(f"poller:{config.function.logical_id}:{kind}_polls")
        return received

    module.poll_once = timed


def _patch_handler(label: str) -> Any:
    def patch(module: Any) -> None:
        if label == "worker":
            _patch_worker_handler(module)
        module.handler = _timed_handler(label, module.handler)

    return patch


def _patch_compute(module: Any) -> None:
    if hasattr(module, "compute_remediation"):
        # Inside compute_remediation but in no named part: hier_config's workflow set-up, line ordering.
        module.compute_remediation = _timed_compute(_part("hier_config_other", module.compute_remediation))


class _AfterImport:
    """A meta path finder that runs a callback on a module right after the module has executed."""

    def __init__(self, callbacks: dict[str, Any]) -> None:
        self.callbacks = callbacks

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in self.callbacks:
            return None
        import importlib.util
        import sys

        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        execute, callback = spec.loader.exec_module, self.callbacks[name]

        def exec_module(module: Any) -> None:
            execute(module)
            callback(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _install(directory: Path) -> None:
    import sys

    callbacks = {module: _patch_handler(label) for module, label in _TIMED_HANDLERS.items()}
    callbacks |= {
        _COMPUTE_MODULE: _patch_compute,
        "netremedy.logic.remediation": _patch_remediation,
        **{f"netremedy.models.{name}": _patch_models for name in _MODEL_MODULES},
        "netremedy_local.pollers": _patch_poller,
    }
    _patch_boto3(sys.modules["boto3.session"])  # imported already, by netremedy_local.metering
    gc.callbacks.append(_gc_callback)
    sys.meta_path.insert(0, _AfterImport(callbacks))
    metering.add_hook("before-parameter-build", _before)
    metering.add_hook("after-call", _after)
    metering.add_hook("after-call-error", _time_call)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{os.getpid()}.json"

    def units() -> dict[str, float]:
        with _lock:
            return dict(_units)

    metering.start_flushing(target, units, "bench-billing-meter")


if _DIR:
    _install(Path(_DIR))
