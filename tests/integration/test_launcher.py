"""The one launcher of the local stack (tests and benchmarks): a failed start says why, a stop leaves nothing."""

import socket
import time
from pathlib import Path

import pytest
import requests

from netremedy_local.launcher import StackLauncher, StackStartError
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration


def test_a_stack_that_cannot_start_fails_at_once_with_the_tail_of_its_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        launcher = StackLauncher(tmp_path, port=port, project_root=PROJECT_ROOT, start_timeout=60)
        started = time.monotonic()
        with pytest.raises(StackStartError) as failed:
            launcher.start()
    assert time.monotonic() - started < 30
    assert str(failed.value) == (
        "the local stack exited at start (code 2):\n"
        f"error: port {port} is already in use; set PORT to another port"
    )


def test_a_started_stack_serves_and_one_stop_ends_every_process_of_it(tmp_path: Path) -> None:
    # Given a stack started with settings of its own
    with StackLauncher(tmp_path, {"LOCAL_WORKERS": "1"}, project_root=PROJECT_ROOT) as stack:
        platforms = requests.get(f"{stack.api_url}/api/v1/platforms", timeout=30)
        assert platforms.status_code == 200, platforms.text
        assert stack.description.resources["JobTable"]
        group = stack.pid
    # When the block ends, then the stack has stopped cleanly, with its emulator and pollers
    assert stack.stop() == 0
    assert not (tmp_path / "stack.json").exists()
    assert _running_in_group(group) == []


def _running_in_group(group: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            state, _, pgid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue
        if int(pgid) == group and state != "Z":
            found.append(int(entry.name))
    return found
