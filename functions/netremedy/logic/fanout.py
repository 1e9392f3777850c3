"""Planning the fan-out of a job: devices packed into messages, messages into size-aware send batches."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from netremedy.dal.device_queue import OutgoingMessage
from netremedy.models.drops import DeviceToQueue, DroppedDevice
from netremedy.models.messages import ConfigReference, DevicePayload, QueuedDevice
from netremedy.models.object_keys import payload_key
from netremedy.models.options import RemediationOptions

SQS_BATCH_MAX_ENTRIES = 10
# Headroom for the JSON wrapper SQS adds to a batch request on top of the bodies.
_BATCH_OVERHEAD_BYTES = 1024


@dataclass(frozen=True)
class ClaimCheck:
    """A device payload parked in S3 because it is too big to travel in a message."""

    key: str
    document: dict[str, Any]


@dataclass(frozen=True)
class FanoutPlan:
    batches: list[list[OutgoingMessage]]
    claim_checks: list[ClaimCheck]


def plan_fanout(
    job_id: str,
    devices: Sequence[DeviceToQueue],
    *,
    allow_empty_intended: bool,
    message_max_bytes: int,
    options: RemediationOptions | None = None,
    devices_per_message: int = 1,
) -> FanoutPlan:
    """Pack the devices into messages of at most ``devices_per_message`` devices and a quarter of
    ``message_max_bytes`` (so that a send batch still carries several messages); a device too big for a
    message travels alone, by S3 key. A manifest's device with configs by key travels as a reference."""
    # The fields of DeviceMessage other than its devices, the same for every message of the job.
    header: dict[str, Any] = {"job_id": job_id, "allow_empty_intended": allow_empty_intended}
    if options is not None and not options.is_default:
        header["options"] = options.model_dump(mode="json", exclude_none=True)
    header_bytes = len(_message_body(header, []).encode("utf-8"))
    packet_budget = max(message_max_bytes // 4, header_bytes + 1)
    claim_checks: list[ClaimCheck] = []
    bodies: list[str] = []
    packet: list[str] = []
    packet_bytes = header_bytes

    def close_packet() -> None:
        nonlocal packet, packet_bytes
        if packet:
            bodies.append(_message_body(header, packet))
            packet, packet_bytes = [], header_bytes

    for device in devices:
        parked: DevicePayload | ConfigReference
        if isinstance(device, DroppedDevice):  # configs by key: the worker reads them
            parked = reference_of(device)
            queued = QueuedDevice(device_id=device.device_id, reference=parked)
        else:
            parked = DevicePayload(
                platform=device.platform,
                running_config=device.running_config,
                intended_config=device.intended_config,
            )
            queued = QueuedDevice(device_id=device.device_id, payload=parked)
        entry = queued.model_dump_json(exclude_none=True)
        size = len(entry.encode("utf-8")) + 1
        if header_bytes + size > message_max_bytes - _BATCH_OVERHEAD_BYTES:
            key = payload_key(job_id, device.device_id)
            claim_checks.append(ClaimCheck(key=key, document=parked.model_dump(exclude_none=True)))
            entry = QueuedDevice(device_id=device.device_id, payload_key=key).model_dump_json(
                exclude_none=True
            )
            size = len(entry.encode("utf-8")) + 1
        if packet and (len(packet) == devices_per_message or packet_bytes + size > packet_budget):
            close_packet()
        packet.append(entry)
        packet_bytes += size
    close_packet()
    return FanoutPlan(batches=_pack(bodies, message_max_bytes), claim_checks=claim_checks)


def reference_of(device: DroppedDevice) -> ConfigReference:
    """What a device of a manifest with at least one config by key travels as."""
    return ConfigReference(
        platform=device.platform,
        running_config=device.running_config,
        intended_config=device.intended_config,
        running_config_key=device.running_config_key,
        intended_config_key=device.intended_config_key,
    )


def _message_body(header: dict[str, Any], entries: list[str]) -> str:
    """The message JSON, from entries already serialised (each device is serialised once)."""
    head = json.dumps(header, separators=(",", ":"))
    return f'{head[:-1]},"devices":[{",".join(entries)}]}}'


def _pack(bodies: list[str], max_batch_bytes: int) -> list[list[OutgoingMessage]]:
    """Greedy packing: at most 10 messages and ``max_batch_bytes`` per SendMessageBatch call."""
    batches: list[list[OutgoingMessage]] = []
    current: list[OutgoingMessage] = []
    current_bytes = _BATCH_OVERHEAD_BYTES
    for body in bodies:
        size = len(body.encode("utf-8"))
        if current and (len(current) == SQS_BATCH_MAX_ENTRIES or current_bytes + size > max_batch_bytes):
            batches.append(current)
            current, current_bytes = [], _BATCH_OVERHEAD_BYTES
        current.append(OutgoingMessage(message_id=f"m{len(current)}", body=body))
        current_bytes += size
    if current:
        batches.append(current)
    return batches
