"""The pipeline: the same devices through the local stack end to end, as a client would drive it.

One job per mix, sent as the CLI sends it (client/netremedy_cli's ApiClient): one POST
/api/v1/batch/remediation when the devices fit the API's limits, else an upload (POST /api/v1/batch/uploads,
the manifest to S3 through the pre-signed form, then POST /api/v1/batch/remediation with
``{"manifest_upload": id}``) -> poll GET .../jobs/{id} until it is completed -> every result fetched page by
page (next_token) and checked against the floor's text. The clock runs from the first request (the upload's,
if any) to the last result page. The write-back of the results to S3, which the service does after a job
completes, is waited for afterwards (its AWS calls are part of the cost, its time is reported apart).
"""

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import requests
from corpus import Device
from floor import digest
from stack import Delta, LocalStack, Snapshot

from netremedy_cli.api_client import ApiClient

TERMINAL = ("completed", "failed", "cancelled")
Via = Literal["auto", "post", "upload"]


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
    via: str = "post"
    upload_s: float | None = None  # the manifest's POST to S3 (not an API request: not in http_requests)
    manifest_bytes: int | None = None
    # Every process's CPU when the last result page arrived: what the write-back uses after it is outside.
    at_results: Snapshot | None = None


_API_KINDS = {"/api/v1/batch/remediation": "post", "/api/v1/batch/uploads": "upload_form"}


class _BenchClient(ApiClient):
    """The CLI's client, recording each API request's time (costs.py prices it by the function serving it)
    and the manifest upload's."""

    def __init__(self, api: str, run: PipelineRun) -> None:
        super().__init__(api, caller="bench")
        self._run = run

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return super()._call(method, path, **kwargs)
        finally:
            self._run.http_requests.append(
                {"kind": _API_KINDS[path], "seconds": time.perf_counter() - started}
            )

    def _upload(self, url: str, fields: Any, manifest: bytes) -> None:  # type: ignore[override]
        started = time.perf_counter()
        ApiClient._upload(url, fields, manifest)
        self._run.upload_s = time.perf_counter() - started
        self._run.manifest_bytes = len(manifest)


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
    via: Via = "auto",
) -> PipelineRun:
    api = stack.api
    run = PipelineRun(devices=len(devices))
    body = {"device_configs": [device.as_request() for device in devices]}
    session = requests.Session()
    headers = {"Content-Type": "application/json", "x-netremedy-caller": "bench"}
    client = _BenchClient(api, run)

    # Decided before the clock starts (the check encodes the whole body once more).
    run.via = "upload" if via == "upload" or via == "auto" and not ApiClient.fits_one_post(body) else "post"
    started = time.perf_counter()
    if run.via == "upload":
        created, _ = client.submit_by_upload(body)
    else:
        created = client.submit(body)  # over the limits with --via post: the client says which one
    run.accept_s = time.perf_counter() - started
    job_ids = [created["job_id"]]
    run.posts.append(
        {
            "via": run.via,
            "devices": created.get("total_devices"),  # null until the service has read an uploaded manifest
            "manifest_bytes": run.manifest_bytes,
            "upload_s": round(run.upload_s, 3) if run.upload_s is not None else None,
            "latency_s": round(run.accept_s, 3),
        }
    )

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
            if "results" not in page:
                raise RuntimeError(f"job {job_id} ({final[job_id].get('status')}): results answered {page}")
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
    run.at_results = stack.snapshot(settle=False)
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
