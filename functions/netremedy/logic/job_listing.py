"""Listing a caller's jobs, newest first, a page at a time.

A status filter is applied here, to the status readers see (``effective_status``: an open job whose devices
are all counted is completed), which no DynamoDB filter expression can compute. A filter that matches few
jobs must still answer promptly, so a page reads at most ``MAX_EXAMINED_JOBS`` rows: when that bound is
reached, the page holds what matched so far and ``next_token`` resumes after the last row read. Every token
moves past at least one row, so following them always ends.
"""

from netremedy.dal import job_table
from netremedy.logic.jobs import ACCOUNT_OWNER
from netremedy.logic.lifecycle import TERMINAL_STATES, effective_status
from netremedy.logic.results import decode_page_token, encode_page_token
from netremedy.models.api import (
    JOBS_PAGE_DEFAULT,
    JOBS_PAGE_MAX,
    JobListEntry,
    JobListResponse,
    JobOwnerScope,
    JobStatus,
)
from netremedy.models.items import JobItem
from netremedy.models.settings import ServiceSettings

MAX_EXAMINED_JOBS = 1000
# A token's position: the last row's created_at (logic.clock.iso) and job id, as "<created_at> <job_id>".
_POSITION_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# DynamoDB reads per page: a page and one row more without a filter (to know whether more remain), bigger
# reads with one (most rows may not match).
_FILTERED_READ_SIZE = 100


def _entry(job: JobItem) -> JobListEntry:
    status = effective_status(job)
    return JobListEntry(
        job_id=job.job_id,
        status=status,
        total_devices=job.total_devices,
        completed_devices=job.completed_devices,
        failed_devices=job.failed_devices,
        created_at=job.created_at,
        # A job's last write is its close, or the counting of its last device for one not closed yet.
        finished_at=job.updated_at if status in TERMINAL_STATES else None,
        source=job.source,
    )


def _position(job: JobItem) -> str:
    return f"{job.created_at} {job.job_id}"


def list_jobs(
    settings: ServiceSettings,
    caller: str,
    *,
    owner: JobOwnerScope = "me",
    status: JobStatus | None = None,
    limit: int | None = None,
    next_token: str | None = None,
) -> JobListResponse:
    """A page of the caller's jobs (``owner="account"``: the account's, started by S3 drops), newest first,
    only those whose status is ``status`` if given."""
    page_limit = min(limit or JOBS_PAGE_DEFAULT, JOBS_PAGE_MAX)
    before: tuple[str, str] | None = None
    if next_token:
        created_at, job_id = decode_page_token(next_token, _POSITION_PATTERN).split(" ")
        before = (created_at, job_id)
    rows = job_table.query_jobs_by_owner(
        settings.table_name,
        ACCOUNT_OWNER if owner == "account" else caller,
        before=before,
        page_size=page_limit + 1 if status is None else _FILTERED_READ_SIZE,
    )
    jobs: list[JobListEntry] = []
    position = ""
    for examined, job in enumerate(rows):
        if len(jobs) == page_limit or examined == MAX_EXAMINED_JOBS:
            # More rows remain: resume after the last one returned, or the last one the filter read past.
            return JobListResponse(jobs=jobs, next_token=encode_page_token(position))
        position = _position(job)
        entry = _entry(job)
        if status is None or entry.status == status:
            jobs.append(entry)
    return JobListResponse(jobs=jobs)
