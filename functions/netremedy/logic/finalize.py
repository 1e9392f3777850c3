"""Writing a completed job's results back to S3: one object per device, a JSON Lines bundle of all of them,
and summary.json last (its presence says the rest is complete). Idempotent: it may run more than once."""

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from netremedy.dal import blob_store, job_table
from netremedy.logic.clock import iso, utc_now
from netremedy.logic.jobs import effective_status
from netremedy.logic.results import bundle_key, public_result, results_prefix
from netremedy.models.settings import ServiceSettings

_WRITERS = 16


def summary_key(job_id: str) -> str:
    return f"{results_prefix(job_id)}summary.json"


def device_key(job_id: str, device_id: str) -> str:
    return f"{results_prefix(job_id)}devices/{device_id}.json"


def write_back_results(settings: ServiceSettings, job_id: str) -> dict[str, Any] | None:
    """The job's summary once written; None when the job does not exist (expired) or is not completed."""
    job = job_table.get_job(settings.table_name, job_id)
    # The announcement is sent just before the job is closed, so the job may still read "running" here
    # with every device counted: that is a completed job too.
    if job is None or effective_status(job) != "completed":
        return None
    lines: list[str] = []

    def write_device(document: dict[str, Any]) -> None:
        blob_store.put_bytes(settings.bucket_name, device_key(job_id, document["device_id"]),
                             json.dumps(document).encode(), "application/json")

    with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
        pending = []
        for item in job_table.query_device_results(settings.table_name, job_id):
            document = public_result(settings, item).model_dump()
            lines.append(json.dumps(document))
            pending.append(pool.submit(write_device, document))
        for future in pending:
            future.result()
    blob_store.put_bytes(settings.bucket_name, bundle_key(job_id), ("\n".join(lines) + "\n").encode(),
                         "application/x-ndjson")
    summary = {
        "job_id": job_id,
        "status": "completed",
        "source": job.source,
        "total_devices": job.total_devices,
        "completed_devices": job.completed_devices,
        "failed_devices": job.failed_devices,
        "created_at": job.created_at,
        "finished_at": job.updated_at,
        "written_at": iso(utc_now()),
        "bundle_key": bundle_key(job_id),
        "devices_prefix": f"{results_prefix(job_id)}devices/",
    }
    blob_store.put_bytes(settings.bucket_name, summary_key(job_id), json.dumps(summary, indent=2).encode(),
                         "application/json")
    return summary
