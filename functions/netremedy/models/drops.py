"""The manifest of an S3 config drop: the POST body, where each config may instead name an S3 object."""

from typing import TypeAlias

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from netremedy.models.devices import DeviceConfig, DeviceId, require_unique_device_ids
from netremedy.models.options import RemediationOptions
from netremedy.models.platforms import PlatformName

MAX_DEVICES_PER_DROP = 100_000
MAX_MANIFEST_BYTES = 1024 * 1024 * 1024


class DroppedDevice(BaseModel):
    """One device: each config inline (``running_config``) or by key (``running_config_key``), not both."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    device_id: DeviceId
    platform: PlatformName
    running_config: str | None = None
    intended_config: str | None = None
    running_config_key: str | None = Field(default=None, min_length=1, max_length=1024)
    intended_config_key: str | None = Field(default=None, min_length=1, max_length=1024)

    @model_validator(mode="after")
    def _each_config_once(self) -> "DroppedDevice":
        for name in ("running_config", "intended_config"):
            inline, key = getattr(self, name), getattr(self, f"{name}_key")
            if (inline is None) == (key is None):
                raise ValueError(f"give exactly one of {name} and {name}_key")
        return self

    def config_keys(self) -> list[str]:
        return [key for key in (self.running_config_key, self.intended_config_key) if key is not None]

    def resolve(self, texts: dict[str, str]) -> DeviceConfig:
        """The device with every config inline (``texts`` maps S3 keys to their text); validated as a POST."""
        running = (
            self.running_config if self.running_config is not None else texts[self.running_config_key or ""]
        )
        intended = (
            self.intended_config
            if self.intended_config is not None
            else texts[self.intended_config_key or ""]
        )
        return DeviceConfig(
            device_id=self.device_id, platform=self.platform, running_config=running, intended_config=intended
        )


class DropManifest(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    device_configs: list[DroppedDevice] = Field(min_length=1, max_length=MAX_DEVICES_PER_DROP)
    allow_empty_intended: StrictBool = False
    options: RemediationOptions = RemediationOptions()

    @field_validator("device_configs")
    @classmethod
    def _unique_device_ids(cls, devices: list[DroppedDevice]) -> list[DroppedDevice]:
        return require_unique_device_ids(devices)


# What a job's fan-out queues: a device with its configs, or a manifest's device with one or both by key.
DeviceToQueue: TypeAlias = DeviceConfig | DroppedDevice

# Suffixes that prefix pairing ignores: backups/site1/r1.cfg and intended/site1/r1.conf are one device.
CONFIG_SUFFIXES = (".cfg", ".conf", ".txt")
_PREFIX_PATTERN = r"^[^/].*/$"


class ManifestHeader(BaseModel):
    """The optional first line of a JSON Lines manifest: what applies to every device of the job."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    allow_empty_intended: StrictBool = False
    options: RemediationOptions = RemediationOptions()


class PrefixPairManifest(BaseModel):
    """A manifest that names two key prefixes instead of listing devices: every device is a relative key
    found under both (``CONFIG_SUFFIXES`` ignored), its platform from ``platforms``, then the inventory CSV
    (columns device and platform), then ``platform``."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    running_prefix: str = Field(min_length=2, max_length=1024, pattern=_PREFIX_PATTERN)
    intended_prefix: str = Field(min_length=2, max_length=1024, pattern=_PREFIX_PATTERN)
    platform: PlatformName | None = None
    platforms: dict[str, PlatformName] = Field(default_factory=dict, max_length=MAX_DEVICES_PER_DROP)
    inventory_key: str | None = Field(default=None, min_length=1, max_length=1024)
    allow_empty_intended: StrictBool = False
    options: RemediationOptions = RemediationOptions()

    @model_validator(mode="after")
    def _distinct_sides(self) -> "PrefixPairManifest":
        if self.running_prefix.startswith(self.intended_prefix) or self.intended_prefix.startswith(
            self.running_prefix
        ):
            raise ValueError("running_prefix and intended_prefix must not contain one another")
        return self
