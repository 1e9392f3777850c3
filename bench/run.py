"""``make bench``: the service against its floor, its peer and its targets, measured in one run on the same
devices (made from the shared corpus), printed as a table and written to bench/results/latest.json.

1. floor: each device's remediation and rollback computed in this process by hier_config, one core;
2. pipeline: the same devices through the local stack (started here, on free ports) end to end, one job per
   mix (an upload when the devices do not fit one POST); efficiency = floor seconds / pipeline seconds; the
   worker's CPU per device against the floor's, part by part (bench/_stack_meter);
3. peer: hier-config-api 0.1.0 (FastAPI, in .venv-peer) given the same medium batch;
4. cost per device: AWS calls, job-item writes, SQS messages, estimated USD per 1,000 devices;
5. cold start: handler import times against a bare ``import hier_config, boto3``; worker peak RSS;
6. hier_config 4 (pre-release, .venv-hc4) against 3.7.1 on every corpus pair (bench/hc4_compare.py);
7. one table of issue 15's targets (and the older ones that still matter), met or not.

    .venv/bin/python bench/run.py                      # 1,000 medium, 10,000 small, 100 large (idle machine)
    .venv/bin/python bench/run.py --quick              # small sizes, for a check while developing
    .venv/bin/python bench/run.py --mixes medium=200,small=500 --skip-peer --skip-hc4
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus import DEFAULT_CORPUS, SIZE_CLASSES, load_pairs, make_devices, pairs_by_class
from stack import LocalStack

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

DEFAULT_MIXES = {"medium": 1000, "small": 10_000, "large": 100}
QUICK_MIXES = {"medium": 100, "small": 300, "large": 6}
PEER_MIX = "medium"

# Issue 15's targets (and the older ones that still matter)
EFFICIENCY_TARGETS = {"medium": 1.6, "small": 0.6}
WORKER_CPU_RATIO_TARGET = (
    1.15  # worker CPU per device / the floor's, medium (small and large for information)
)
WORKER_CPU_TARGET_MIX = "medium"
POST_SPEEDUP_TARGET = 10.0
TOTAL_SPEEDUP_TARGET = 1.5
AWS_CALLS_TARGET = 0.5
JOB_WRITES_TARGET = 0.1
WORKER_IMPORT_RATIO_TARGET = 1.2
LIGHT_HANDLERS = ("create_job", "job_status", "job_results")


def parse_mixes(text: str, defaults: dict[str, int]) -> dict[str, int]:
    """``medium,small`` (default sizes) or ``medium=200,small=1000``."""
    mixes: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, count = item.partition("=")
        if name not in SIZE_CLASSES:
            raise SystemExit(f"--mixes: unknown size class {name!r}; use {', '.join(SIZE_CLASSES)}")
        mixes[name] = int(count) if count else defaults[name]
    return mixes


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  "
            + "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _git_commit() -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return (done.stdout.strip() + ("+uncommitted" if dirty else "")) if done.returncode == 0 else None


def _lambda_runtime_version() -> str:
    """ "3.12" for the template's python3.12."""
    from venvs import lambda_runtime

    return lambda_runtime().removeprefix("python")


