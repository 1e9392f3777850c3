"""Fleet-scale benchmark on the embedded local stack: a 10,000-device POST, a 100,000-device S3 drop, a
100,000-device prefix-pair drop, and the peak memory of reading a 100,000-device manifest.

Prints, per scenario: POST (or drop) latency, total time to completed, devices/s, writes to the job row
per device, and AWS API calls per device by operation (counted in every stack process by a botocore
event hook, see infra/netremedy_local/metering.py). The prefix-pair drop's results are each compared with
hier_config's own output, and its start's peak memory is measured as below (the start lists the two
prefixes but reads no config: the workers do). The memory figure is tracemalloc's peak in this process while
the drop function's code (``logic.manifests.load_drop``, then the fan-out ``start_job`` plans slice by slice)
reads a manifest from the stack's S3, as a multiple of the manifest's size. Figures go to
bench/results/fleet.json too.

    .venv/bin/python bench/fleet_bench.py [--api-devices 10000] [--drop-devices 100000]
        [--pair-devices 100000] [--memory-devices 100000]
"""

import argparse
import gc
import json
import os
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.config import Config
from hier_config import Platform, WorkflowRemediation, get_hconfig
from stack import FLUSH_SECONDS

from netremedy.dal.clients import clear_clients
from netremedy.logic.jobs import planned_slices
from netremedy.logic.manifests import LoadedDrop, load_drop
from netremedy.models.settings import ServiceSettings
from netremedy_local.launcher import StackLauncher, StackStartError
from netremedy_local.metering import totals

ROOT = Path(__file__).resolve().parents[1]
# The manifest-memory devices' configs: about 1.5 KB each, so that a 100,000-device manifest is a few hundred
# MB, the size the 1 GiB manifest limit is about (with small configs, Python's per-device objects dominate).
_MEMORY_INTERFACES = 20


def _devices(prefix: str, count: int) -> list[dict[str, str]]:
    return [
        {
            "device_id": f"{prefix}{i:06d}",
            "platform": "cisco_ios",
            "running_config": f"hostname {prefix}{i}\ninterface Gi0/1\n description uplink\n shutdown",
            "intended_config": f"hostname {prefix}{i}\ninterface Gi0/1\n description uplink-new\n no shutdown",
        }
        for i in range(count)
    ]


