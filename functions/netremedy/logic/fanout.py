"""Planning the fan-out of a job: one message per device, packed into size-aware send batches."""

from dataclasses import dataclass
from typing import Any

from netremedy.dal.device_queue import OutgoingMessage
from netremedy.models.api import DeviceConfig
from netremedy.models.messages import DeviceMessage, DevicePayload
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


def payload_key(job_id: str, device_id: str) -> str:
    return f"inputs/{job_id}/{device_id}.json"


def plan_fanout(
    job_id: str,
    devices: list[DeviceConfig],
    *,
    allow_empty_intended: bool,
    message_max_bytes: int,
    options: RemediationOptions | None = None,
) -> FanoutPlan:
    common = {
        "job_id": job_id,
        "allow_empty_intended": allow_empty_intended,
        "options": None if options is None or options.is_default else options,
    }
    claim_checks: list[ClaimCheck] = []
    messages: list[str] = []
    for device in devices:
        payload = DevicePayload(
            platform=device.platform,
            running_config=device.running_config,
            intended_config=device.intended_config,
        )
        message = DeviceMessage(device_id=device.device_id, payload=payload, **common)
        body = message.model_dump_json(exclude_none=True)
        if len(body.encode("utf-8")) > message_max_bytes - _BATCH_OVERHEAD_BYTES:
            key = payload_key(job_id, device.device_id)
            claim_checks.append(ClaimCheck(key=key, document=payload.model_dump()))
            message = DeviceMessage(device_id=device.device_id, payload_key=key, **common)
            body = message.model_dump_json(exclude_none=True)
        messages.append(body)
    return FanoutPlan(batches=_pack(messages, message_max_bytes), claim_checks=claim_checks)


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