def _mean_floor(before: Any, after: Any) -> Any:
    """The floor measured before the pipelines and right after this mix's, averaged (same devices, same
    digests)."""
    from dataclasses import replace

    return replace(
        before,
        seconds=(before.seconds + after.seconds) / 2,
        cpu_seconds=(before.cpu_seconds + after.cpu_seconds) / 2,
    )


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_pipelines(args: argparse.Namespace, mixes: dict[str, Any], floors: dict[str, Any]) -> dict[str, Any]:
    from costs import per_device_costs
    from floor import run_floor
    from pipeline import calibrate_status_poll, run_pipeline

    out: dict[str, Any] = {}
    stack = LocalStack(workers=args.workers, profile=args.profile)
    _log(f"starting the local stack (state {stack.state})")
    stack.start()
    pollers = len(stack.pids("poller"))
    _log(f"local stack up at {stack.api}: {pollers} poller processes")
    raw: dict[str, Any] = {}
    try:
        calibration = None
        for name, devices in mixes.items():
            waited = stack.wait_idle()
            _log(f"pipeline: {len(devices)} {name} devices (stack idle after {waited:.0f} s)")
            before = stack.snapshot()
            run = run_pipeline(
                stack,
                devices,
                floors[name].digests,
                poll_interval=args.poll_interval,
                timeout=args.timeout,
                via=args.via,
            )
            after = stack.snapshot()
            delta = stack.delta(before, after)
            _log(
                f"pipeline: {name} done in {run.total_s:.1f} s (via {run.via}, "
                f"{run.result_pages} result pages, {len(run.mismatches)} mismatches)"
            )
            # The floor again, right after (the stack idle): this VM's speed drifts by up to a third within
            # minutes, and the efficiency compares the pipeline with the mean of the floors around it.
            floor_after = run_floor(devices)
            _log(f"floor after: {name} {floor_after.seconds:.1f} s (before: {floors[name].seconds:.1f} s)")
            until_results = stack.delta(before, run.at_results) if run.at_results is not None else None
            raw[name] = (run, delta, floor_after, until_results)
            if calibration is None:
                calibration = calibrate_status_poll(stack, run.jobs[0]["job_id"])
        assert calibration is not None
        poll_calls, poll_units = calibration
        for name, (run, delta, floor_after, until_results) in raw.items():
            floor = _mean_floor(floors[name], floor_after)
            units = delta.units_total()
            invocations = units.get("worker:invocations", 0)
            cost = per_device_costs(
                devices=run.devices,
                calls=delta.calls_total(),
                units=units,
                http_requests=run.http_requests,
                poll_calls=poll_calls,
                poll_units=poll_units,
                resources=stack.described["resources"],
                mix=name,
            )
            worker = cost["lambda"].get("RemediateDevicesFunction", {})
            handler_s = units.get("worker:handler_seconds", 0.0)
            compute_s = units.get("worker:compute_seconds", 0.0)
            aws_s = {k.split(":", 2)[2]: v for k, v in units.items() if k.startswith("worker:aws_seconds:")}

            def ms_per_device(seconds: float, devices: int = run.devices) -> float:
                return round(seconds / devices * 1000, 2)

            out[name] = {
                "devices": run.devices,
                "floor_s": round(floor.seconds, 3),
                "floor_before_s": round(floors[name].seconds, 3),
                "floor_after_s": round(floor_after.seconds, 3),
                "pipeline_s": round(run.total_s, 3),
                "efficiency": round(floor.seconds / run.total_s, 3),
                "devices_per_s": round(run.devices / run.total_s, 1),
                "floor_devices_per_s": round(run.devices / floor.seconds, 1) if floor.seconds else None,
                "accept_s": round(run.accept_s, 3),
                "via": run.via,
                "upload_s": round(run.upload_s, 3) if run.upload_s is not None else None,
                "manifest_bytes": run.manifest_bytes,
                "completed_s": round(run.completed_s, 3),
                "results_fetch_s": round(run.total_s - run.completed_s, 3),
                "write_back_done_s": round(run.write_back_s, 3) if run.write_back_s is not None else None,
                "posts": run.posts,
                "status_polls": run.status_polls,
                "result_pages": run.result_pages,
                "succeeded": run.succeeded,
                "failed": run.failed,
                "floor_failed": floor.failed,
                "text_mismatches_vs_floor": run.mismatches,
                "devices_missing_or_repeated": run.missing,
                "jobs": run.jobs,
                "worker": {
                    "invocations": int(invocations),
                    "messages_per_invocation": round(units.get("worker:records", 0) / invocations, 2)
                    if invocations
                    else None,
                    "devices_per_invocation": round(units.get("worker:compute_calls", 0) / invocations, 2)
                    if invocations
                    else None,
                    "invocation_seconds": worker.get("seconds"),
                    "overhead_per_device_ms": round(
                        (worker.get("seconds", 0) - floor.seconds) / run.devices * 1000, 2
                    ),
                    # Inside the handler, per device (wall time, ms): the whole handler, hier_config through
                    # compute_remediation, the AWS calls it makes (by operation), and the rest (message parsing,
                    # Powertools, result items).
                    "handler_ms_per_device": ms_per_device(handler_s),
                    "compute_ms_per_device": ms_per_device(compute_s),
                    "compute_cpu_ms_per_device": ms_per_device(units.get("worker:compute_cpu_seconds", 0.0)),
                    "floor_compute_ms_per_device": ms_per_device(floor.seconds),
                    "aws_ms_per_device": ms_per_device(sum(aws_s.values())),
                    "aws_ms_per_device_by_operation": {
                        op: ms_per_device(v) for op, v in sorted(aws_s.items())
                    },
                    "other_ms_per_device": ms_per_device(handler_s - compute_s - sum(aws_s.values())),
                },
                "worker_cpu": worker_cpu(units, run.devices, floor.cpu_seconds),
                "create_job": _handler_times(units, "create_job"),
                "write_back": _handler_times(units, "write_back"),
                "cpu_seconds_by_role": stack.cpu_by_role(delta),
                # The same until the last result page (pipeline_s), without the write-back after it.
                "cpu_seconds_by_role_until_results": stack.cpu_by_role(until_results)
                if until_results is not None
                else None,
                "cost": cost,
            }
        profiles = stack.profiles() if args.profile else {}
    finally:
        _log("stopping the local stack")
        stack.stop(keep_state=args.keep_state)
    return {
        "local_workers": args.workers or os.cpu_count(),
        "poller_processes": pollers,
        "mixes": out,
        "profiles": profiles,
    }


