"""What happens once a job has ended: a completed job's results are written back to S3 (a JSON Lines bundle
of all of them, one object per device for jobs started by an S3 drop, the HTML report, and summary.json
last: its presence says the rest is complete), and every ended job is announced on EventBridge as
JobCompleted. Idempotent: it may run more than once."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from netremedy.dal import blob_store, event_bus, job_table
from netremedy.logic.clock import iso, utc_now
from netremedy.logic.compliance import compliance_fields
from netremedy.logic.jobs import UPLOAD_SOURCE_PREFIX
from netremedy.logic.lifecycle import OPEN_STATES
from netremedy.logic.results import public_result
from netremedy.models.items import JobItem
from netremedy.models.object_keys import bundle_key, device_key, devices_prefix, results_prefix, summary_key
from netremedy.models.settings import ServiceSettings

_WRITERS = 16


def finish_ended_job(settings: ServiceSettings, job_id: str) -> dict[str, Any] | None:
    """Write back a completed job's results and publish JobCompleted for any ended job; returns the event's
    detail, or None when the job does not exist (expired) or has not ended."""
    job = job_table.get_job(settings.table_name, job_id)
    if job is None:
        return None
    # A job is announced only after it is closed (logic.lifecycle), so its stored status is final here.
    status = job.status
    if status in OPEN_STATES:
        return None
    written = False
    if status == "completed":
        # A completion can be announced again (a redelivered batch, see logic.lifecycle): the repeat finds
        # the summary, the last object written, and skips the work.
        written = blob_store.exists(settings.bucket_name, summary_key(job_id)) or bool(
            write_back_results(settings, job)
        )
    detail = {
        **_job_record(job, status),
        "duration_seconds": job_duration_seconds(job),
        "results_prefix": results_prefix(job_id) if written else None,
        "error": job.error,
    }
    event_bus.publish_job_completed(settings.event_bus_name, detail)
    return detail


def _job_record(job: JobItem, status: str) -> dict[str, Any]:
    """What the JobCompleted event and summary.json both say about an ended job."""
    return {
        "job_id": job.job_id,
        "status": status,
        "source": job.source,
        "total_devices": job.total_devices,
        "completed_devices": job.completed_devices,
        "failed_devices": job.failed_devices,
        **compliance_fields(job),
        "created_at": job.created_at,
        "finished_at": job.updated_at,
    }


def job_duration_seconds(job: JobItem) -> float:
    return round(
        (datetime.fromisoformat(job.updated_at) - datetime.fromisoformat(job.created_at)).total_seconds(), 3
    )


def write_back_results(settings: ServiceSettings, job: JobItem) -> dict[str, Any]:
    """Write the completed job's results to S3; returns its summary.

    Objects per device are written for jobs started by an S3 drop, whose users read results from S3; an API
    job's caller (an uploaded manifest's too) reads them from the API, so it gets the bundle and the summary
    only (one PUT per device was most of an API job's AWS calls, and $0.005 per 1,000 devices).
    """
    job_id = job.job_id
    per_device = job.source != "api" and not job.source.startswith(UPLOAD_SOURCE_PREFIX)
    lines: list[str] = []

    def write_device(device_id: str, line: str) -> None:
        blob_store.put_bytes(
            settings.bucket_name, device_key(job_id, device_id), line.encode(), "application/json"
        )

    with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
        pending = []
        for item in job_table.query_device_results(settings.table_name, job_id):
            line = json.dumps(public_result(settings, item).model_dump())
            lines.append(line)
            if per_device:
                pending.append(pool.submit(write_device, item.device_id, line))
        for future in pending:
            future.result()
    blob_store.put_bytes(
        settings.bucket_name, bundle_key(job_id), ("\n".join(lines) + "\n").encode(), "application/x-ndjson"
    )
    # The HTML report before summary.json, whose presence says the rest is written. Imported here: it loads
    # hier_config (the fleet report's computation), which this function's cold start otherwise does without.
    from netremedy.logic.html_report import write_job_report

    report = write_job_report(settings, job)
    summary = {
        **_job_record(job, "completed"),
        "written_at": iso(utc_now()),
        "bundle_key": bundle_key(job_id),
        "report_key": report,
        "devices_prefix": devices_prefix(job_id) if per_device else None,
    }
    blob_store.put_bytes(
        settings.bucket_name, summary_key(job_id), json.dumps(summary, indent=2).encode(), "application/json"
    )
    return summary
