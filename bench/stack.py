"""The benchmark's own local stack: ``python -m netremedy_local`` on free loopback ports, metered, started and
stopped by netremedy_local.launcher. Also snapshots of what its processes did: AWS calls (the repository's
meter, with the billing units of bench/_stack_meter plugged into it) and CPU seconds (/proc), per process and
role."""

import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from netremedy_local.launcher import StackLauncher, StackStartError
from netremedy_local.metering import FLUSH_INTERVAL_SECONDS

ROOT = Path(__file__).resolve().parents[1]
METER_PATH = Path(__file__).resolve().parent / "_stack_meter"
# Both meters flush every FLUSH_INTERVAL_SECONDS (when their counts changed); wait this long before reading a
# snapshot that must be complete.
FLUSH_SECONDS = FLUSH_INTERVAL_SECONDS + 0.5
_TICKS = os.sysconf("SC_CLK_TCK")


def _read_counts(directory: Path) -> dict[int, dict[str, float]]:
    counts: dict[int, dict[str, float]] = {}
    for path in directory.glob("*.json"):
        try:
            counts[int(path.stem)] = json.loads(path.read_text())
        except ValueError:  # not expected (the meters' writes are atomic); the next flush replaces it
            continue
    return counts


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


@dataclass
class Snapshot:
    """Cumulative figures at one moment, per process id."""

    calls: dict[int, dict[str, float]]
    units: dict[int, dict[str, float]]
    cpu: dict[int, float]
    at: float = field(default_factory=time.monotonic)


def _minus(
    after: dict[int, dict[str, float]], before: dict[int, dict[str, float]]
) -> dict[int, Counter[str]]:
    delta: dict[int, Counter[str]] = {}
    for pid, counts in after.items():
        earlier = before.get(pid, {})
        changed = Counter({k: v - earlier.get(k, 0) for k, v in counts.items() if v - earlier.get(k, 0)})
        if changed:
            delta[pid] = changed
    return delta


@dataclass
class Delta:
    calls: dict[int, Counter[str]]
    units: dict[int, Counter[str]]
    cpu: dict[int, float]
    seconds: float

    def calls_total(self, pids: set[int] | None = None) -> Counter[str]:
        summed: Counter[str] = Counter()
        for pid, counts in self.calls.items():
            if pids is None or pid in pids:
                summed.update(counts)
        return summed

    def units_total(self) -> Counter[str]:
        summed: Counter[str] = Counter()
        for counts in self.units.values():
            summed.update(counts)
        return summed


class LocalStack:
    def __init__(self, workers: int | None = None, log_level: str = "WARNING", profile: str = "") -> None:
        self.state = Path(tempfile.mkdtemp(prefix="netremedy-bench-"))
        self.workers = workers
        self.profile = profile
        self._log_level = log_level
        self._launcher: StackLauncher | None = None
        self.described: dict[str, Any] = {}
        self.roles: dict[int, str] = {}

    @property
    def api(self) -> str:
        return str(self.described["api_url"])

    def start(self, timeout: float = 180) -> None:
        settings = {
            "LOCAL_METER_AWS_CALLS": "1",
            "POWERTOOLS_LOG_LEVEL": self._log_level,
            "BENCH_METER_DIR": str(self.state / "bench-meter"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(METER_PATH), os.environ.get("PYTHONPATH")])),
        }
        if self.workers:
            settings["LOCAL_WORKERS"] = str(self.workers)
        if self.profile:
            settings["BENCH_PROFILE"] = self.profile
        self._launcher = StackLauncher(self.state, settings, project_root=ROOT, start_timeout=timeout)
        try:
            described = self._launcher.start()
        except StackStartError as exc:
            raise SystemExit(str(exc)) from None
        self.described = asdict(described)
        self._classify()
        # stack.json is written while the poller processes are still importing their handlers (about a CPU
        # second each): measuring before they settle would charge their start-up to the first mix.
        self.wait_idle()

    def wait_idle(self, cpu_per_second: float = 0.3, timeout: float = 180) -> float:
        """Wait until the stack's processes together use under ``cpu_per_second`` for two seconds running;
        the seconds waited."""
        started = time.monotonic()
        quiet = 0
        last = sum(_cpu_seconds(pid) for pid in self.roles)
        while quiet < 2 and time.monotonic() - started < timeout:
            time.sleep(1)
            now = sum(_cpu_seconds(pid) for pid in self.roles)
            quiet = quiet + 1 if now - last < cpu_per_second else 0
            last = now
        return time.monotonic() - started

    def _classify(self) -> None:
        assert self._launcher is not None
        stack_pid = self._launcher.pid
        for pid in _descendants(stack_pid):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if pid == stack_pid:
                self.roles[pid] = "api"  # API front, its Lambda handlers and the scheduler
            elif "emulator_server" in command:
                self.roles[pid] = "emulator"
            elif "multiprocessing" in command and "resource_tracker" not in command:
                self.roles[pid] = "poller"
            else:
                self.roles[pid] = "other"

    def pids(self, role: str) -> set[int]:
        return {pid for pid, r in self.roles.items() if r == role}

    def snapshot(self, settle: bool = True) -> Snapshot:
        if settle:
            time.sleep(FLUSH_SECONDS)
        return Snapshot(
            calls=_read_counts(self.state / "aws-calls"),
            units=_read_counts(self.state / "bench-meter"),
            cpu={pid: _cpu_seconds(pid) for pid in self.roles},
        )

    @staticmethod
    def delta(before: Snapshot, after: Snapshot) -> Delta:
        return Delta(
            calls=_minus(after.calls, before.calls),
            units=_minus(after.units, before.units),
            cpu={pid: after.cpu.get(pid, 0.0) - before.cpu.get(pid, 0.0) for pid in after.cpu},
            seconds=after.at - before.at,
        )

    def cpu_by_role(self, delta: Delta) -> dict[str, float]:
        by_role: dict[str, float] = {}
        for pid, seconds in delta.cpu.items():
            role = self.roles.get(pid, "other")
            by_role[role] = by_role.get(role, 0.0) + seconds
        return {role: round(seconds, 2) for role, seconds in sorted(by_role.items())}

    def profiles(self, top: int = 25) -> dict[str, str]:
        """Per profiled handler: the top functions by cumulative time, all its processes merged."""
        import io
        import pstats

        files: dict[str, list[str]] = {}
        for path in (self.state / "bench-meter").glob("profile-*.pstats"):
            files.setdefault(path.stem.split("-")[1], []).append(str(path))
        reports: dict[str, str] = {}
        for label, paths in sorted(files.items()):
            out = io.StringIO()
            stats = pstats.Stats(*paths, stream=out)
            stats.strip_dirs().sort_stats("cumulative").print_stats(top)
            reports[label] = out.getvalue()
        return reports

    def s3_client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.described["aws_endpoint"],
            region_name=self.described["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def stop(self, keep_state: bool = False) -> None:
        """Stop the stack (netremedy_local.launcher); its state directory goes too unless asked to stay or the
        stack did not stop cleanly (its serve.log says why)."""
        if self._launcher is None:
            return
        if self._launcher.stop() == 0 and not keep_state:
            shutil.rmtree(self.state, ignore_errors=True)
        else:
            print(f"local stack state kept in {self.state}", file=sys.stderr)