WORKER_FUNCTION = "RemediateDevicesFunction"
CPU_PARTS = (
    "parse",
    "remediation",
    "rollback",
    "text",
    "validation",
    "hier_config_other",
    "json",
    "aws",
    "powertools",
    "netremedy",
    "free",
    "gc",
    "unattributed",
)


def worker_cpu(units: Any, devices: int, floor_cpu_s: float) -> dict[str, Any]:
    """The worker handler's CPU per device (its thread, bench/_stack_meter) against the floor's, split into
    the meter's parts (each without the parts it calls, so they add up to the handler's CPU), and the local
    poller's CPU outside the handler (receive, event, delete: the event source mapping's on AWS)."""

    def ms(seconds: float) -> float:
        return round(seconds / devices * 1000, 3)

    total = units.get("worker:handler_cpu_seconds", 0.0)
    parts = {k.split(":", 2)[2]: v for k, v in units.items() if k.startswith("worker:cpu:")}
    aws = {k.split(":", 1)[1]: v for k, v in parts.items() if k.startswith("aws:")}
    grouped = {name: parts.get(name, 0.0) for name in CPU_PARTS if name != "aws"} | {"aws": sum(aws.values())}
    busy = units.get(f"poller:{WORKER_FUNCTION}:busy_cpu_seconds", 0.0)
    return {
        "cpu_ms_per_device": ms(total),
        "floor_cpu_ms_per_device": ms(floor_cpu_s),
        "ratio_to_floor": round(total / floor_cpu_s, 3) if floor_cpu_s else None,
        "parts_ms_per_device": {name: ms(grouped[name]) for name in CPU_PARTS},
        "aws_ms_per_device_by_operation": {op: ms(v) for op, v in sorted(aws.items())},
        # The parts are measured apart from the total: what the total holds beyond them (should be ~0).
        "total_minus_parts_ms_per_device": ms(total - sum(grouped.values())),
        "poller_sqs_cpu_ms_per_device": ms(busy - total) if busy else None,
        "poller_idle_cpu_s": round(units.get(f"poller:{WORKER_FUNCTION}:idle_cpu_seconds", 0.0), 3),
    }


