"""What the worker computes a queued device from: its payload inline, parked in S3 (claim check), or the
config objects a manifest referenced, read here rather than by the start of the drop (which would otherwise
hold a whole fleet's configs, and make every GET, in one invocation).

A referenced object that is missing, not UTF-8 or too big, or a config over the size limit, fails that device
alone (``UnreadableConfigError``, in the words the start used to give); throttling and permission errors raise,
so that the message comes back.
"""

from pydantic import TypeAdapter, ValidationError

from netremedy.dal import blob_store
from netremedy.models.api import MAX_CONFIG_BYTES, DeviceConfig
from netremedy.models.drops import DroppedDevice
from netremedy.models.messages import ConfigReference, DevicePayload, QueuedDevice

# A claim check holds what the message would have: a payload, or a reference with a big inline config.
_PARKED: TypeAdapter[DevicePayload | ConfigReference] = TypeAdapter(DevicePayload | ConfigReference)


class UnreadableConfigError(Exception):
    """The device fails alone: ``str(exc)`` is its result's error, naming the device and the key."""

    def __init__(self, message: str, platform: str) -> None:
        super().__init__(message)
        self.platform = platform


def reference_of(device: DroppedDevice) -> ConfigReference:
    """What a device of a manifest with at least one config by key travels as."""
    return ConfigReference(
        platform=device.platform,
        running_config=device.running_config,
        intended_config=device.intended_config,
        running_config_key=device.running_config_key,
        intended_config_key=device.intended_config_key,
    )


def device_payload(bucket: str, device: QueuedDevice) -> DevicePayload:
    """The device's platform and both configs; UnreadableConfigError for a problem of this device's own."""
    if device.payload is not None:
        return device.payload
    if device.payload_key is not None:
        parked = _PARKED.validate_python(blob_store.get_json(bucket, device.payload_key))
        return parked if isinstance(parked, DevicePayload) else _read(bucket, device.device_id, parked)
    if device.reference is not None:
        return _read(bucket, device.device_id, device.reference)
    raise ValueError("device message carries neither payload, payload_key nor reference")


def _read(bucket: str, device_id: str, reference: ConfigReference) -> DevicePayload:
    named = (
        ("running_config_key", reference.running_config_key),
        ("intended_config_key", reference.intended_config_key),
    )
    texts: dict[str, str] = {}
    problems: list[str] = []
    for name, key in named:
        if key is None or key in texts:
            continue
        try:
            texts[key] = blob_store.get_text(bucket, key, MAX_CONFIG_BYTES)
        except (ValueError, UnicodeDecodeError):
            problems.append(f"{name} {key!r} is not UTF-8 text, or is over {MAX_CONFIG_BYTES} bytes")
        except Exception as exc:
            if not blob_store.is_missing(exc):
                raise  # throttling, permissions: the message comes back
            problems.append(f"{name} {key!r} names no object in the bucket")
    if problems:
        raise UnreadableConfigError(f"device {device_id}: {'; '.join(problems)}", reference.platform)
    running = reference.running_config
    intended = reference.intended_config
    try:
        # Validated as a POST's device is: the size limit of an inline config, with the same messages.
        config = DeviceConfig(
            device_id=device_id,
            platform=reference.platform,
            running_config=running if running is not None else texts[reference.running_config_key or ""],
            intended_config=intended if intended is not None else texts[reference.intended_config_key or ""],
        )
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors())
        raise UnreadableConfigError(f"device {device_id}: {reasons}", reference.platform) from None
    return DevicePayload(
        platform=config.platform, running_config=config.running_config, intended_config=config.intended_config
    )
