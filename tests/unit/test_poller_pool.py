"""The local pollers' pool stops without waiting for pollers that are still starting (they hold no message),
and lets a running poller finish its loop and exit by itself."""

import signal
import socket
import time
from pathlib import Path

import pytest

from netremedy_local.pollers import PollerConfig, PollerPool
from netremedy_local.template import FunctionSpec

SLOW_IMPORT = "import time\ntime.sleep(120)\n\n\ndef handler(event, context):\n    return None\n"
FAST_IMPORT = "def handler(event, context):\n    return None\n"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(handler: str, state_dir: Path, endpoint: str) -> PollerConfig:
    return PollerConfig(
        function=FunctionSpec(
            logical_id=handler.split(".")[0], handler=handler, timeout=30, memory_mb=128, environment={}
        ),
        # Nothing listens there: a running poller's receive fails at once and it loops back to its stop check.
        environment={
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        },
        queue_url=f"{endpoint}/123456789012/q",
        queue_arn="arn:aws:sqs:us-east-1:123456789012:q",
        batch_size=10,
        report_batch_item_failures=True,
        region="us-east-1",
        stack_name="pool-test",
        state_dir=str(state_dir),
    )


def test_a_starting_poller_is_ended_and_a_running_one_exits_by_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a pool of one poller whose handler takes minutes to import and one that is polling already
    (tmp_path / "slow_handler.py").write_text(SLOW_IMPORT)
    (tmp_path / "fast_handler.py").write_text(FAST_IMPORT)
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned children start with the parent's sys.path
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    pool = PollerPool(
        [
            _config("slow_handler.handler", tmp_path, endpoint),
            _config("fast_handler.handler", tmp_path, endpoint),
        ],
        processes_per_source=1,
    )
    pool.start()
    slow, fast = pool._processes
    deadline = time.monotonic() + 60
    while not pool._ready[1].is_set():
        assert time.monotonic() < deadline, "the fast poller never got ready"
        time.sleep(0.1)
    assert not pool._ready[0].is_set()
    # When the pool stops, with a timeout far longer than the running poller's loop
    stopping = time.monotonic()
    pool.stop(timeout=30)
    # Then the poller still importing was terminated without waiting that timeout out, and the running one
    # left its loop and exited cleanly
    assert time.monotonic() - stopping < 25
    assert slow.exitcode == -signal.SIGTERM
    assert fast.exitcode == 0