def _handler_times(units: Any, label: str) -> dict[str, Any]:
    """A timed handler's invocations, seconds, and the AWS call seconds it made (summed over its threads)."""
    aws = {k.split(":", 2)[2]: round(v, 3) for k, v in units.items() if k.startswith(f"{label}:aws_seconds:")}
    return {
        "invocations": int(units.get(f"{label}:invocations", 0)),
        "handler_seconds": round(units.get(f"{label}:handler_seconds", 0.0), 3),
        "aws_call_seconds_by_operation": dict(sorted(aws.items())),
    }


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 15's targets first, then the older ones that still matter; met is None for information."""
    rows: list[dict[str, Any]] = []

    def add(name: str, value: Any, target: str, met: bool | None, note: str = "") -> None:
        rows.append({"target": name, "value": value, "threshold": target, "met": met, "note": note})

    mixes = results.get("pipeline", {}).get("mixes", {})
    for size, threshold in EFFICIENCY_TARGETS.items():
        if size in mixes:
            mix = mixes[size]
            value = mix["efficiency"]
            add(
                f"efficiency, {mix['devices']:,} {size}",
                value,
                f">= {threshold}",
                value >= threshold and len(mix["jobs"]) == 1,
                f"{len(mix['jobs'])} job(s), via {mix['via']}; {mix['pipeline_s']} s vs floor {mix['floor_s']} s "
                f"(mean of {mix.get('floor_before_s')} before and {mix.get('floor_after_s')} after)",
            )
    for size, mix in mixes.items():
        cpu = mix["worker_cpu"]
        ratio = cpu["ratio_to_floor"]
        add(
            f"worker CPU / device vs floor, {size}",
            ratio,
            f"<= {WORKER_CPU_RATIO_TARGET}x" if size == WORKER_CPU_TARGET_MIX else "(information)",
            (ratio is not None and ratio <= WORKER_CPU_RATIO_TARGET)
            if size == WORKER_CPU_TARGET_MIX
            else None,
            f"{cpu['cpu_ms_per_device']} vs {cpu['floor_cpu_ms_per_device']} CPU-ms",
        )
    for size, mix in mixes.items():
        versus = mix["cost"].get("vs_baseline")  # bench/costs.py's comparison, for a mix with a baseline
        if versus:
            add(
                f"cost per 1,000 {size} devices (USD)",
                versus["usd_per_1000"],
                f"<= {versus['target_usd_per_1000']} (80% of {versus['baseline_usd_per_1000']})",
                versus["met"],
                f"{versus['change_percent']:+}% vs before issue 15 (bench/costs.py, list prices)",
            )
    cold = results.get("cold_start")
    if cold:
        imports = cold["imports"]["results"]
        measured = [entry for entry in cold.get("worker_import", []) if "ratio_median" in entry]
        if measured:
            # The figure of the Python the template's functions run on, when this machine has it.
            runtime = _lambda_runtime_version()
            chosen = next((e for e in measured if e["python_version"].startswith(runtime)), measured[0])
            ratio = round(chosen["ratio_median"], 2)
            details = []
            for entry in [chosen, *(e for e in measured if e is not chosen)]:
                low, high = entry["ratio_quartiles"]
                counted = entry.get("instructions", {})
                details.append(
                    f"Python {entry['python_version']}"
                    + (" (Lambda's runtime)" if entry["python_version"].startswith(runtime) else "")
                    + f": {entry['ratio_median']:.2f}x, quartiles {low}-{high} of {entry['pairs']} adjacent "
                    f"pairs, {entry['module_median_ms']} vs {entry['baseline_median_ms']} ms; "
                    + (
                        f"{counted['ratio']}x in instructions"
                        if "ratio" in counted
                        else "instructions not counted"
                    )
                )
            add(
                "worker import vs bare hier_config+boto3",
                ratio,
                f"<= {WORKER_IMPORT_RATIO_TARGET}x",
                ratio <= WORKER_IMPORT_RATIO_TARGET,
                "; ".join(details) + " (bench/coldstart.py)",
            )
    hc4 = results.get("hc4")
    if hc4 and "error" not in hc4:
        add(
            f"hier_config {hc4['engines']['4.x'].get('hier_config', '4.x')} output identical to 3.7.1",
            f"{hc4['identical']}/{hc4['pairs']} pairs",
            "measured (no engine switch)",
            None,
            f"speed-up {hc4['speed']['all']['speedup_4x']}x "
            f"(native {hc4['speed']['all']['speedup_4x_native']}x), {len(hc4['refused_by_either'])} refused",
        )
    peer = results.get("peer")
    if peer and PEER_MIX in mixes and "error" not in peer:
        ours = mixes[PEER_MIX]
        post_ratio = round(peer["post_latency_s"] / ours["accept_s"], 2)
        total_ratio = round(peer["total_s"] / ours["pipeline_s"], 2)
        add(
            f"POST answers faster than peer's ({ours['devices']:,} {PEER_MIX})",
            post_ratio,
            f">= {POST_SPEEDUP_TARGET}x",
            post_ratio >= POST_SPEEDUP_TARGET,
            "one job: "
            + ("form, S3 upload and start" if ours["via"] == "upload" else "one POST")
            + " vs the peer's one POST",
        )
        add(
            f"total faster than peer's ({ours['devices']:,} {PEER_MIX})",
            total_ratio,
            f">= {TOTAL_SPEEDUP_TARGET}x",
            total_ratio >= TOTAL_SPEEDUP_TARGET,
        )
    for size, mix in mixes.items():
        value = mix["cost"]["aws_calls_per_device"]
        add(
            f"AWS calls / device, {size}",
            value,
            f"<= {AWS_CALLS_TARGET}",
            value <= AWS_CALLS_TARGET,
            f"{mix['cost']['aws_calls_per_device_incl_empty_receives']} with empty receives",
        )
        value = mix["cost"]["job_item_writes_per_device"]
        add(f"job-item writes / device, {size}", value, f"<= {JOB_WRITES_TARGET}", value <= JOB_WRITES_TARGET)
    if cold:
        loaders = [
            h for h in LIGHT_HANDLERS if imports.get(f"netremedy.handlers.{h}", {}).get("imports_hier_config")
        ]
        add(
            "create/status/results handlers do not import hier_config",
            "none do" if not loaders else ", ".join(loaders),
            "none",
            not loaders,
        )
    return rows


