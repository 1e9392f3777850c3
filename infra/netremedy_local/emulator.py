"""The AWS emulator: moto's HTTP server in its own process, on a loopback port."""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# The emulator's administrator (emulator_server): the key every local client signs with.
ADMIN_USER = "netremedy-local-admin"
ADMIN_ACCESS_KEY_ID = "testing"
ADMIN_SECRET_ACCESS_KEY = "testing"


class PortInUseError(Exception):
    def __init__(self, port: int, variable: str) -> None:
        super().__init__(f"port {port} is already in use; set {variable} to another port")


def ensure_port_free(host: str, port: int, variable: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortInUseError(port, variable) from None


def log_tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a process's log, for an error that says why it did not start."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class MotoServer:
    def __init__(self, host: str, port: int, log_path: Path) -> None:
        self.endpoint = f"http://{host}:{port}"
        self._command = [sys.executable, "-m", "netremedy_local.emulator_server", "-H", host, "-p", str(port)]
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(self._command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the AWS emulator exited at start ({self._log_path}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(
            f"the AWS emulator did not answer within {timeout:.0f}s ({self._log_path}):\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        return log_tail(self._log_path, lines)

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
