"""HTTP request and response bodies of the public API (the contract in the batch-operations spec)."""

from collections.abc import Sequence
from typing import Annotated, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from netremedy.models.platforms import PlatformName

# Limits a user can plan around; the README documents them. API Gateway caps a request body at 10 MB, so a
# single config larger than this could never arrive together with its pair anyway.
MAX_DEVICES_PER_JOB = 10_000
MAX_CONFIG_BYTES = 4 * 1024 * 1024
# Safe as an S3 key segment and a DynamoDB sort-key suffix without escaping.
DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"

# The spec's four statuses, plus "cancelled" for a job stopped with DELETE.
JobStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]


class _HasDeviceId(Protocol):
    device_id: str


_Devices = TypeVar("_Devices", bound=Sequence[_HasDeviceId])


def require_unique_device_ids(devices: _Devices) -> _Devices:
    """Each device once per job: results, S3 objects and counting are all keyed by device_id."""
    seen: set[str] = set()
    for index, device in enumerate(devices):
        if device.device_id in seen:
            raise ValueError(f"device_id {device.device_id!r} (entry {index}) appears more than once")
        seen.add(device.device_id)
    return devices


class DeviceConfig(BaseModel):
    """One device of a batch: what it runs now and what it should run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: DeviceId = Field(
        description="Unique within the job; 1-128 characters of letters, digits, '.', '_' or '-'",
        examples=["router1"],
    )
    platform: PlatformName = Field(description="hier_config platform name, lowercase", examples=["cisco_ios"])
    running_config: str = Field(description="The device's running configuration", examples=["hostname router1"])
    intended_config: str = Field(
        description="The configuration the device should have", examples=["hostname router1-new"]
    )

    @field_validator("running_config", "intended_config")
    @classmethod
    def _utf8_within_size_limit(cls, value: str) -> str:
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError as exc:  # a lone surrogate escape such as "\udc80" in the JSON
            raise ValueError(f"is not valid UTF-8 text (undecodable data at character {exc.start})") from None
        if size > MAX_CONFIG_BYTES:
            raise ValueError(f"config is {size} bytes; the limit is {MAX_CONFIG_BYTES} bytes")
        return value


class BatchRemediationRequest(BaseModel):
    """Body of ``POST /api/v1/batch/remediation``."""

    model_config = ConfigDict(extra="forbid")

    device_configs: list[DeviceConfig] = Field(min_length=1, max_length=MAX_DEVICES_PER_JOB)
    allow_empty_intended: bool = Field(
        default=False,
        description="Accept an empty intended config (which removes everything) instead of failing the device",
    )

    @field_validator("device_configs")
    @classmethod
    def _unique_device_ids(cls, devices: list[DeviceConfig]) -> list[DeviceConfig]:
        return require_unique_device_ids(devices)


class JobCreatedResponse(BaseModel):
    job_id: str
    total_devices: int


class JobStatusResponse(BaseModel):
    job_id: str
    status: JobStatus
    progress: float = Field(ge=0, le=100)
    total_devices: int
    completed_devices: int
    failed_devices: int
    error: str | None = Field(default=None, description="Why the job itself failed (status 'failed' only)")


class DeviceSuccess(BaseModel):
    device_id: str
    status: Literal["success"] = "success"
    remediation: str
    rollback: str


class DeviceFailure(BaseModel):
    device_id: str
    status: Literal["failed"] = "failed"
    error: str


DeviceResult = DeviceSuccess | DeviceFailure


class JobSummary(BaseModel):
    total_devices: int
    completed_devices: int
    failed_devices: int
    status: JobStatus


class JobResultsResponse(BaseModel):
    job_id: str
    status: JobStatus
    results: list[DeviceResult]
    summary: JobSummary
    next_token: str | None = Field(
        default=None, description="Set while more results remain: pass it back as ?next_token= for the next page"
    )


class ResultsBundleResponse(BaseModel):
    job_id: str
    url: str = Field(description="Pre-signed S3 URL of every result as JSON Lines (one device per line)")
    expires_in: int = Field(description="Seconds the URL stays valid")
    format: Literal["jsonl"] = "jsonl"


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorResponse(BaseModel):
    error: str
    message: str
    details: list[ErrorDetail] = []
    job_id: str | None = Field(default=None, description="The job concerned, when one was recorded (503 only)")
