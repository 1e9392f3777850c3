"""Shapes of the rows in the job table (single-table design: one partition per job) and their keys.

S3 keys live in ``models.object_keys``."""

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict

from netremedy.models.risks import RiskFlag

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

    model_config = ConfigDict(defer_build=True)

    job_id: str
    status: JobState
    # None until the manifest of a job started from an upload is read (the row holds no attribute then).
    total_devices: int | None = None
    # Finished without error (held devices included) and with an error; completed + failed = total at the end.
    completed_devices: int = 0
    failed_devices: int = 0
    # Of the completed: compliant (nothing to change) and not (held devices included, held is a subset).
    # Rows written before these counters existed read as 0.
    compliant_devices: int = 0
    non_compliant_devices: int = 0
    held_devices: int = 0
    # {platform: {counter: n}} for the counters of PLATFORM_COUNTERS; the row holds each as its own attribute
    # (platform_counter_attribute), which a transaction's ADD creates on first use (a nested map would not be).
    platform_counts: dict[str, dict[str, int]] = {}
    created_at: str
    updated_at: str
    expires_at: int
    deadline_at: str | None = None
    open_shard: str | None = None
    owner: str = "anonymous"
    source: str = "api"
    error: str | None = None
    # Why an uploaded manifest was refused, each problem with its field path ({field, message}).
    error_details: list[dict[str, str]] | None = None


class DeviceResultItem(BaseModel):
    """A device's final result. Written once (conditional put); large texts live in S3 under ``output_key``."""

    job_id: str
    device_id: str
    # "held": computed, but its remediation is withheld because it holds lock-out risks (options.on_risk).
    status: Literal["success", "failed", "held"]
    platform: str | None = None
    remediation: str | None = None
    rollback: str | None = None
    diff: str | None = None
    future: str | None = None
    remediation_lines: int | None = None
    error: str | None = None
    output_key: str | None = None
    # Empty remediation under the job's options; None for a failed device (and rows written before it existed).
    compliant: bool | None = None
    risks: list[RiskFlag] | None = None
    finished_at: str
    expires_at: int


# Job row counters per platform: the attribute ``platform#<platform>#<counter>`` for each counter here. Held
# devices are counted in non_compliant too; a platform's total is the sum of compliant, non_compliant, failed.
PLATFORM_COUNTER_PREFIX = "platform#"
PLATFORM_COUNTERS = ("compliant", "non_compliant", "failed", "held")
# A failed device whose platform the service could not read (a dead letter, a device lost past the deadline).
UNKNOWN_PLATFORM = "unknown"


def platform_counter_attribute(platform: str, counter: str) -> str:
    return f"{PLATFORM_COUNTER_PREFIX}{platform}#{counter}"


def job_counter_increments(results: Iterable[DeviceResultItem]) -> dict[str, int]:
    """What recording ``results`` adds to their job row (attribute -> increment): each result once in
    completed_devices or failed_devices, once in compliant, non-compliant or failed, and under its platform."""
    increments = {"completed_devices": 0, "failed_devices": 0}
    for result in results:
        platform = result.platform or UNKNOWN_PLATFORM
        if result.status == "failed":
            counters = ["failed_devices", platform_counter_attribute(platform, "failed")]
        else:
            kind = "compliant" if result.compliant else "non_compliant"
            counters = ["completed_devices", f"{kind}_devices", platform_counter_attribute(platform, kind)]
            if result.status == "held":
                counters += ["held_devices", platform_counter_attribute(platform, "held")]
        for counter in counters:
            increments[counter] = increments.get(counter, 0) + 1
    return increments


UPLOAD_SORT_KEY = "UPLOAD"


def upload_partition_key(upload_id: str) -> str:
    return f"UPLOAD#{upload_id}"


class UploadItem(BaseModel):
    """A pre-signed manifest upload: bound to the caller that asked for it, used by at most one job."""

    model_config = ConfigDict(defer_build=True)

    upload_id: str
    owner: str
    key: str
    created_at: str
    expires_at: int
    job_id: str | None = None


# Every job row by owner, newest first, for GET /api/v1/batch/jobs. It keys on owner and created_at, which job
# rows have always had, so jobs written before the index existed are listed too; other rows that carry both
# attributes (uploads) have another sort key and are skipped.
JOBS_BY_OWNER_INDEX = "JobsByOwner"
