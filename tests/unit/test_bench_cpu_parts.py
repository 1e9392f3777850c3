"""The bench meter's worker CPU parts (bench/_stack_meter): each part counts its own CPU without the parts it
calls, so the parts add up to the handler's CPU, and nothing is counted outside the worker's handler."""

import importlib.util
import time
from pathlib import Path
from types import ModuleType
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _meter() -> ModuleType:
    """A fresh copy of the meter, loaded without installing its hooks (BENCH_METER_DIR unset)."""
    spec = importlib.util.spec_from_file_location(
        "bench_stack_meter_parts", PROJECT_ROOT / "bench" / "_stack_meter" / "sitecustomize.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _burn(seconds: float) -> None:
    """Spend about ``seconds`` of this thread's CPU."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def _worker_handler(meter: ModuleType, body: Any) -> Any:
    """The meter's timing around a stand-in for the worker's handler, as the import hook installs it."""

    def handler(event: Any, context: Any) -> None:
        body()

    return meter._timed_handler("worker", handler)


def test_nested_parts_count_their_own_cpu_and_add_up_to_the_handlers() -> None:
    # Given a handler that parses (with a pydantic call inside), computes a remediation that converts text,
    # and makes an "AWS call"
    meter = _meter()
    parse = meter._part("parse", lambda: (_burn(0.02), meter._part("json", lambda: _burn(0.01))()))
    text = meter._part("text", lambda: _burn(0.02))
    remediation = meter._part("remediation", lambda: (_burn(0.03), text()))

    def body() -> None:
        parse()
        remediation()
        frame = meter._enter("aws:dynamodb:GetItem")
        _burn(0.01)
        meter._leave(frame)
        _burn(0.01)  # in no part

    # When it runs once
    _worker_handler(meter, body)({"Records": [{}]}, None)

    # Then each part holds its own CPU: remediation without the text it called, parse with the pydantic call
    # made inside it (hier_config's work, not the service's JSON)
    parts = {k.split(":", 2)[2]: v for k, v in meter._units.items() if k.startswith("worker:cpu:")}
    assert set(parts) == {"parse", "remediation", "text", "aws:dynamodb:GetItem", "unattributed"}
    assert 0.028 <= parts["parse"] < 0.04
    assert 0.028 <= parts["remediation"] < 0.04
    assert 0.018 <= parts["text"] < 0.03
    assert 0.009 <= parts["aws:dynamodb:GetItem"] < 0.02
    assert 0.009 <= parts["unattributed"] < 0.02
    # and together they are the handler's CPU
    total = meter._units["worker:handler_cpu_seconds"]
    assert abs(sum(parts.values()) - total) < 0.002


def test_the_services_pydantic_calls_are_json_only_outside_the_other_parts() -> None:
    # Given the service's code validating a message (a json part) directly in the handler
    meter = _meter()
    validate = meter._part("json", lambda: _burn(0.01))
    netremedy = meter._part("netremedy", lambda: (validate(), _burn(0.01)))

    # When the handler runs it
    _worker_handler(meter, netremedy)({"Records": []}, None)

    # Then the validation is JSON, and the service's code keeps only its own CPU
    assert meter._units["worker:cpu:json"] >= 0.009
    assert 0.009 <= meter._units["worker:cpu:netremedy"] < 0.02


def test_nothing_is_counted_outside_the_workers_handler() -> None:
    # Given a part called by another handler's code (or by no handler: the emulator, the API process)
    meter = _meter()
    parse = meter._part("parse", lambda: _burn(0.005))

    # When it runs
    parse()

    # Then no part is counted, and the call's result is still its function's
    assert not [k for k in meter._units if k.startswith("worker:cpu:")]
    assert meter._part("parse", lambda: 42)() == 42


def test_a_part_left_open_is_dropped_without_breaking_the_others() -> None:
    # Given an AWS call that failed before botocore's after-call (its frame never closed), then a text part
    meter = _meter()
    text = meter._part("text", lambda: _burn(0.01))

    def body() -> None:
        meter._enter("aws:s3:PutObject")
        text()

    # When the handler ends
    _worker_handler(meter, body)({"Records": []}, None)

    # Then the text part and the handler's total are counted, and the meter is ready for the next invocation
    assert meter._units["worker:cpu:text"] >= 0.009
    assert meter._units["worker:handler_cpu_seconds"] >= 0.009
    assert meter._frames.stack == []
