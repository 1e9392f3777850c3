"""What the worker computes a queued device from: its payload inline, parked in S3 (claim check), or the
config objects a manifest referenced, read here rather than by the start of the drop (which would otherwise
hold a whole fleet's configs, and make every GET, in one invocation).

A referenced object that is missing, not UTF-8 or too big, or a config over the size limit, fails that device
alone (``UnreadableConfigError``, in the words the start used to give); throttling and permission errors raise,
so that the message comes back.
"""

from concurrent.futures import ThreadPoolExecutor

from pydantic import TypeAdapter, ValidationError

from netremedy.dal import blob_store
from netremedy.models.devices import MAX_CONFIG_BYTES, DeviceConfig
from netremedy.models.messages import ConfigReference, DevicePayload, QueuedDevice

# A claim check holds what the message would have: a payload, or a reference with a big inline config.
_PARKED: TypeAdapter[DevicePayload | ConfigReference] = TypeAdapter(DevicePayload | ConfigReference)
_READERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="config-read")


class UnreadableConfigError(Exception):
    """The device fails alone: ``str(exc)`` is its result's error, naming the device and the key."""

    def __init__(self, message: str, platform: str) -> None:
        super().__init__(message)
        self.platform = platform


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


def _text_or_problem(bucket: str, key: str) -> tuple[str | None, str | None]:
    """The object's text, or why this device cannot use it; throttling and permissions raise."""
    try:
        return blob_store.get_text(bucket, key, MAX_CONFIG_BYTES), None
    except (ValueError, UnicodeDecodeError):
        return None, f"is not UTF-8 text, or is over {MAX_CONFIG_BYTES} bytes"
    except Exception as exc:
        if not blob_store.is_missing(exc):
            raise  # the message comes back
        return None, "names no object in the bucket"


def _read(bucket: str, device_id: str, reference: ConfigReference) -> DevicePayload:
    named = [
        (name, key)
        for name, key in (
            ("running_config_key", reference.running_config_key),
            ("intended_config_key", reference.intended_config_key),
        )
        if key is not None
    ]
    keys = sorted({key for _, key in named})
    # Both objects at once: the wait for S3, not CPU, is the worker's time here (and billed on AWS).
    read = dict(zip(keys, _READERS.map(lambda key: _text_or_problem(bucket, key), keys), strict=True))
    problems = [f"{name} {key!r} {read[key][1]}" for name, key in named if read[key][1] is not None]
    if problems:
        raise UnreadableConfigError(f"device {device_id}: {'; '.join(problems)}", reference.platform)
    texts = {key: text for key, (text, _) in read.items() if text is not None}
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
