"""HTTP request and response bodies of the public API (the contract in the batch-operations spec)."""

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_serializer,
)

# One device and its limits are models.devices (the worker imports that without every route's bodies here).
from netremedy.models.devices import OUTPUT_NAMES, DeviceConfig, require_unique_device_ids
from netremedy.models.options import RemediationOptions
from netremedy.models.platforms import PlatformInfo
from netremedy.models.risks import RiskFlag, RiskRule

# Limits a user can plan around; the README documents them.
MAX_DEVICES_PER_JOB = 10_000
# A POST body the API accepts. Lambda refuses an event over 6 MB, and the event carries the body as a JSON
# string (each line break and quote escaped again, about 3% for configs) beside the request's headers: over
# this limit a body could reach the function or not, depending on its content. The CLI and the benchmark
# split jobs to stay under it; bigger jobs go through S3 config drops.
MAX_REQUEST_BODY_BYTES = 5 * 1024 * 1024
# Per change in the fleet report; the count is always exact.
MAX_REPORT_DEVICE_IDS = 100
REPORT_LIMIT_MAX = 500
REPORT_LIMIT_DEFAULT = 100

# The spec's four statuses, plus "cancelled" for a job stopped with DELETE.
JobStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
# What POST /api/v1/batch/uploads answers as upload_id (a UUID4).
UPLOAD_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
UploadId = Annotated[str, StringConstraints(pattern=UPLOAD_ID_PATTERN)]


class BatchRemediationRequest(BaseModel):
    """Body of ``POST /api/v1/batch/remediation``: the devices inline, or an uploaded manifest."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    manifest_upload: UploadId | None = Field(
        default=None,
        description="Instead of device_configs: the upload_id of a manifest uploaded through "
        "POST /api/v1/batch/uploads (a big job); the job starts pending, its total_devices null until read",
    )
    # Validated even when absent, so that giving neither or both is an error naming the field.
    device_configs: list[DeviceConfig] | None = Field(
        default=None, min_length=1, max_length=MAX_DEVICES_PER_JOB, validate_default=True
    )
    allow_empty_intended: StrictBool = Field(
        default=False,
        description="Accept an empty intended config (which removes everything) instead of failing the device",
    )
    options: RemediationOptions = Field(
        default=RemediationOptions(),
        description="Applied to every device of the job; the defaults give the plain "
        "remediation and rollback",
    )

    @field_validator("device_configs")
    @classmethod
    def _unique_device_ids(
        cls, devices: list[DeviceConfig] | None, info: ValidationInfo
    ) -> list[DeviceConfig] | None:
        # info.data lacks manifest_upload when that field was itself invalid: its own error says so.
        if "manifest_upload" in info.data:
            upload = info.data["manifest_upload"]
            if devices is None and upload is None:
                raise ValueError("Field required (or give manifest_upload instead)")
            if devices is not None and upload is not None:
                raise ValueError("give either device_configs or manifest_upload, not both")
        return None if devices is None else require_unique_device_ids(devices)


class JobCreatedResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    job_id: str
    total_devices: int | None = Field(
        description="null for a job started from an upload: known once its manifest is read (poll the status)"
    )


class PlatformCounts(BaseModel):
    """One platform's devices of a job; total = compliant + non_compliant + failed."""

    model_config = ConfigDict(defer_build=True)

    total: int
    compliant: int
    non_compliant: int = Field(description="Held devices included")
    failed: int
    held: int


_COMPLIANT = "Finished devices already in their intended state: an empty remediation under the job's options"
_NON_COMPLIANT = "Finished devices that need changes (held devices included)"
_HELD = "Non-compliant devices whose remediation is withheld for lock-out risks (options.on_risk 'hold')"
_BY_PLATFORM = (
    "The counters per platform, 'unknown' for failed devices whose platform could not be read (a dead letter, "
    "a device lost past the job's deadline)"
)


class JobStatusResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    job_id: str
    status: JobStatus
    progress: float = Field(ge=0, le=100)
    total_devices: int | None = Field(
        description="null while the manifest of a job started from an upload is being read (status pending)"
    )
    completed_devices: int = Field(description="Devices finished without error (held devices included)")
    failed_devices: int
    compliant_devices: int = Field(description=_COMPLIANT)
    non_compliant_devices: int = Field(description=_NON_COMPLIANT)
    held_devices: int = Field(description=_HELD)
    by_platform: dict[str, PlatformCounts] = Field(description=_BY_PLATFORM)
    error: str | None = Field(default=None, description="Why the job itself failed (status 'failed' only)")
    error_details: list["ErrorDetail"] | None = Field(
        default=None,
        description="For a job whose uploaded manifest was refused: each problem with its field path",
    )

    @model_serializer(mode="wrap")
    def _without_absent_details(self, serialize: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        # Absent, not null, for every other job, whose status bodies stay as the spec shows them.
        data: dict[str, Any] = serialize(self)
        if data.get("error_details") is None:
            data.pop("error_details", None)
        return data


# Fields of a DeviceSuccess that are absent, not null, when unset (compliant and risks: results recorded
# before they existed).
_OPTIONAL_FIELDS = (*OUTPUT_NAMES, "output_url", "expires_in", "compliant", "risks")


class DeviceSuccess(BaseModel):
    """A computed device. Holds the outputs the job asked for (remediation and rollback by default); outputs
    not asked for are absent, not null. A result too large for a response holds output_url instead."""

    model_config = ConfigDict(defer_build=True)

    device_id: str
    status: Literal["success"] = "success"
    remediation: str | None = Field(
        default=None, description="Commands that take the device to its intended config"
    )
    rollback: str | None = Field(default=None, description="Commands that undo the remediation")
    diff: str | None = Field(
        default=None, description="Unified diff running -> intended (options.outputs 'diff')"
    )
    future: str | None = Field(default=None, description="Predicted config after remediation ('future')")
    output_url: str | None = Field(
        default=None,
        description="Only for a result too large to return inline (over about 4 MB): a pre-signed S3 GET URL "
        "of a JSON object holding its outputs (remediation, rollback, ...), which are then absent here",
    )
    expires_in: int | None = Field(default=None, description="Seconds output_url stays valid")
    compliant: bool | None = Field(
        default=None, description="The remediation under the job's options is empty: nothing to change"
    )
    risks: list[RiskFlag] | None = Field(
        default=None,
        description="Remediation lines that could cut remote access to the device (lock-out risk)",
    )

    @model_serializer(mode="wrap")
    def _without_absent_outputs(self, serialize: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        # No return annotation on purpose: pydantic would document the response as a bare object.
        data: dict[str, Any] = serialize(self)
        return {key: value for key, value in data.items() if value is not None or key not in _OPTIONAL_FIELDS}

    def outputs(self) -> dict[str, str]:
        return {name: text for name in OUTPUT_NAMES if (text := getattr(self, name)) is not None}


class DeviceFailure(BaseModel):
    model_config = ConfigDict(defer_build=True)

    device_id: str
    status: Literal["failed"] = "failed"
    error: str


class DeviceHeld(BaseModel):
    """A computed device whose remediation is withheld (options.on_risk "hold") because it holds lock-out
    risks: no remediation or rollback, only the risky lines."""

    model_config = ConfigDict(defer_build=True)

    device_id: str
    status: Literal["held"] = "held"
    compliant: Literal[False] = False
    risks: list[RiskFlag]
    message: str = Field(description="Why the remediation is withheld")


DeviceResult = DeviceSuccess | DeviceFailure | DeviceHeld


class JobSummary(BaseModel):
    model_config = ConfigDict(defer_build=True)

    total_devices: int | None = Field(description="null while an uploaded manifest is being read")
    completed_devices: int
    failed_devices: int
    compliant_devices: int = Field(description=_COMPLIANT)
    non_compliant_devices: int = Field(description=_NON_COMPLIANT)
    held_devices: int = Field(description=_HELD)
    by_platform: dict[str, PlatformCounts] = Field(description=_BY_PLATFORM)
    status: JobStatus


class JobResultsResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    job_id: str
    status: JobStatus
    results: list[DeviceResult]
    summary: JobSummary
    next_token: str | None = Field(
        default=None,
        description="Set while more results remain: pass it back as ?next_token= for the next page",
    )


class ResultsBundleResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    job_id: str
    url: str = Field(description="Pre-signed S3 URL of every result as JSON Lines (one device per line)")
    expires_in: int = Field(description="Seconds the URL stays valid")
    format: Literal["jsonl"] = "jsonl"


class ErrorDetail(BaseModel):
    model_config = ConfigDict(defer_build=True)

    field: str
    message: str


class ErrorResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    error: str
    message: str
    details: list[ErrorDetail] = []
    job_id: str | None = Field(
        default=None, description="The job concerned, when one was recorded (503 only)"
    )


class SingleDeviceRequest(DeviceConfig):
    """Body of ``POST /api/v1/remediation``: one ``device_configs`` entry plus the job-level fields."""

    allow_empty_intended: StrictBool = Field(
        default=False,
        description="Accept an empty intended config (which removes everything) instead of failing the device",
    )
    options: RemediationOptions = Field(default=RemediationOptions())


class PlatformsResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    platforms: list[PlatformInfo]
    risk_rules: list[RiskRule] = Field(
        default=[], description="The built-in lock-out risk rules (options.risk_rules adds your own)"
    )


class ReportChange(BaseModel):
    model_config = ConfigDict(defer_build=True)

    platform: str
    line: str = Field(description="The remediation line")
    path: list[str] = Field(description="The line's parents from the top of the config, ending with the line")
    device_count: int = Field(description="How many devices need this line")
    device_ids: list[str] = Field(description=f"Which devices (sorted; at most {MAX_REPORT_DEVICE_IDS})")
    device_ids_truncated: bool = Field(description="More devices need the line than device_ids lists")
    devices_covered: int = Field(
        description="Devices that need this change or any change listed before it: after the first N changes, "
        "the Nth entry says how many devices those N changes touch"
    )


class FleetReportResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    job_id: str
    status: JobStatus
    total_devices: int | None = Field(description="null while an uploaded manifest is being read")
    devices_with_changes: int = Field(
        description="Successful devices with a non-empty remediation: the report's base"
    )
    devices_without_changes: int = Field(description="Successful devices already in their intended state")
    failed_devices: int
    devices_without_remediation: int = Field(
        description="Successful devices whose job did not ask for the 'remediation' output (not in the report)"
    )
    devices_not_analysed: int = Field(
        description="Devices with changes whose remediation hier_config cannot read back as a config (a "
        "negated multi-line banner, say): counted in devices_with_changes, their lines not in the report"
    )
    compliant_devices: int = Field(description=_COMPLIANT + " (the job's counters, like the status)")
    non_compliant_devices: int = Field(description=_NON_COMPLIANT)
    held_devices: int = Field(description=_HELD)
    by_platform: dict[str, PlatformCounts] = Field(description=_BY_PLATFORM)
    unique_changes: int = Field(description="Distinct remediation lines across the fleet (before filters)")
    changes: list[ReportChange] = Field(description="Most common first")
    truncated: bool = Field(description="More changes matched than `limit` (or the response size) allows")


# Uploads (POST /api/v1/batch/uploads): a manifest too big for a request body goes to S3 first.
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024
UPLOAD_EXPIRES_IN_SECONDS = 15 * 60


class CreateUploadRequest(BaseModel):
    """Body of ``POST /api/v1/batch/uploads`` (optional)."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    format: Literal["json", "jsonl"] = Field(
        default="json", description="The manifest's format: one JSON document, or JSON Lines"
    )


class UploadCreatedResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    upload_id: str = Field(description="Send it as manifest_upload in POST /api/v1/batch/remediation")
    url: str = Field(description="POST the manifest here as multipart/form-data: the fields, then 'file'")
    fields: dict[str, str] = Field(description="Form fields S3 requires, sent as they are before the file")
    expires_in: int = Field(description="Seconds the upload form stays valid")
    max_bytes: int = Field(description="Largest manifest S3 accepts through this form")


# The HTML report (GET /api/v1/batch/jobs/{job_id}/report.html).
REPORT_URL_SECONDS = 3600


class ReportLinkResponse(BaseModel):
    """Body of the report.html route's 302 answer, whose Location is ``url``: a browser follows it to the
    report, a program reads the link here."""

    model_config = ConfigDict(defer_build=True)

    job_id: str
    url: str = Field(description="Pre-signed S3 URL of the job's self-contained HTML report")
    expires_in: int = Field(description="Seconds the URL stays valid")
    format: Literal["html"] = "html"


JOBS_PAGE_MAX = 100
JOBS_PAGE_DEFAULT = 25
# Whose jobs a listing shows: the caller's own, or the account's (started by S3 drops, readable by every caller).
JobOwnerScope = Literal["me", "account"]


class JobListEntry(BaseModel):
    model_config = ConfigDict(defer_build=True)

    job_id: str
    status: JobStatus
    total_devices: int | None = Field(
        description="null while the manifest of a job started from an upload is not read yet"
    )
    completed_devices: int
    failed_devices: int
    created_at: str = Field(description="When the job was accepted (ISO 8601, UTC)")
    finished_at: str | None = Field(
        default=None, description="When it ended (completed, failed or cancelled); null while it runs"
    )
    source: str = Field(
        description="How it was started: 'api' (a POST), 's3://<bucket>/<key>' (an S3 drop's manifest) "
        "or 'upload:<upload_id>' (an uploaded manifest)"
    )


class JobListResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    jobs: list[JobListEntry] = Field(description="Newest first")
    next_token: str | None = Field(
        default=None,
        description="Set while older jobs may remain: pass it back as ?next_token= for the next page (a page "
        "filtered by status may hold fewer than `limit` jobs, even none, and still have one)",
    )
