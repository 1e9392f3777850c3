"""Bodies of the messages on the device queue: one message is one device of one job."""

from pydantic import BaseModel, ConfigDict

from netremedy.models.options import RemediationOptions
from netremedy.models.platforms import PlatformName


class DevicePayload(BaseModel):
    """What the worker needs to compute one device; inline in the message or, if too big, in S3."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: PlatformName
    running_config: str
    intended_config: str


class DeviceMessage(BaseModel):
    """A device of a job. Exactly one of ``payload`` / ``payload_key`` is set (claim check for big configs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: str
    device_id: str
    allow_empty_intended: bool = False
    # Absent for the default options, which keeps the common message small.
    options: RemediationOptions | None = None
    payload: DevicePayload | None = None
    payload_key: str | None = None
