"""One device as the API and the queue carry it, and the limits on it: the part of the API's models that the
worker needs too (it imports this module, not models.api with every route's bodies)."""

from collections.abc import Sequence
from typing import Annotated, Protocol, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from netremedy.models.options import Output
from netremedy.models.platforms import PlatformName

MAX_CONFIG_BYTES = 4 * 1024 * 1024
# Safe as an S3 key segment and a DynamoDB sort-key suffix without escaping.
DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
OUTPUT_NAMES: tuple[Output, ...] = get_args(Output)


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

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    device_id: DeviceId = Field(
        description="Unique within the job; 1-128 characters of letters, digits, '.', '_' or '-'",
        examples=["router1"],
    )
    platform: PlatformName = Field(
        description="hier_config platform name, lowercase (or an alias GET /api/v1/platforms lists)",
        examples=["cisco_ios"],
    )
    running_config: str = Field(
        description="The device's running configuration", examples=["hostname router1"]
    )
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
