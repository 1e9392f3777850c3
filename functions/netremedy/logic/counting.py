"""Counting rules: record device results and bump job counters exactly once, then complete the jobs whose
devices are all counted (through ``logic.lifecycle``, which says how a job ends and is announced).

Shared by the worker, the dead-letter consumer and the deadline sweeper; it does not import hier_config, so
the functions that only count start fast.
"""

import json
from dataclasses import dataclass

from netremedy.dal import job_table
from netremedy.logic import lifecycle
from netremedy.logic.clock import expiry_epoch, iso, utc_now
from netremedy.logic.error_text import bounded_error
from netremedy.models.items import DeviceResultItem
from netremedy.models.settings import ServiceSettings
from netremedy.observability import logger


@dataclass(frozen=True)
class BatchCount:
    recorded: int
    duplicates: int
    # Of the recorded (first-time) results: finished without error (held included), failures, and the
    # remediation lines of the finished.
    succeeded: int
    failed: int
    remediation_lines: int
    skipped_closed_job: int
    jobs_completed: list[str]
    # Completed jobs announced again: the batch was a redelivery with nothing new for them.
    jobs_reannounced: list[str]
    # Results DynamoDB would not store, each replaced by a failed result (counted as such when recorded).
    unstorable: int


class UnstorableResultError(Exception):
    """Even the short failed result that replaces a result DynamoDB refused could not be stored."""


def failed_result(
    settings: ServiceSettings, job_id: str, device_id: str, error: str, platform: str | None = None
) -> DeviceResultItem:
    """``platform`` when known, so the device counts under it in the job's per-platform counters."""
    now = utc_now()
    return DeviceResultItem(
        job_id=job_id,
        device_id=device_id,
        status="failed",
        platform=platform,
        error=bounded_error(error),
        finished_at=iso(now),
        expires_at=expiry_epoch(now, settings.job_ttl_days),
    )


def identify_devices(body: str) -> tuple[str, list[str]] | None:
    """The job_id and device_ids a message is about, even when the rest of it is unreadable."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python's stack
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


def inline_platforms(body: str) -> dict[str, str]:
    """The platform of each device of a message that carries its payload inline (device_id -> platform), so a
    dead letter's devices count under their platform; claim-checked or unreadable ones are left out."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(document, dict):
        return {}
    entries = document.get("devices") if "devices" in document else [document]
    platforms: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        # A manifest's device by key carries its platform in its reference.
        payload = (entry.get("payload") or entry.get("reference")) if isinstance(entry, dict) else None
        if isinstance(payload, dict) and isinstance(payload.get("platform"), str):
            platforms[str(entry.get("device_id"))] = payload["platform"]
    return platforms


def unstorable_reason(cause: str) -> str:
    return f"the result could not be stored ({cause}); submit this device again"


def _commit(settings: ServiceSettings, results: list[DeviceResultItem]) -> job_table.CommitOutcome:
    return job_table.commit_device_results(
        settings.table_name,
        results,
        iso(utc_now()),
        status=lifecycle.COUNTING_STATE,
        from_states=lifecycle.COUNTING_SOURCES,
    )


def _commit_isolated(settings: ServiceSettings, results: list[DeviceResultItem]) -> job_table.CommitOutcome:
    """Commit the results; a device whose result DynamoDB refuses is recorded as failed with a short reason,
    at once, so that it neither fails the others nor sends the batch back for retries that fail the same way."""
    outcome = _commit(settings, results)
    if not outcome.unstorable:
        return outcome
    for refused in outcome.unstorable:
        logger.warning(
            "device result refused by DynamoDB; recorded as failed",
            extra={
                "job_id": refused.result.job_id,
                "device_id": refused.result.device_id,
                "cause": refused.cause,
            },
        )
    replacements = _commit(
        settings,
        [
            failed_result(
                settings,
                refused.result.job_id,
                refused.result.device_id,
                unstorable_reason(refused.cause),
                refused.result.platform,
            )
            for refused in outcome.unstorable
        ],
    )
    if replacements.unstorable:
        causes = sorted({refused.cause for refused in replacements.unstorable})
        raise UnstorableResultError(f"failed results refused too: {', '.join(causes)}")
    outcome.recorded += replacements.recorded
    outcome.duplicates += replacements.duplicates
    outcome.job_closed += replacements.job_closed
    return outcome


def record_results(
    settings: ServiceSettings,
    results: list[DeviceResultItem],
    job_ids: set[str],
    *,
    redelivered_on_error: bool = True,
) -> BatchCount:
    """Count the batch's results exactly once, then complete every job of ``job_ids`` whose devices are all in.

    The completion runs for every job of the batch, even when all its devices were duplicates, so a worker
    that died between counting and closing is made good by the redelivery; and a redelivery with nothing new
    for a job that is already completed announces it again (the worker may have died after the close, before
    the announcement). ``redelivered_on_error``: the caller's batch comes back if this raises (SQS), so a
    failed announcement raises; the sweeper's does not, so there it is logged.
    """
    outcome = _commit_isolated(settings, results)
    recorded = outcome.recorded
    # For a completed job, nothing new means every one of its devices here was a duplicate.
    nothing_new = {result.job_id for result in results} - {result.job_id for result in recorded}
    completed: list[str] = []
    reannounced: list[str] = []
    for job_id in sorted(job_ids):
        if lifecycle.end_job(settings, job_id, "completed", strict_announce=redelivered_on_error):
            completed.append(job_id)
        elif (
            redelivered_on_error
            and job_id in nothing_new
            and lifecycle.announce_again_if_completed(settings, job_id)
        ):
            reannounced.append(job_id)
    succeeded = sum(1 for result in recorded if result.status != "failed")
    return BatchCount(
        recorded=len(recorded),
        duplicates=len(outcome.duplicates),
        skipped_closed_job=len(outcome.job_closed),
        jobs_completed=completed,
        jobs_reannounced=reannounced,
        succeeded=succeeded,
        failed=len(recorded) - succeeded,
        remediation_lines=sum(result.remediation_lines or 0 for result in recorded),
        unstorable=len(outcome.unstorable),
    )
