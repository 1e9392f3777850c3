"""What the user sees (rich on the terminal) and the result files ``--out`` writes.

Configuration text and API messages are always printed as plain Text: configs are full of ``[...]`` that
rich would otherwise read as markup.
"""

import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from netremedy_cli.errors import CliError

JsonObject = dict[str, Any]
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
ERRORS_FILE = "errors.txt"
# --out writes a device's lock-out risks (a success with risks, or a held device) to <device>.risks.txt.
RISKS_SUFFIX = ".risks.txt"
# What --out writes for each output a device result holds, in this order.
OUTPUT_FILES = {
    "remediation": ".remediation.conf",
    "rollback": ".rollback.conf",
    "diff": ".diff",
    "future": ".future.conf",
}
# hier_config's unified diff: the line's indentation, then "- " (only in running) or "+ " (only in intended);
# parents that are in both carry no marker.
_DIFF_MARKER = re.compile(r"^\s*([-+]) ")
_DIFF_STYLE = {"-": "red", "+": "green"}
_STATUS_STYLE = {
    "success": "green",
    "completed": "green",
    "failed": "red",
    "held": "red",
    "cancelled": "yellow",
    "running": "cyan",
    "pending": "cyan",
}


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
        TextColumn("{task.fields[ok]} [red]{task.fields[failed]} failed[/]"),
        TextColumn("{task.fields[eta]}"),
    )
    start = (time.monotonic(), _counted(status))
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(
            status["status"], total=max(int(status["total_devices"] or 0), 1), ok=0, failed=0, eta=""
        )
        while True:
            ok, failed = int(status["completed_devices"]), int(status["failed_devices"])
            # null while the service reads an uploaded manifest: the bar gets its size once it is known
            total = int(status["total_devices"] or 0)
            progress.update(
                task,
                description=status["status"],
                total=max(total, 1),
                completed=ok + failed,
                ok=_finished_markup(status),
                failed=failed,
                eta=eta_text(start, (time.monotonic(), ok + failed), total, status),
            )
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
    total = status["total_devices"]
    grid.add_row("devices", "? (reading the uploaded manifest)" if total is None else str(total))
    grid.add_row("completed", Text(str(status["completed_devices"]), style="green"))
    if (counts := compliance_counts(status)) is not None:
        compliant, changes, held = counts
        grid.add_row("  compliant", Text(str(compliant), style="green"))
        grid.add_row("  changes", Text(str(changes), style="yellow" if changes else ""))
        grid.add_row("  held", Text(str(held), style="red" if held else ""))
    failed = int(status["failed_devices"])
    grid.add_row("failed", Text(str(failed), style="red" if failed else ""))
    if status.get("error"):
        grid.add_row("error", Text(str(status["error"]), style="red"))
    console.print(grid)
    if status.get("by_platform"):
        console.print(platform_table(status["by_platform"]))


def render_results(console: Console, body: JsonObject) -> None:
    """One row per device: its status and remediation size, or why it failed."""
    summary = body["summary"]
    table = Table()
    table.add_column("device", no_wrap=True)
    table.add_column("status")
    table.add_column("remediation lines / error", overflow="fold")
    for result in body["results"]:
        risks = result.get("risks") or []
        if result["status"] == "held":
            detail = Text(f"held: {_risky_lines(len(risks))} (remediation withheld)", style="red")
        elif result["status"] == "success" and isinstance(result.get("remediation"), str):
            detail = Text(str(len(result["remediation"].splitlines())))
        elif result["status"] == "success":  # the job asked for other outputs only
            detail = Text(
                f"not requested (outputs: {', '.join(present_outputs([result])) or 'none'})", style="dim"
            )
        else:
            detail = Text(str(result.get("error", "")), style="red")
        if risks and result["status"] == "success":
            detail.append(f" ({_risky_lines(len(risks))})", style="red")
        # Risky and held devices stand out in red: their changes could cut the session to them.
        name = Text(str(result["device_id"]), style="red" if risks else "")
        table.add_row(name, styled_status(str(result["status"])), detail)
    table.caption = (
        f"{summary['total_devices']} devices: {summary['completed_devices']} succeeded"
        f"{compliance_caption(summary)}, {summary['failed_devices']} failed"
    )
    heading = Text.assemble(f"job {body['job_id']}: ", styled_status(str(body["status"])))
    console.print(heading, soft_wrap=True)
    console.print(table)