def print_report(results: dict[str, Any]) -> None:
    meta = results["meta"]
    print(
        f"\n=== netremedy bench: {meta['started_at']}, {meta['cpu_count']} cores, load {meta['load_average']}, "
        f"commit {meta['commit']}"
    )
    pipeline = results.get("pipeline", {})
    mixes = pipeline.get("mixes", {})
    if mixes:
        print(
            f"\nThroughput (local stack, {pipeline['poller_processes']} poller processes, "
            f"LOCAL_WORKERS={pipeline['local_workers']}; floor = hier_config in-process on one core, the mean of "
            "its runs before the pipelines and right after this mix's)"
        )
        print(
            table(
                [
                    "mix",
                    "devices",
                    "floor s",
                    "before/after",
                    "pipeline s",
                    "efficiency",
                    "dev/s",
                    "floor dev/s",
                    "accepted s",
                    "via",
                    "upload s",
                    "completed s",
                    "fetch s",
                    "write-back s",
                    "ok/failed",
                    "mismatch",
                ],
                [
                    [
                        name,
                        m["devices"],
                        m["floor_s"],
                        f"{m.get('floor_before_s')}/{m.get('floor_after_s')}",
                        m["pipeline_s"],
                        m["efficiency"],
                        m["devices_per_s"],
                        m["floor_devices_per_s"],
                        m["accept_s"],
                        m["via"],
                        m["upload_s"],
                        m["completed_s"],
                        m["results_fetch_s"],
                        m["write_back_done_s"],
                        f"{m['succeeded']}/{m['failed']}",
                        len(m["text_mismatches_vs_floor"]) + m["devices_missing_or_repeated"],
                    ]
                    for name, m in mixes.items()
                ],
            )
        )
        print(
            "\nWhere the time goes: CPU seconds by process during each mix; the worker's invocations, and its "
            "handler's wall time per device split into hier_config (compute_remediation), AWS calls and the rest"
        )
        print(
            table(
                [
                    "mix",
                    "pollers cpu",
                    "emulator cpu",
                    "api cpu",
                    "invocations",
                    "msgs/inv",
                    "devices/inv",
                    "handler ms/dev",
                    "compute ms/dev",
                    "compute cpu ms/dev",
                    "floor ms/dev",
                    "AWS ms/dev",
                    "other ms/dev",
                ],
                [
                    [
                        name,
                        m["cpu_seconds_by_role"].get("poller"),
                        m["cpu_seconds_by_role"].get("emulator"),
                        m["cpu_seconds_by_role"].get("api"),
                        m["worker"]["invocations"],
                        m["worker"]["messages_per_invocation"],
                        m["worker"]["devices_per_invocation"],
                        m["worker"]["handler_ms_per_device"],
                        m["worker"]["compute_ms_per_device"],
                        m["worker"]["compute_cpu_ms_per_device"],
                        m["worker"]["floor_compute_ms_per_device"],
                        m["worker"]["aws_ms_per_device"],
                        m["worker"]["other_ms_per_device"],
                    ]
                    for name, m in mixes.items()
                ],
            )
        )
        for name, m in mixes.items():
            ops = ", ".join(
                f"{op.split(':')[1]} {v}" for op, v in m["worker"]["aws_ms_per_device_by_operation"].items()
            )
            print(f"  {name}: worker AWS ms/device by op: {ops}")
            for label in ("create_job", "write_back"):
                row = m[label]
                calls = ", ".join(
                    f"{op.split(':')[1]} {v}" for op, v in row["aws_call_seconds_by_operation"].items()
                )
                print(
                    f"  {name}: {label}: {row['invocations']} invocation(s), {row['handler_seconds']} s in the "
                    f"handler; AWS call s (summed over threads): {calls}"
                )
    if mixes:
        print(
            "\nWorker CPU per device (CPU-ms, the handler's thread in the stack's worker processes) against the "
            "floor's, by part (each part without the parts it calls); the local poller's receive/delete CPU "
            "apart (the event source mapping's on AWS)"
        )
        print(
            table(
                ["mix", "worker", "floor", "x floor", *CPU_PARTS, "total-parts", "poller sqs"],
                [
                    [
                        name,
                        c["cpu_ms_per_device"],
                        c["floor_cpu_ms_per_device"],
                        c["ratio_to_floor"],
                        *(c["parts_ms_per_device"][part] for part in CPU_PARTS),
                        c["total_minus_parts_ms_per_device"],
                        c["poller_sqs_cpu_ms_per_device"],
                    ]
                    for name, c in ((n, m["worker_cpu"]) for n, m in mixes.items())
                ],
            )
        )
        for name, m in mixes.items():
            ops = ", ".join(
                f"{op} {v}" for op, v in m["worker_cpu"]["aws_ms_per_device_by_operation"].items()
            )
            print(f"  {name}: worker AWS CPU-ms/device by op: {ops}")
        print(
            "  parts: parse = get_hconfig of running and intended; remediation/rollback = WorkflowRemediation's "
            "remediation_config/rollback_config; text = configs to text; validation = check_device_configs "
            "and the risk rules; hier_config_other = the rest of compute_remediation; json = pydantic called "
            "by the service (message, result items); aws = botocore calls; powertools = BatchProcessor, "
            "logger, metrics; netremedy = the service's own code around them; free = unlinking a device's trees, "
            "which frees them (logic.remediation.unlink_trees); gc = the garbage collector, "
            "whichever part triggered it; unattributed = in the handler but in none of these (Powertools' "
            "decorators, the meter's cost)"
        )
    for label, report in pipeline.get("profiles", {}).items():
        print(f"\ncProfile of the {label} handler (its own thread), all mixes together:")
        print(report)
    peer = results.get("peer")
    if peer:
        print(f"\nPeer: {peer.get('package', 'hier-config-api')}, uvicorn, one process")
        if "error" in peer:
            print(f"  error: {peer['error']}")
        else:
            ours = mixes.get(PEER_MIX)
            rows = [
                [
                    "hier-config-api",
                    peer["devices"],
                    1,
                    peer["post_latency_s"],
                    peer["total_s"],
                    peer["devices_per_s"],
                ]
            ]
            if ours:
                rows.append(
                    [
                        "netremedy (local stack)",
                        ours["devices"],
                        3 if ours["via"] == "upload" else 1,
                        ours["accept_s"],
                        ours["pipeline_s"],
                        ours["devices_per_s"],
                    ]
                )
            print(table(["service", "devices", "requests to start", "accepted s", "total s", "dev/s"], rows))
    if mixes:
        print(
            "\nCost per device (service calls: client status polls and empty receives taken out; "
            f"prices {results['prices']['region']}, {results['prices']['as_of']})"
        )
        print(
            table(
                [
                    "mix",
                    "AWS calls",
                    "+empty rcv",
                    "job writes",
                    "SQS msgs",
                    "SQS billed",
                    "DDB WRU",
                    "DDB RRU",
                    "S3 PUT",
                    "S3 GET",
                    "$/1k total",
                    "$ sqs",
                    "$ ddb",
                    "$ s3",
                    "$ λ req",
                    "$ λ GB-s",
                    "$ apigw",
                    "$ events",
                ],
                [
                    [
                        name,
                        c["aws_calls_per_device"],
                        c["aws_calls_per_device_incl_empty_receives"],
                        c["job_item_writes_per_device"],
                        round(sum(c["sqs_messages_per_device"].values()), 3),
                        c["sqs_billed_requests_per_device"],
                        c["dynamodb_wru_per_device"],
                        c["dynamodb_rru_per_device"],
                        c["s3_put_tier_per_device"],
                        c["s3_get_tier_per_device"],
                        c["estimated_usd_per_1000_devices"]["total"],
                        *(
                            c["estimated_usd_per_1000_devices"][k]
                            for k in (
                                "sqs",
                                "dynamodb",
                                "s3",
                                "lambda_requests",
                                "lambda_duration",
                                "api_gateway",
                                "eventbridge",
                            )
                        ),
                    ]
                    for name, c in ((n, m["cost"]) for n, m in mixes.items())
                ],
            )
        )
        for name, m in mixes.items():
            ops = ", ".join(
                f"{op.split(':')[1]} {v}" for op, v in m["cost"]["aws_calls_per_device_by_operation"].items()
            )
            queues = ", ".join(f"{q} {v}" for q, v in m["cost"]["sqs_messages_per_device"].items())
            print(f"  {name}: calls/device by op: {ops}")
            print(f"  {name}: SQS messages/device by queue: {queues}")
            lambdas = ", ".join(
                f"{fn} {r['invocations']} inv. {r['seconds']} s" for fn, r in m["cost"]["lambda"].items()
            )
            print(f"  {name}: Lambda: {lambdas}")
            if m["cost"]["unpriced_operations"]:
                print(f"  {name}: not priced: {', '.join(m['cost']['unpriced_operations'])}")
        first = next(iter(mixes.values()))["cost"]
        print(f"  one client status poll = {first['aws_calls_per_status_poll']} (not in the figures above)")
    cold = results.get("cold_start")
    if cold:
        imports = cold["imports"]
        print(
            f"\nCold start: import time in a fresh interpreter, median of {cold['runs']} "
            f"(Python {imports['python']})"
        )
        base = imports["results"][imports["baseline"]].get("median_ms")
        rows = []
        for target, row in imports["results"].items():
            if "error" in row:
                rows.append([target, "error", "", "", row["error"][:60]])
                continue
            rows.append(
                [
                    target,
                    row["median_ms"],
                    row["min_ms"],
                    round(row["median_ms"] / base, 2) if base else "",
                    "yes" if row["imports_hier_config"] else "no",
                ]
            )
        print(table(["module", "median ms", "min ms", "x bare", "loads hier_config"], rows))
        for module, breakdown in cold.get("import_breakdown_ms", {}).items():
            parts = ", ".join(f"{name} {ms:.0f}" for name, ms in breakdown.items())
            print(
                f"  -X importtime, {module}: cumulative ms by top-level package (nested ones overlap): {parts}"
            )
        for label, row in cold.get("worker_rss", {}).items():
            print(
                f"  worker peak RSS, {label}: {row['peak_rss_mb']} MB (after import {row['rss_after_import_mb']} "
                f"MB; compute {row['compute_seconds']} s) for {', '.join(row['pairs'])}"
            )
        first = cold.get("worker_first_invocation")
        if first:
            print(
                f"  worker first invocation, one message of {first['pair']}: {first['first_invocation_ms']} ms "
                f"(CPU {first['first_invocation_cpu_ms']} ms; second {first['second_invocation_ms']} ms, CPU "
                f"{first['second_invocation_cpu_ms']} ms; moto in-process, median of {first['runs']})"
            )
    hc4 = results.get("hc4")
    if hc4:
        if "error" in hc4:
            print(f"\nhier_config 4: error: {hc4['error']}")
        else:
            from hc4_compare import print_report as print_hc4

            print_hc4(hc4)
    print("\nTargets")
    print(
        table(
            ["target", "value", "threshold", "met", "note"],
            [
                [
                    t["target"],
                    t["value"],
                    t["threshold"],
                    {True: "MET", False: "NOT MET", None: "-"}[t["met"]],
                    t["note"],
                ]
                for t in results["targets"]
            ],
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description="netremedy against its floor, its peer and its targets",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument(
        "--mixes",
        "--sizes",
        dest="mixes",
        default=None,
        help="size classes and device counts, e.g. medium=1000,small=10000,large=100 "
        "(a class without =N takes its default size)",
    )
    parser.add_argument("--quick", action="store_true", help=f"small sizes ({QUICK_MIXES}), fewer repeats")
    parser.add_argument("--skip-peer", action="store_true", help="do not run hier-config-api")
    parser.add_argument("--skip-hc4", action="store_true", help="do not compare with hier_config 4")
    parser.add_argument("--skip-cold-start", action="store_true", help="do not time imports and peak RSS")
    parser.add_argument(
        "--skip-pipeline", action="store_true", help="floor (and the rest) only, no local stack"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="LOCAL_WORKERS of the local stack (default: its own default, the core count)",
    )
    parser.add_argument(
        "--profile",
        default="",
        help="cProfile these stack handlers (worker,create_job,write_back,fan_out,job_results), all mixes together; "
        "printed and kept in the JSON (slows them down)",
    )
    parser.add_argument("--keep-state", action="store_true", help="keep the local stack's state directory")
    parser.add_argument(
        "--import-runs", type=int, default=None, help="fresh interpreters per module (default 7)"
    )
    parser.add_argument(
        "--via",
        choices=("auto", "post", "upload"),
        default="auto",
        help="how each mix's one job is sent: one POST if it fits the API's limits, else an upload (auto), "
        "or always one of them",
    )
    parser.add_argument("--poll-interval", type=float, default=0.25, help="seconds between status polls")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds a mix may take to complete")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args()

    defaults = QUICK_MIXES if args.quick else DEFAULT_MIXES
    sizes = parse_mixes(args.mixes, defaults) if args.mixes else dict(defaults)
    import_runs = args.import_runs or (5 if args.quick else 7)
    grouped = pairs_by_class(load_pairs(args.corpus))
    mixes = {name: make_devices(grouped[name], count, name) for name, count in sizes.items()}

    results: dict[str, Any] = {
        "meta": {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": _git_commit(),
            "cpu_count": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "corpus": str(args.corpus),
            "corpus_pairs": {name: len(pairs) for name, pairs in grouped.items()},
            "sizes": sizes,
            "quick": args.quick,
            "poll_interval_s": args.poll_interval,
            "argv": sys.argv[1:],
        }
    }
    from costs import PRICES_USD

    results["prices"] = PRICES_USD

    from floor import run_floor

    floors = {}
    for name, devices in mixes.items():
        _log(f"floor: {len(devices)} {name} devices in-process")
        floors[name] = run_floor(devices)
        _log(f"floor: {name} {floors[name].seconds:.1f} s")
    results["floor"] = {name: floor.as_dict() for name, floor in floors.items()}

    if not args.skip_peer and PEER_MIX in mixes:
        from peer import run_peer

        _log(f"peer: hier-config-api on the {len(mixes[PEER_MIX])} {PEER_MIX} devices")
        try:
            results["peer"] = run_peer(mixes[PEER_MIX])
        except Exception as exc:  # noqa: BLE001
            results["peer"] = {"error": f"{exc.__class__.__name__}: {exc}"}

    if not args.skip_pipeline:
        results["pipeline"] = run_pipelines(args, mixes, floors)

    if not args.skip_cold_start:
        from coldstart import (
            BASELINE,
            first_invocation,
            import_breakdown,
            import_times,
            instruction_ratio,
            interpreters,
            paired_import_ratio,
            worker_peak_rss,
        )

        _log(f"cold start: {import_runs} fresh interpreters per handler module")
        largest = sorted(
            (p for p in load_pairs(args.corpus) if p.size_class == "large"), key=lambda p: -p.running_lines
        )[:3]
        results["cold_start"] = {
            "runs": import_runs,
            "imports": import_times(import_runs),
            # The target's figures: adjacent pairs (steadier than the medians above on this shared VM) and
            # instruction counts, on this Python and on the template's Lambda runtime when it is here.
            "worker_import": [
                {
                    **paired_import_ratio(15 if args.quick else 41, python=python),
                    "instructions": instruction_ratio(python=python),
                }
                for python in interpreters()
            ],
            "import_breakdown_ms": {
                "netremedy.handlers.remediate_devices": import_breakdown(),
                BASELINE: import_breakdown(BASELINE),
            },
            "worker_rss": worker_peak_rss([(p.platform, p.running_path, p.intended_path) for p in largest]),
        }
        # The worker's first invocation (what its import leaves for later), on the median medium pair.
        medium = sorted(
            (p for p in load_pairs(args.corpus) if p.size_class == "medium"), key=lambda p: p.running_lines
        )
        middle = medium[len(medium) // 2]
        results["cold_start"]["worker_first_invocation"] = first_invocation(
            (middle.platform, middle.running_path, middle.intended_path)
        )

    if not args.skip_hc4:
        from hc4_compare import compare

        _log("hier_config 4: every corpus pair with 3.7.1 and 4.x")
        try:
            results["hc4"] = compare(args.corpus, repeat=1 if args.quick else 3)
        except Exception as exc:  # noqa: BLE001
            results["hc4"] = {"error": f"{exc.__class__.__name__}: {exc}"}

    results["targets"] = evaluate_targets(results)
    results["meta"]["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    print_report(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
