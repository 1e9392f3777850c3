"""The worker's side of a job: compute each device's result (counting it is logic.counting's job)."""

from netremedy.dal import blob_store, job_table
from netremedy.logic.clock import expiry_epoch, iso, utc_now
from netremedy.logic.error_text import bounded_error
from netremedy.logic.referenced_configs import UnreadableConfigError, device_payload
from netremedy.logic.remediation import RemediationError, compute_remediation
from netremedy.models.items import DeviceResultItem
from netremedy.models.messages import DeviceMessage, QueuedDevice
from netremedy.models.object_keys import output_key
from netremedy.models.settings import ServiceSettings


def remediate_device(
    settings: ServiceSettings, message: DeviceMessage, device: QueuedDevice
) -> DeviceResultItem:
    """The device's final result. Device problems become a failed result; infrastructure errors raise."""
    now = utc_now()
    finished_at, expires_at = iso(now), expiry_epoch(now, settings.job_ttl_days)
    try:
        payload = device_payload(settings.bucket_name, device)
    except UnreadableConfigError as exc:  # a referenced object missing, say: this device fails alone
        return _failed(message, device, exc.platform, str(exc), finished_at, expires_at)
    options = message.remediation_options
    try:
        text = compute_remediation(
            payload.platform,
            payload.running_config,
            payload.intended_config,
            allow_empty_intended=message.allow_empty_intended,
            options=options,
        )
    except RemediationError as exc:
        return _failed(message, device, payload.platform, str(exc), finished_at, expires_at)
    if text.risks and options is not None and options.on_risk == "hold":
        # Nothing to apply by mistake: the held result keeps the risky lines only.
        return DeviceResultItem(
            job_id=message.job_id,
            device_id=device.device_id,
            status="held",
            platform=payload.platform,
            compliant=False,
            risks=list(text.risks),
            finished_at=finished_at,
            expires_at=expires_at,
        )
    outputs = text.outputs()
    size = sum(len(output.encode("utf-8")) for output in outputs.values())
    result = DeviceResultItem(
        job_id=message.job_id,
        device_id=device.device_id,
        status="success",
        platform=payload.platform,
        remediation=text.remediation,
        rollback=text.rollback,
        diff=text.diff,
        future=text.future,
        remediation_lines=len(text.remediation.splitlines()) if text.remediation is not None else None,
        compliant=text.compliant,
        risks=list(text.risks),
        finished_at=finished_at,
        expires_at=expires_at,
    )
    if (
        size <= settings.result_inline_limit_bytes
        and job_table.device_item_size(result) <= job_table.MAX_ITEM_BYTES
    ):
        return result
    # Claim check: the item keeps only the key. The key is deterministic, so a redelivery overwrites the same
    # object with the same text.
    key = output_key(message.job_id, device.device_id)
    blob_store.put_json(settings.bucket_name, key, dict(outputs))
    return result.model_copy(update={name: None for name in outputs} | {"output_key": key})


def _failed(
    message: DeviceMessage,
    device: QueuedDevice,
    platform: str | None,
    error: str,
    finished_at: str,
    expires_at: int,
) -> DeviceResultItem:
    return DeviceResultItem(
        job_id=message.job_id,
        device_id=device.device_id,
        status="failed",
        platform=platform,
        error=bounded_error(error),
        finished_at=finished_at,
        expires_at=expires_at,
    )