def render_device(console: Console, result: JsonObject) -> None:
    """One device's outputs (remediation, rollback, diff, future: those the job asked for), verbatim, the
    diff coloured, then its lock-out risks in red; or why it was held, or its error."""
    if result["status"] == "held":
        console.print(Text(f"{result['device_id']}: held: {result.get('message', '')}", style="red"))
    elif result["status"] != "success":
        console.print(Text(f"{result['device_id']}: failed: {result.get('error', '')}", style="red"))
        return
    for kind in present_outputs([result]):
        text = str(result[kind])
        console.rule(Text(f"{result['device_id']} {kind} ({len(text.splitlines())} lines)"), align="left")
        if text:
            console.print(diff_text(text) if kind == "diff" else Text(text), soft_wrap=True)
    if risks := result.get("risks"):
        console.rule(
            Text(f"{result['device_id']} risks ({_risky_lines(len(risks))})", style="red"), align="left"
        )
        console.print(Text(risks_text(risks), style="red"), soft_wrap=True)


def risks_text(risks: list[JsonObject]) -> str:
    """Each flagged line under its parents (indented as in the config), after its rule and why."""
    blocks = []
    for risk in risks:
        lines = [f"{risk['rule']}: {risk['why']}"]
        path = [str(part) for part in risk.get("path") or []] + [str(risk["line"])]
        lines += ["  " * (depth + 1) + part for depth, part in enumerate(path)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _risky_lines(count: int) -> str:
    return f"{count} risky line{'' if count == 1 else 's'}"


def diff_text(diff: str) -> Text:
    """hier_config's unified diff as Text: lines only in running red, only in intended green, context
    plain. Never markup: configs are full of brackets."""
    text = Text()
    for number, line in enumerate(diff.split("\n")):
        if number:
            text.append("\n")
        marker = _DIFF_MARKER.match(line)
        text.append(line, style=_DIFF_STYLE[marker.group(1)] if marker else "")
    return text


def present_outputs(results: Iterable[JsonObject]) -> list[str]:
    """The outputs (in the API's order) that at least one successful result holds."""
    found = {
        kind
        for result in results
        if result.get("status") == "success"
        for kind in OUTPUT_FILES
        if isinstance(result.get(kind), str)
    }
    return [kind for kind in OUTPUT_FILES if kind in found]


def render_report(console: Console, report: JsonObject) -> None:
    """The fleet report: the most common changes, each with its parents, how many devices need it, its share
    of the devices with changes and how many devices the changes so far cover together."""
    base = int(report["devices_with_changes"])
    changes = report["changes"]
    table = Table()
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("platform", no_wrap=True)
    table.add_column("change", overflow="fold")
    table.add_column("devices", justify="right", no_wrap=True)
    # A few devices: which ones need each change says more than shares of a handful.
    small = base <= SMALL_REPORT_DEVICES
    if small:
        table.add_column("device ids", overflow="fold")
    else:
        table.add_column("share", justify="right", no_wrap=True)
        table.add_column("covered", justify="right", no_wrap=True)
    for number, change in enumerate(changes, start=1):
        count, covered = int(change["device_count"]), int(change["devices_covered"])
        detail = (
            [Text(", ".join(str(device_id) for device_id in change.get("device_ids") or []))]
            if small
            else [_percent(count, base), f"{covered} ({_percent(covered, base)})"]
        )
        table.add_row(str(number), Text(str(change["platform"])), change_path(change), str(count), *detail)
    heading = Text.assemble(
        f"job {report['job_id']}: ",
        styled_status(str(report["status"])),
        f", {report['total_devices']} devices, {report['unique_changes']} distinct changes",
    )
    console.print(heading, soft_wrap=True)
    if changes:
        console.print(table)
    # Below the table rather than as its caption, which rich would wrap to the table's width.
    console.print(Text(report_caption(report)), soft_wrap=True)


def change_path(change: JsonObject) -> Text:
    """The change's parents (dim), then the line itself, each indented one level more than its parent."""
    path = [str(part) for part in change.get("path") or [change["line"]]]
    text = Text()
    for depth, part in enumerate(path):
        if depth:
            text.append("\n")
        text.append("  " * depth + part, style="" if depth == len(path) - 1 else "dim")
    return text


def report_caption(report: JsonObject) -> str:
    """``the top 3 changes cover 180 of 200 devices with changes; 5 devices need nothing; 2 failed``."""
    changes = report["changes"]
    base = int(report["devices_with_changes"])
    if changes:
        shown = len(changes)
        top = "the top change covers" if shown == 1 else f"the top {shown} changes cover"
        parts = [f"{top} {changes[-1]['devices_covered']} of {base} {_devices(base)} with changes"]
    elif base:
        parts = [f"no change is needed by enough of the {base} {_devices(base)} with changes (--min-devices)"]
    else:
        parts = ["no device needs a change"]
    parts.append(
        f"{report['devices_without_changes']} {_devices(report['devices_without_changes'])} "
        f"{'needs' if report['devices_without_changes'] == 1 else 'need'} nothing"
    )
    parts.append(f"{report['failed_devices']} failed")
    if report.get("devices_without_remediation"):
        count = report["devices_without_remediation"]
        parts.append(f"{count} {_devices(count)} without a remediation output (not counted)")
    if report.get("devices_not_analysed"):
        count = report["devices_not_analysed"]
        parts.append(
            f"{count} {_devices(count)} with changes hier_config cannot read back (not in the table)"
        )
    if report.get("truncated"):
        parts.append(f"more changes than shown ({report['unique_changes']} distinct in all): raise --limit")
    return "; ".join(parts)


def _devices(count: int) -> str:
    return "device" if count == 1 else "devices"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def write_result_files(
    out_dir: Path, results: list[JsonObject], *, whole_job: bool = True
) -> tuple[int, int]:
    """Per successful device, one file for each output its result holds, exactly the API's text:
    ``<id>.remediation.conf``, ``<id>.rollback.conf``, ``<id>.diff``, ``<id>.future.conf``; and
    ``<id>.risks.txt`` for a device with lock-out risks (held devices too: they have only that file). A
    device's files of outputs it does not hold (from an earlier run) are removed, so the directory never mixes
    two jobs.
    For a whole job, ``errors.txt`` with one ``id: error`` line per failed device, and a stale errors.txt
    from an earlier run removed so the directory never reports failures the job did not have. A single
    device (``--device``) leaves errors.txt alone. Returns (written, failed)."""
    errors: list[str] = []
    written = 0
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for result in results:
            device_id = _file_stem(str(result["device_id"]))
            success = result["status"] == "success"
            for kind, suffix in OUTPUT_FILES.items():
                if success and isinstance(result.get(kind), str):
                    _write(out_dir / f"{device_id}{suffix}", result[kind])
                else:
                    (out_dir / f"{device_id}{suffix}").unlink(missing_ok=True)
            if risks := result.get("risks"):
                _write(out_dir / f"{device_id}{RISKS_SUFFIX}", risks_text(risks))
            else:
                (out_dir / f"{device_id}{RISKS_SUFFIX}").unlink(missing_ok=True)
            if success:
                written += 1
            elif result["status"] != "held":
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


def compliance_counts(counters: JsonObject) -> tuple[int, int, int] | None:
    """(compliant, changes, held) of a status or results summary: the finished devices in three disjoint
    groups, as the HTML report shows them (changes leaves out the held); None from a server without them."""
    if "compliant_devices" not in counters:
        return None
    held = int(counters["held_devices"])
    return int(counters["compliant_devices"]), int(counters["non_compliant_devices"]) - held, held


def compliance_caption(counters: JsonObject) -> str:
    """`` (5 compliant, 3 with changes, 1 held)``, or nothing from a server without the counters."""
    counts = compliance_counts(counters)
    if counts is None:
        return ""
    compliant, changes, held = counts
    return f" ({compliant} compliant, {changes} with changes, {held} held)"


def _finished_markup(status: JsonObject) -> str:
    """The progress bar's finished devices: compliant, changes and held, or "N ok" from an older server."""
    counts = compliance_counts(status)
    if counts is None:
        return f"[green]{int(status['completed_devices'])} ok[/]"
    compliant, changes, held = counts
    return f"[green]{compliant} compliant[/] [yellow]{changes} changes[/] [red]{held} held[/]"


def platform_table(by_platform: dict[str, JsonObject]) -> Table:
    """One row per platform: its devices, compliant, with changes, held and failed."""
    table = Table()
    table.add_column("platform", no_wrap=True)
    for heading in ("devices", "compliant", "changes", "held", "failed"):
        table.add_column(heading, justify="right", no_wrap=True)
    for platform, counts in by_platform.items():
        held = int(counts["held"])
        table.add_row(
            Text(platform),
            str(counts["total"]),
            str(counts["compliant"]),
            str(int(counts["non_compliant"]) - held),
            Text(str(held), style="red" if held else ""),
            Text(str(counts["failed"]), style="red" if counts["failed"] else ""),
        )
    return table


# Up to this many devices with changes, the report names the devices of each change instead of its share.
SMALL_REPORT_DEVICES = 10


def _counted(status: JsonObject) -> int:
    return int(status["completed_devices"]) + int(status["failed_devices"])


def eta_text(start: tuple[float, int], now: tuple[float, int], total: int, status: JsonObject) -> str:
    """``ETA 0:01:05`` at the rate devices have been counted since ``start`` (a monotonic time and the count
    then) until ``now``; ``ETA ?`` until a device has been counted since; nothing once the job has ended."""
    if status["status"] in TERMINAL_STATUSES:
        return ""
    (started, counted_then), (moment, counted) = start, now
    if counted <= counted_then or moment <= started:
        return "ETA ?"
    seconds = round(max(total - counted, 0) * (moment - started) / (counted - counted_then))
    return f"ETA {seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def render_jobs(console: Console, jobs: list[JsonObject], more: bool) -> None:
    """The caller's jobs, newest first: id, status, counters, when and how each was started."""
    table = Table()
    # A job id is what a reader copies: never cut it, whatever the width.
    table.add_column("job id", no_wrap=True, min_width=36)
    table.add_column("status", no_wrap=True)
    table.add_column("devices", justify="right", no_wrap=True)
    table.add_column("completed", justify="right", no_wrap=True)
    table.add_column("failed", justify="right", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("finished", no_wrap=True)
    table.add_column("source", overflow="fold")
    for job in jobs:
        failed = int(job["failed_devices"])
        table.add_row(
            Text(str(job["job_id"])),
            styled_status(str(job["status"])),
            "?" if job.get("total_devices") is None else str(job["total_devices"]),
            str(job["completed_devices"]),
            Text(str(failed), style="red" if failed else ""),
            Text(str(job["created_at"])),
            Text(str(job.get("finished_at") or "")),
            Text(str(job["source"])),
        )
    if jobs:
        # Piped or redirected, rich assumes 80 columns and would crop every column to fit: write whole rows
        # (one line each, for grep and scripts) instead.
        if not console.is_terminal:
            console.width = max(console.width, 160)
        console.print(table)
    note = f"{len(jobs)} {'job' if len(jobs) == 1 else 'jobs'}"
    console.print(Text(f"{note}; older jobs remain: --all lists every one" if more else note), soft_wrap=True)
