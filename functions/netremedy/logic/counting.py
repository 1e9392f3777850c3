"""Counting rules: record device results and bump job counters exactly once, then close finished jobs.

Shared by the worker, the dead-letter consumer and the deadline sweeper; it does not import hier_config, so
the functions that only count start fast.
"""

import json
from dataclasses import dataclass

from netremedy.dal import job_events, job_table
from netremedy.logic.clock import expiry_epoch, iso, utc_now
from netremedy.models.items import DeviceResultItem
from netremedy.models.settings import ServiceSettings


@dataclass(frozen=True)
class BatchCount:
    recorded: int
    duplicates: int
    # Of the recorded (first-time) results: successes, failures, and the successes' remediation lines.
    succeeded: int
    failed: int
    remediation_lines: int
    skipped_closed_job: int
    jobs_completed: list[str]


# One transaction holds at most 100 writes: a job's counter update plus its devices' puts.
_DEVICES_PER_COMMIT = 50


def failed_result(settings: ServiceSettings, job_id: str, device_id: str, error: str) -> DeviceResultItem:
    now = utc_now()
    return DeviceResultItem(
        job_id=job_id,
        device_id=device_id,
        status="failed",
        error=error,
        finished_at=iso(now),
        expires_at=expiry_epoch(now, settings.job_ttl_days),
    )


def identify_devices(body: str) -> tuple[str, list[str]] | None:
    """The job_id and device_ids a message is about, even when the rest of it is unreadable."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    job_id = document.get("job_id")
    entries = document.get("devices") if "devices" in document else [document]
    if not isinstance(job_id, str) or not job_id or not isinstance(entries, list):
        return None
    named = [entry.get("device_id") for entry in entries if isinstance(entry, dict)]
    device_ids = [device_id for device_id in named if isinstance(device_id, str) and device_id]
    if not device_ids or len(device_ids) != len(named):
        return None
    return job_id, device_ids


def _close_if_done(settings: ServiceSettings, job_id: str) -> bool:
    job = job_table.get_job(settings.table_name, job_id)
    if job is None or job.status not in ("pending", "running"):
        return False
    if job.completed_devices + job.failed_devices < job.total_devices:
        return False
    # Announce before closing: a crash in between makes the redelivery announce again (finalizing twice is
    # harmless), where the other order could lose the announcement for good.
    job_events.announce_ended(settings.finalize_queue_url, job_id)
    return job_table.close_completed_job(settings.table_name, job_id, iso(utc_now()))


def record_results(
    settings: ServiceSettings, results: list[DeviceResultItem], job_ids: set[str]
) -> BatchCount:
    """Count the batch's results exactly once, then close every job of the batch whose devices are all in.

    The close check runs for every job seen in the batch, even when all its devices were duplicates, so a
    worker that died between counting and closing is made good by the redelivery.
    """
    recorded = duplicates = closed = succeeded = lines = 0
    for start in range(0, len(results), _DEVICES_PER_COMMIT):
        outcome = job_table.commit_device_results(
            settings.table_name, results[start : start + _DEVICES_PER_COMMIT], iso(utc_now())
        )
        recorded += len(outcome.recorded)
        succeeded += sum(1 for result in outcome.recorded if result.status == "success")
        lines += sum(result.remediation_lines or 0 for result in outcome.recorded)
        duplicates += len(outcome.duplicates)
        closed += len(outcome.job_closed)
    completed = [job_id for job_id in sorted(job_ids) if _close_if_done(settings, job_id)]
    return BatchCount(
        recorded=recorded,
        duplicates=duplicates,
        skipped_closed_job=closed,
        jobs_completed=completed,
        succeeded=succeeded,
        failed=recorded - succeeded,
        remediation_lines=lines,
    )
