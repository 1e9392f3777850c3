"""Fleet-scale benchmark on the embedded local stack: a 10,000-device POST and a 100,000-device S3 drop.

Prints, per scenario: POST (or drop) latency, total time to completed, devices/s, writes to the job row
per device, and AWS API calls per device by operation (counted in every stack process by a botocore
event hook, see infra/netremedy_local/metering.py). Figures go to bench/results/fleet.json too.

    .venv/bin/python bench/fleet_bench.py [--api-devices 10000] [--drop-devices 100000]
"""

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import requests

from netremedy_local.launcher import StackLauncher, StackStartError
from netremedy_local.metering import totals

ROOT = Path(__file__).resolve().parents[1]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-devices", type=int, default=10_000)
    parser.add_argument("--drop-devices", type=int, default=100_000)
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
            time.sleep(2)  # let every process flush its counts
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
            time.sleep(2)
            results.append(
                _report("s3-drop", args.drop_devices, accepted, elapsed, totals(state) - before)
                | {"final": status}
            )
    finally:
        stack.stop()
    out = ROOT / "bench" / "results" / "fleet.json"
    out.write_text(json.dumps({"machine_cores": os.cpu_count(), "results": results}, indent=2) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
