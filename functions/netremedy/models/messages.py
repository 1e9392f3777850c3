"""Bodies of the messages on the service's queues.

On the device queue one message is a packet of devices of one job: packing several small devices into one
message cuts the SQS sends, receives and deletes (and the worker invocations) per device; each device is still
recorded and counted exactly once on its own. The fan-out and finalize queues carry a ``JobMessage``.
"""

from typing import Any, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator

from netremedy.models.devices import DeviceConfig
from netremedy.models.drops import DroppedDevice
from netremedy.models.options import RemediationOptions
from netremedy.models.platforms import PlatformName

# What a job's fan-out queues: a device with its configs, or a manifest's device with one or both by key.
DeviceToQueue: TypeAlias = DeviceConfig | DroppedDevice


class DevicePayload(BaseModel):
    """What the worker needs to compute one device; inline in the message or, if too big, in S3."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: PlatformName
    running_config: str
    intended_config: str


class ConfigReference(BaseModel):
    """A device whose configs (one or both) are objects in the bucket that a manifest named: the worker reads
    them, so that the start of a drop never holds a fleet's configs. Keys are checked (``key_problem``) before
    they are queued. Each config is inline or by key, not both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: PlatformName
    running_config: str | None = None
    intended_config: str | None = None
    running_config_key: str | None = None
    intended_config_key: str | None = None

    @model_validator(mode="after")
    def _each_config_once(self) -> "ConfigReference":
        for name in ("running_config", "intended_config"):
            if (getattr(self, name) is None) == (getattr(self, f"{name}_key") is None):
                raise ValueError(f"give exactly one of {name} and {name}_key")
        return self


class QueuedDevice(BaseModel):
    """One device of a packet. Exactly one of ``payload`` / ``payload_key`` (claim check for big configs; the
    object holds a DevicePayload or a ConfigReference) / ``reference`` is set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    payload: DevicePayload | None = None
    payload_key: str | None = None
    reference: ConfigReference | None = None


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
