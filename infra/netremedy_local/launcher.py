"""Start and stop the whole local stack (``python -m netremedy_local``, the code path of ``make serve``) as a
subprocess: the one way the integration tests and the benchmarks run it.

    with StackLauncher(state_dir, settings={"LOCAL_WORKERS": "2"}) as stack:
        requests.get(f"{stack.api_url}/api/v1/platforms")

The stack gets free loopback ports (or the ``port`` asked for), its own state directory and process group;
``start`` returns once stack.json is written, or raises ``StackStartError`` with the tail of its log.
``stop`` sends SIGTERM once (the stack stops its pollers and emulator) and kills the group if it has not
exited after a grace period.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from netremedy_local.emulator import log_tail

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class StackStartError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class StackDescription:
    """What stack.json says: where the API and the emulator listen, and the physical resource names."""

    api_url: str
    aws_endpoint: str
    region: str
    resources: dict[str, str]


class StackLauncher:
    def __init__(
        self,
        state_dir: Path,
        settings: Mapping[str, str] | None = None,
        port: int | None = None,
        project_root: Path = PROJECT_ROOT,
        start_timeout: float = 120.0,
        stop_grace: float = 30.0,
    ) -> None:
        """``settings`` are the stack's environment variables (``LOCAL_WORKERS``, ``PARAMETER_OVERRIDES``,
        ``LOCAL_PAUSED_FUNCTIONS``, ...) on top of this process's environment, less any AWS endpoint."""
        self.state_dir = state_dir
        self.log_path = state_dir / "serve.log"
        self._settings = dict(settings or {})
        self._port = port
        self._project_root = project_root
        self._start_timeout = start_timeout
        self._stop_grace = stop_grace
        self._process: subprocess.Popen[bytes] | None = None
        self._description: StackDescription | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the local stack has not been started")
        return self._process.pid

    @property
    def description(self) -> StackDescription:
        if self._description is None:
            raise RuntimeError("the local stack has not been started")
        return self._description

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    def _environment(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_ENDPOINT_URL")}
        env.update(
            PORT=str(self._port or free_port()),
            AWS_PORT=str(free_port()),
            LOCAL_STATE_DIR=str(self.state_dir),
            NETREMEDY_PROJECT_ROOT=str(self._project_root),
            PYTHONUNBUFFERED="1",
        )
        env.update(self._settings)
        return env

    def start(self) -> StackDescription:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        stack_file = self.state_dir / "stack.json"
        stack_file.unlink(missing_ok=True)  # left by a stack that was killed: not this one's
        with self.log_path.open("wb") as log:
            # Its own process group, so that a kill at the end takes its emulator and pollers too.
            self._process = subprocess.Popen(
                [sys.executable, "-m", "netremedy_local"],
                env=self._environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + self._start_timeout
        while not stack_file.exists():
            code = self._process.poll()
            if code is not None:
                raise StackStartError(f"the local stack exited at start (code {code}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self._kill()
                raise StackStartError(
                    f"the local stack did not start within {self._start_timeout:.0f} s:\n{self.log_tail()}"
                )
            time.sleep(0.2)
        described: dict[str, Any] = json.loads(stack_file.read_text())
        self._description = StackDescription(
            api_url=described["api_url"],
            aws_endpoint=described["aws_endpoint"],
            region=described["region"],
            resources=described["resources"],
        )
        return self._description

    def _kill(self) -> None:
        assert self._process is not None
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._process.wait()

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL to the whole group after the grace period; the stack's exit code (negative:
        the signal that ended it), None if it was never started."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(self._stop_grace)
            except subprocess.TimeoutExpired:
                self._kill()
        self._end_group()
        return self._process.returncode

    def _end_group(self) -> None:
        """The stack stops its children before it exits, but one may outlive it by a moment (multiprocessing's
        resource tracker notices its parent's end only then): wait for the group to empty, then kill what is
        left, so that a stop leaves no process behind."""
        assert self._process is not None
        deadline = time.monotonic() + self._stop_grace
        while time.monotonic() < deadline:
            try:
                os.killpg(self._process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        return self.description.api_url
