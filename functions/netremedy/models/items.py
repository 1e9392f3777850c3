"""Shapes of the rows in the job table (single-table design: one partition per job) and their keys.

S3 keys live in ``models.object_keys``."""

from typing import Literal

from pydantic import BaseModel

JOB_SORT_KEY = "JOB"
DEVICE_SORT_PREFIX = "DEVICE#"
# Open jobs carry this in ``open_shard`` so that they, and only they, appear in the sparse OpenJobs index
# (sorted by deadline) that the sweeper reads; closing a job removes the attribute.
OPEN_SHARD = "OPEN"
OPEN_JOBS_INDEX = "OpenJobs"
# A job's states; which follow which is logic.lifecycle's table.
JobState = Literal["pending", "running", "completed", "failed", "cancelled"]


def job_partition_key(job_id: str) -> str:
    return f"JOB#{job_id}"


def device_sort_key(device_id: str) -> str:
    return f"{DEVICE_SORT_PREFIX}{device_id}"


class JobItem(BaseModel):
    """The job row: counters that workers bump atomically, and the life-cycle status."""

    job_id: str
    status: JobState
    total_devices: int
    completed_devices: int = 0
    failed_devices: int = 0
    created_at: str
    updated_at: str
    expires_at: int
    deadline_at: str | None = None
    open_shard: str | None = None
    owner: str = "anonymous"
    source: str = "api"
    error: str | None = None


class DeviceResultItem(BaseModel):
    """A device's final result. Written once (conditional put); large texts live in S3 under ``output_key``."""

    job_id: str
    device_id: str
    status: Literal["success", "failed"]
    platform: str | None = None
    remediation: str | None = None
    rollback: str | None = None
    diff: str | None = None
    future: str | None = None
    remediation_lines: int | None = None
    error: str | None = None
    output_key: str | None = None
    finished_at: str
    expires_at: int
