"""Bodies of the messages on the service's queues.

On the device queue one message is a packet of devices of one job: packing several small devices into one
message cuts the SQS sends, receives and deletes (and the worker invocations) per device; each device is still
recorded and counted exactly once on its own. The fan-out and finalize queues carry a ``JobMessage``.
"""

from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from netremedy.models.options import RemediationOptions
from netremedy.models.platforms import PlatformName


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
    # Absent for the default options, which keeps the common message small. Kept as the JSON the fan-out
    # wrote (RemediationOptions' own dump) and parsed by ``remediation_options`` only when present: building
    # RemediationOptions' validator costs the worker's cold start about 25 ms, and most jobs have no options.
    options: dict[str, Any] | None = None
    devices: list[QueuedDevice] = Field(min_length=1)

    @cached_property
    def remediation_options(self) -> RemediationOptions | None:
        """The job's options, parsed on first use. A ValidationError locates its errors under ``options``, as
        if the message itself had been refused."""
        if self.options is None:
            return None
        try:
            return RemediationOptions.model_validate(self.options)
        except ValidationError as exc:
            errors = [{**error, "loc": ("options", *error["loc"])} for error in exc.errors()]
            raise ValidationError.from_exception_data(type(self).__name__, errors) from None  # type: ignore[arg-type]

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

    model_config = ConfigDict(defer_build=True)

    job_id: str = Field(min_length=1)
