"""Bodies of the messages on the service's queues.

On the device queue one message is a packet of devices of one job: packing several small devices into one
message cuts the SQS sends, receives and deletes (and the worker invocations) per device; each device is still
recorded and counted exactly once on its own. The fan-out and finalize queues carry a ``JobMessage``.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from netremedy.models.options import RemediationOptions
from netremedy.models.platforms import PlatformName


class DevicePayload(BaseModel):
    """What the worker needs to compute one device; inline in the message or, if too big, in S3."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: PlatformName
    running_config: str
    intended_config: str


class QueuedDevice(BaseModel):
    """One device of a packet. Exactly one of ``payload`` / ``payload_key`` is set (claim check for big configs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    payload: DevicePayload | None = None
    payload_key: str | None = None


class DeviceMessage(BaseModel):
    """Devices of one job, with the job's settings once for all of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: str
    allow_empty_intended: bool = False
    # Absent for the default options, which keeps the common message small.
    options: RemediationOptions | None = None
    devices: list[QueuedDevice] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _one_device_form(cls, data: Any) -> Any:
        # Messages of one device each (device_id, payload/payload_key at the top) were the format before
        # packets; read them too, so that messages queued before an upgrade are still processed.
        if isinstance(data, dict) and "device_id" in data and "devices" not in data:
            data = dict(data)
            data["devices"] = [
                {key: data.pop(key) for key in ("device_id", "payload", "payload_key") if key in data}
            ]
        return data


class JobMessage(BaseModel):
    """A job to act on: on the fan-out queue, queue its stored devices; on the finalize queue, it has ended."""

    job_id: str = Field(min_length=1)
