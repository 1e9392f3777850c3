"""The pipeline: the same devices through the local stack end to end, as a client would drive it.

POST /api/v1/batch/remediation (as many POSTs as the API's 5 MiB body limit needs) -> poll GET .../jobs/{id}
until every job is completed -> every result fetched page by page (next_token) and checked against the floor's
text. The clock runs from the first POST to the last result page. The write-back of the results to S3, which
the service does after a job completes, is waited for afterwards (its AWS calls are part of the cost, its
time is reported apart).
"""

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
from corpus import Device
from floor import digest
from stack import Delta, LocalStack

from netremedy.models.api import MAX_REQUEST_BODY_BYTES

# The API refuses bodies over its limit (413 request_too_large); the room is for the list around the devices.
MAX_BODY_BYTES = MAX_REQUEST_BODY_BYTES - 64
MAX_DEVICES_PER_POST = 10_000
TERMINAL = ("completed", "failed", "cancelled")


def split_bodies(devices: list[Device]) -> list[bytes]:
    """As few POST bodies as the limits allow, of about equal size."""
    encoded = [json.dumps(device.as_request()).encode() for device in devices]
    total = sum(len(e) + 1 for e in encoded)
    count = max(1, -(-total // MAX_BODY_BYTES), -(-len(devices) // MAX_DEVICES_PER_POST))
    while True:
        chunks = _balanced(encoded, count, total / count)
        if all(
            sum(len(e) + 1 for e in chunk) <= MAX_BODY_BYTES and len(chunk) <= MAX_DEVICES_PER_POST
            for chunk in chunks
        ):
            return [b'{"device_configs": [' + b",".join(chunk) + b"]}" for chunk in chunks]
        count += 1


def _balanced(encoded: list[bytes], count: int, target: float) -> list[list[bytes]]:
    """Consecutive chunks, each closed once it reaches ``target`` bytes; the last takes what is left."""
    chunks: list[list[bytes]] = [[]]
    size = 0
    for item in encoded:
        if chunks[-1] and size + len(item) / 2 > target and len(chunks) < count:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += len(item) + 1
    return chunks


@dataclass
class PipelineRun:
    devices: int
    posts: list[dict[str, Any]] = field(default_factory=list)
    accept_s: float = 0.0
    completed_s: float = 0.0
    total_s: float = 0.0
    write_back_s: float | None = None
    status_polls: int = 0
    result_pages: int = 0
    succeeded: int = 0
    failed: int = 0
    mismatches: list[str] = field(default_factory=list)
    missing: int = 0
    jobs: list[dict[str, Any]] = field(default_factory=list)
    http_requests: list[dict[str, Any]] = field(default_factory=list)  # for the API Gateway/Lambda cost


def _request(
    session: requests.Session, run: PipelineRun, kind: str, method: str, url: str, **kwargs: Any
) -> requests.Response:
    started = time.perf_counter()
    response = session.request(method, url, timeout=900, **kwargs)
    run.http_requests.append({"kind": kind, "seconds": time.perf_counter() - started})
    return response


def run_pipeline(
    stack: LocalStack,
    devices: list[Device],
    expected: dict[str, str],
    *,
    poll_interval: float,
    timeout: float,
) -> PipelineRun:
    api = stack.api
    run = PipelineRun(devices=len(devices))
    bodies = split_bodies(devices)
    session = requests.Session()
    headers = {"Content-Type": "application/json", "x-netremedy-caller": "bench"}

    started = time.perf_counter()
    job_ids: list[str] = []
    for body in bodies:
        post_started = time.perf_counter()
        response = _request(
            session, run, "post", "POST", f"{api}/api/v1/batch/remediation", data=body, headers=headers
        )
        if response.status_code != 202:
            raise RuntimeError(f"POST answered {response.status_code}: {response.text[:500]}")
        created = response.json()
        job_ids.append(created["job_id"])
        run.posts.append(
            {
                "devices": created["total_devices"],
                "body_bytes": len(body),
                "latency_s": round(time.perf_counter() - post_started, 3),
            }
        )
    run.accept_s = time.perf_counter() - started

    open_jobs = set(job_ids)
    final: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while open_jobs:
        for job_id in sorted(open_jobs):
            status = _request(
                session, run, "status", "GET", f"{api}/api/v1/batch/jobs/{job_id}", headers=headers
            ).json()
            run.status_polls += 1
            if status["status"] in TERMINAL:
                final[job_id] = status
                open_jobs.discard(job_id)
        if open_jobs:
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs {sorted(open_jobs)} not finished after {timeout:.0f} s")
            time.sleep(poll_interval)
    run.completed_s = time.perf_counter() - started

    seen: Counter[str] = Counter()
    for job_id in job_ids:
        token: str | None = None
        while True:
            params = {"limit": 1000} | ({"next_token": token} if token else {})
            page = _request(
                session,
                run,
                "results",
                "GET",
                f"{api}/api/v1/batch/jobs/{job_id}/results",
                params=params,
                headers=headers,
            ).json()
            run.result_pages += 1
            for result in page["results"]:
                device_id = result["device_id"]
                seen[device_id] += 1
                if result["status"] == "success":
                    run.succeeded += 1
                    got = digest(result.get("remediation") or "", result.get("rollback") or "")
                else:
                    run.failed += 1
                    got = "failed"
                if expected.get(device_id) != got and len(run.mismatches) < 20:
                    run.mismatches.append(device_id)
            token = page.get("next_token")
            if not token:
                break
    run.total_s = time.perf_counter() - started
    run.missing = sum(1 for device in devices if seen[device.device_id] != 1)
    run.jobs = [
        {
            "job_id": job_id,
            **{
                k: final[job_id].get(k)
                for k in ("status", "total_devices", "completed_devices", "failed_devices")
            },
        }
        for job_id in job_ids
    ]

    # The service writes every completed job's results back to S3 (summary.json last): wait for it, so that
    # its calls are counted.
    s3 = stack.s3_client()
    bucket = stack.described["resources"]["ResultBucket"]
    pending = set(job_ids)
    wb_deadline = time.monotonic() + max(120.0, timeout / 4)
    while pending and time.monotonic() < wb_deadline:
        for job_id in sorted(pending):
            try:
                s3.head_object(Bucket=bucket, Key=f"results/{job_id}/summary.json")
                pending.discard(job_id)
            except s3.exceptions.ClientError:
                pass
        if pending:
            time.sleep(0.25)
    run.write_back_s = None if pending else time.perf_counter() - started
    stack.wait_idle()  # the write-back may still be announcing the job after summary.json
    return run


def calibrate_status_poll(
    stack: LocalStack, job_id: str, polls: int = 5
) -> tuple[Counter[str], Counter[str]]:
    """AWS calls and billing units of one status GET (measured on the API process), to take the client's polls
    out of the per-device cost."""
    api_pids = stack.pids("api")
    before = stack.snapshot()
    for _ in range(polls):
        requests.get(
            f"{stack.api}/api/v1/batch/jobs/{job_id}", headers={"x-netremedy-caller": "bench"}, timeout=60
        )
    after = stack.snapshot()
    delta = stack.delta(before, after)
    calls = delta.calls_total(api_pids)
    calls.pop("job_row_writes", None)
    units: Counter[str] = Counter()
    for pid in api_pids:
        units.update(delta.units.get(pid, Counter()))
    return (
        Counter({op: n / polls for op, n in calls.items()}),
        Counter({key: n / polls for key, n in units.items() if not key.startswith("calls:")}),
    )


def delta_summary(stack: LocalStack, delta: Delta) -> dict[str, Any]:
    return {"cpu_seconds_by_role": stack.cpu_by_role(delta), "wall_seconds": round(delta.seconds, 2)}
