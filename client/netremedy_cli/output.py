"""What the user sees (rich on the terminal) and the result files ``--out`` writes.

Configuration text and API messages are always printed as plain Text: configs are full of ``[...]`` that
rich would otherwise read as markup.
"""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from netremedy_cli.errors import CliError

JsonObject = dict[str, Any]
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
ERRORS_FILE = "errors.txt"
_STATUS_STYLE = {"success": "green", "completed": "green", "failed": "red", "cancelled": "yellow",
                 "running": "cyan", "pending": "cyan"}


def styled_status(status: str) -> Text:
    return Text(status, style=_STATUS_STYLE.get(status, ""))


def watch_job(poll: Callable[[], JsonObject], console: Console, interval: float = 1.0) -> JsonObject:
    """Poll the job's status until it ends, with a live bar of finished devices, failures and ETA.
    Returns the last status. The bar goes to ``console`` (stderr) so stdout stays the report."""
    status = poll()
    columns = (
        TextColumn("{task.description:<9}"),  # the longest status, so the bar does not jump
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[green]{task.fields[ok]} ok[/] [red]{task.fields[failed]} failed[/]"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(status["status"], total=max(int(status["total_devices"]), 1), ok=0, failed=0)
        while True:
            ok, failed = int(status["completed_devices"]), int(status["failed_devices"])
            progress.update(task, description=status["status"], completed=ok + failed, ok=ok, failed=failed)
            if status["status"] in TERMINAL_STATUSES:
                return status
            time.sleep(interval)
            status = poll()


def render_status(console: Console, status: JsonObject) -> None:
    """The job's status, progress and counters as a two-column grid."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("job", Text(str(status["job_id"])))
    grid.add_row("status", styled_status(str(status["status"])))
    grid.add_row("progress", f"{float(status['progress']):.1f}%")
    grid.add_row("devices", str(status["total_devices"]))
    grid.add_row("completed", Text(str(status["completed_devices"]), style="green"))
    failed = int(status["failed_devices"])
    grid.add_row("failed", Text(str(failed), style="red" if failed else ""))
    if status.get("error"):
        grid.add_row("error", Text(str(status["error"]), style="red"))
    console.print(grid)


def render_results(console: Console, body: JsonObject) -> None:
    """One row per device: its status and remediation size, or why it failed."""
    summary = body["summary"]
    table = Table()
    table.add_column("device", no_wrap=True)
    table.add_column("status")
    table.add_column("remediation lines / error", overflow="fold")
    for result in body["results"]:
        if result["status"] == "success":
            detail = Text(str(len(result["remediation"].splitlines())))
        else:
            detail = Text(str(result.get("error", "")), style="red")
        table.add_row(Text(str(result["device_id"])), styled_status(str(result["status"])), detail)
    table.caption = (f"{summary['total_devices']} devices: {summary['completed_devices']} succeeded, "
                     f"{summary['failed_devices']} failed")
    heading = Text.assemble(f"job {body['job_id']}: ", styled_status(str(body["status"])))
    console.print(heading, soft_wrap=True)
    console.print(table)


def render_device(console: Console, result: JsonObject) -> None:
    """One device's remediation and rollback, verbatim, or its error."""
    if result["status"] != "success":
        console.print(Text(f"{result['device_id']}: failed: {result.get('error', '')}", style="red"))
        return
    for kind in ("remediation", "rollback"):
        text = str(result[kind])
        console.rule(Text(f"{result['device_id']} {kind} ({len(text.splitlines())} lines)"), align="left")
        if text:
            console.print(Text(text), soft_wrap=True)


def write_result_files(out_dir: Path, results: list[JsonObject], *,
                       whole_job: bool = True) -> tuple[int, int]:
    """``<id>.remediation.conf`` and ``<id>.rollback.conf`` per successful device, exactly the API's text;
    for a whole job, ``errors.txt`` with one ``id: error`` line per failed device, and a stale errors.txt
    from an earlier run removed so the directory never reports failures the job did not have. A single
    device (``--device``) leaves errors.txt alone. Returns (written, failed)."""
    errors: list[str] = []
    written = 0
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for result in results:
            device_id = _file_stem(str(result["device_id"]))
            if result["status"] == "success":
                _write(out_dir / f"{device_id}.remediation.conf", result["remediation"])
                _write(out_dir / f"{device_id}.rollback.conf", result["rollback"])
                written += 1
            else:
                errors.append(f"{device_id}: {' '.join(str(result.get('error', '')).split())}\n")
        errors_file = out_dir / ERRORS_FILE
        if whole_job and errors:
            _write(errors_file, "".join(errors))
        elif whole_job:
            errors_file.unlink(missing_ok=True)
    except OSError as exc:
        raise CliError(f"cannot write results to {out_dir}: {exc.strerror or exc}") from None
    return written, len(errors)


def _write(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _file_stem(device_id: str) -> str:
    """The API only issues ids of letters, digits, '.', '_', '-'; never let another answer pick a path."""
    if not device_id or device_id.startswith(".") or Path(device_id).name != device_id or "\\" in device_id:
        raise CliError(f"refusing to write a file for device id {device_id!r}")
    return device_id