def _wait_completed(api: str, job_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status: dict[str, Any] = requests.get(f"{api}/api/v1/batch/jobs/{job_id}", timeout=60).json()
        if status["status"] in ("completed", "failed", "cancelled"):
            return status
        time.sleep(1)
    raise TimeoutError(f"job {job_id} not finished after {timeout:.0f} s")


def _report(name: str, devices: int, accept_s: float, total_s: float, calls: Counter[str]) -> dict[str, Any]:
    per_device = {
        op: round(count / devices, 4) for op, count in sorted(calls.items()) if op != "job_row_writes"
    }
    figures = {
        "scenario": name,
        "devices": devices,
        "accept_latency_s": round(accept_s, 2),
        "total_s": round(total_s, 1),
        "devices_per_s": round(devices / total_s, 1),
        "job_row_writes_per_device": round(calls["job_row_writes"] / devices, 4),
        "aws_calls_per_device": round(
            sum(c for op, c in calls.items() if op != "job_row_writes") / devices, 3
        ),
        "aws_calls_per_device_by_operation": per_device,
    }
    print(f"\n== {name}: {devices} devices")
    for key in (
        "accept_latency_s",
        "total_s",
        "devices_per_s",
        "job_row_writes_per_device",
        "aws_calls_per_device",
    ):
        print(f"  {key:28} {figures[key]}")
    for op, value in per_device.items():
        print(f"    {op:40} {value}")
    return figures


def _pair_configs(index: int, interfaces: int = 0) -> tuple[str, str, str]:
    """A backup tree's relative name and a running and an intended config that differ in a few lines;
    ``interfaces`` more unchanged interface sections make it bigger."""
    site, name = f"site{index % 100:02d}", f"sw{index:06d}"
    vlan = 100 + index % 50
    common = "".join(
        f"interface Gi1/0/{port}\n description access {port}\n switchport access vlan {vlan}\n"
        for port in range(interfaces)
    )
    running = (
        f"hostname {name}\nvlan {vlan}\n name users\ninterface Vlan{vlan}\n description users\n"
        f" ip address 10.{index % 250}.{vlan}.1 255.255.255.0\n shutdown\n{common}ntp server 10.0.0.1\n"
    )
    intended = (
        f"hostname {name}\nvlan {vlan}\n name users-{site}\ninterface Vlan{vlan}\n description users\n"
        f" ip address 10.{index % 250}.{vlan}.1 255.255.255.0\n no shutdown\n{common}ntp server 10.0.0.2\n"
    )
    return f"{site}/{name}", running, intended


def _expected(running: str, intended: str) -> str:
    workflow = WorkflowRemediation(
        get_hconfig(Platform.CISCO_IOS, running), get_hconfig(Platform.CISCO_IOS, intended)
    )
    return "\n".join(line.cisco_style_text() for line in workflow.remediation_config.all_children_sorted())


def _wait_for_json(s3: Any, bucket: str, key: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            document: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            return document
        except s3.exceptions.NoSuchKey:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{key} not written after {timeout:.0f} s") from None
            time.sleep(0.5)


def _prefix_pair_drop(
    api: str,
    s3: Any,
    bucket: str,
    devices: int,
    timeout: float,
    measure: Callable[[], Counter[str]],
    settings: ServiceSettings,
) -> dict[str, Any]:
    """Backups and intended configs as two trees of objects, one manifest naming the two prefixes. The start's
    peak memory is tracemalloc's, of the drop function's code (read, pair, plan the fan-out) run here."""
    seeded = time.monotonic()

    def seed(index: int) -> None:
        relative, running, intended = _pair_configs(index)
        s3.put_object(Bucket=bucket, Key=f"backups/{relative}.cfg", Body=running.encode())
        s3.put_object(Bucket=bucket, Key=f"intended/{relative}.conf", Body=intended.encode())

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(seed, range(devices)))
    print(f"prefix pairs: {2 * devices} objects seeded in {time.monotonic() - seeded:.0f} s")
    manifest = {"running_prefix": "backups/", "intended_prefix": "intended/", "platform": "cisco_ios"}
    s3.put_object(Bucket=bucket, Key="bench/pairs.json", Body=json.dumps(manifest).encode())
    start_peak = _peak_bytes(lambda: _read_and_plan(settings, bucket, "bench/pairs.json"))
    print(f"prefix pairs: the start's peak memory (read, pair, plan) {start_peak / 1e6:.1f} MB")
    before = measure()
    started = time.monotonic()
    s3.put_object(Bucket=bucket, Key="incoming/bench-pairs.json", Body=json.dumps(manifest).encode())
    accepted_doc = _wait_for_json(s3, bucket, "accepted/bench-pairs.json", timeout)
    accepted = time.monotonic() - started
    status = _wait_completed(api, accepted_doc["job_id"], timeout)
    elapsed = time.monotonic() - started
    time.sleep(FLUSH_SECONDS)
    figures = _report("s3-prefix-pair", devices, accepted, elapsed, measure() - before) | {
        "final": status,
        "start_peak_mb": round(start_peak / 1e6, 1),
    }
    # Every result against hier_config's own output, from the job's written-back bundle.
    _wait_for_json(s3, bucket, f"results/{accepted_doc['job_id']}/summary.json", timeout)
    written_back = time.monotonic() - started
    print(f"  written back (summary.json) after {written_back:.0f} s")
    figures["written_back_s"] = round(written_back, 1)
    bundle = s3.get_object(Bucket=bucket, Key=f"results/{accepted_doc['job_id']}/results.jsonl")["Body"]
    results = {row["device_id"]: row for row in map(json.loads, bundle.iter_lines())}
    mismatched = 0
    for index in range(devices):
        relative, running, intended = _pair_configs(index)
        result = results.get(relative.replace("/", "."), {})
        mismatched += result.get("status") != "success" or result.get("remediation") != _expected(
            running, intended
        )
    print(f"  results equal to hier_config's    {devices - mismatched} of {devices}")
    return figures | {"results_equal_to_hier_config": devices - mismatched}


def _previous_results(path: Path) -> list[dict[str, Any]]:
    try:
        results: list[dict[str, Any]] = json.loads(path.read_text())["results"]
    except (FileNotFoundError, KeyError, ValueError):
        return []
    return results


def _peak_bytes(run: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        kept = run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del kept
    return peak


def _drop_settings(endpoint: str, region: str, bucket: str) -> ServiceSettings:
    """This process as the drop function, against the stack's S3 (only S3 is used)."""
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_DEFAULT_REGION=region,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    clear_clients()
    return ServiceSettings.model_validate(
        {
            "TABLE_NAME": "-",
            "BUCKET_NAME": bucket,
            "DEVICE_QUEUE_URL": "-",
            "FINALIZE_QUEUE_URL": "-",
            "FANOUT_QUEUE_URL": "-",
        }
    )


def _read_and_plan(settings: ServiceSettings, bucket: str, key: str) -> LoadedDrop:
    """What the drop function holds while it fans out: the devices, and one slice's messages at a time."""
    loaded = load_drop(settings, bucket, key)
    for part in planned_slices(settings, "bench", loaded.devices, False, None):
        del part
    return loaded


def _manifest_memory(endpoint: str, region: str, s3: Any, bucket: str, devices: int) -> dict[str, Any]:
    """Peak memory of the drop function's reading (and of the fan-out plan start_job builds from it) for a
    JSON Lines and a JSON manifest of the same devices, run here against the stack's S3."""
    settings = _drop_settings(endpoint, region, bucket)
    rows = []
    for index in range(devices):
        relative, running, intended = _pair_configs(index, interfaces=_MEMORY_INTERFACES)
        rows.append(
            {
                "device_id": relative.replace("/", "."),
                "platform": "cisco_ios",
                "running_config": running,
                "intended_config": intended,
            }
        )
    figures: dict[str, Any] = {"scenario": "manifest-memory", "devices": devices}
    bodies = {
        "jsonl": ("\n".join(json.dumps(row) for row in rows) + "\n").encode(),
        "json": json.dumps({"device_configs": rows}).encode(),
    }
    del rows
    # Once before measuring: botocore loads its S3 model and builds the client on the first call.
    s3.put_object(Bucket=bucket, Key="bench/warm-up.jsonl", Body=bodies["jsonl"].split(b"\n", 1)[0])
    load_drop(settings, bucket, "bench/warm-up.jsonl")
    print(f"\n== manifest-memory: {devices} devices (tracemalloc peak / manifest size)")
    for kind, body in bodies.items():
        key = f"bench/manifest.{kind}"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        size = len(body)

        def read(key: str = key) -> LoadedDrop:
            return load_drop(settings, bucket, key)

        def read_and_plan(key: str = key) -> Any:
            return _read_and_plan(settings, bucket, key)

        read_peak, start_peak = _peak_bytes(read), _peak_bytes(read_and_plan)
        figures[kind] = {
            "manifest_mb": round(size / 1e6, 1),
            "read_peak_mb": round(read_peak / 1e6, 1),
            "read_peak_x": round(read_peak / size, 2),
            "start_peak_mb": round(start_peak / 1e6, 1),
            "start_peak_x": round(start_peak / size, 2),
        }
        print(
            f"  {kind:6} manifest {size / 1e6:7.1f} MB  read {read_peak / size:5.2f}x  read + fan-out (start) {start_peak / size:5.2f}x"
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-devices", type=int, default=10_000)
    parser.add_argument("--drop-devices", type=int, default=100_000)
    parser.add_argument("--pair-devices", type=int, default=100_000)
    parser.add_argument("--memory-devices", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=7200)
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="netremedy-bench-"))
    stack = StackLauncher(
        state, {"LOCAL_METER_AWS_CALLS": "1", "POWERTOOLS_LOG_LEVEL": "WARNING"}, project_root=ROOT
    )
    results: list[dict[str, Any]] = []
    try:
        try:
            described = stack.start()
        except StackStartError as exc:
            raise SystemExit(str(exc)) from None
        api = described.api_url
        print(f"local stack {api}, {os.cpu_count()} cores, state {state}")

        if args.api_devices:
            body = {"device_configs": _devices("api", args.api_devices)}
            print(f"POST body: {len(json.dumps(body)) / 1e6:.1f} MB")
            before = totals(state)
            started = time.monotonic()
            response = requests.post(f"{api}/api/v1/batch/remediation", json=body, timeout=600)
            accepted = time.monotonic() - started
            response.raise_for_status()
            status = _wait_completed(api, response.json()["job_id"], args.timeout)
            elapsed = time.monotonic() - started
            time.sleep(FLUSH_SECONDS)  # let every process flush its counts
            results.append(
                _report("api-post", args.api_devices, accepted, elapsed, totals(state) - before)
                | {"final": status}
            )

        if args.drop_devices:
            s3 = boto3.client(
                "s3",
                endpoint_url=described.aws_endpoint,
                region_name=described.region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            bucket = described.resources["ResultBucket"]
            manifest = json.dumps({"device_configs": _devices("drop", args.drop_devices)}).encode()
            print(f"drop manifest: {len(manifest) / 1e6:.1f} MB")
            before = totals(state)
            started = time.monotonic()
            s3.put_object(Bucket=bucket, Key="incoming/bench.json", Body=manifest)
            while True:
                try:
                    accepted_doc = json.loads(
                        s3.get_object(Bucket=bucket, Key="accepted/bench.json")["Body"].read()
                    )
                    break
                except s3.exceptions.NoSuchKey:
                    time.sleep(0.5)
            accepted = time.monotonic() - started
            status = _wait_completed(api, accepted_doc["job_id"], args.timeout)
            elapsed = time.monotonic() - started
            time.sleep(FLUSH_SECONDS)
            results.append(
                _report("s3-drop", args.drop_devices, accepted, elapsed, totals(state) - before)
                | {"final": status}
            )

        if args.pair_devices or args.memory_devices:
            s3 = boto3.client(
                "s3",
                endpoint_url=described.aws_endpoint,
                region_name=described.region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                # Seeding 200,000 objects from 32 threads.
                config=Config(max_pool_connections=32),
            )
            bucket = described.resources["ResultBucket"]
        if args.memory_devices:
            results.append(
                _manifest_memory(described.aws_endpoint, described.region, s3, bucket, args.memory_devices)
            )
        if args.pair_devices:
            settings = _drop_settings(described.aws_endpoint, described.region, bucket)
            results.append(
                _prefix_pair_drop(
                    api, s3, bucket, args.pair_devices, args.timeout, lambda: totals(state), settings
                )
            )
    finally:
        stack.stop()
    out = ROOT / "bench" / "results" / "fleet.json"
    # A run of some scenarios replaces theirs and keeps the others' last figures.
    ran = {result["scenario"] for result in results}
    kept = [result for result in _previous_results(out) if result["scenario"] not in ran]
    document = {"machine_cores": os.cpu_count(), "results": kept + results}
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
