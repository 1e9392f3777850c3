"""POST /api/v1/remediation (one device, answered synchronously) and GET /api/v1/platforms.

The parity endpoints of hier_config's own REST API. hier_config is imported on the first request, not at
load: the API documentation function includes these routes and must not pay for it.
"""

from netremedy.handlers.api import build_handler, documented_responses, new_router
from netremedy.logic.response_size import response_bytes
from netremedy.logic.risk_messages import held_message
from netremedy.models.api import (
    DeviceFailure,
    DeviceHeld,
    DeviceSuccess,
    PlatformsResponse,
    SingleDeviceRequest,
)
from netremedy.observability import logger

router = new_router()
# Bytes of the result in the response Lambda returns, which is at most 6 MB.
SYNC_OUTPUT_MAX_BYTES = 5_000_000


@router.post(
    "/api/v1/remediation",
    summary="Remediate one device now",
    description="The fields of one device_configs entry plus allow_empty_intended and options; answers with the "
    "device's result (status 'failed' with an error when hier_config cannot process it). For more than one "
    "device, or configs that take long, use a batch job.",
    responses=documented_responses(
        200, DeviceSuccess | DeviceFailure | DeviceHeld, "The device's result", 400, 413, 415, 422
    ),
)
def remediate_one_device(body: SingleDeviceRequest) -> DeviceSuccess | DeviceFailure | DeviceHeld:
    from netremedy.logic.remediation import RemediationError, compute_remediation

    try:
        text = compute_remediation(
            body.platform,
            body.running_config,
            body.intended_config,
            allow_empty_intended=body.allow_empty_intended,
            options=body.options,
        )
    except RemediationError as exc:
        logger.info("device failed", extra={"device_id": body.device_id})
        return DeviceFailure(device_id=body.device_id, error=str(exc))
    risks = list(text.risks)
    if risks and body.options.on_risk == "hold":
        logger.info("device held", extra={"device_id": body.device_id})
        return DeviceHeld(device_id=body.device_id, risks=risks, message=held_message(risks))
    result = DeviceSuccess.model_validate(
        {"device_id": body.device_id, "compliant": text.compliant, "risks": risks} | text.outputs()
    )
    size = response_bytes(result)
    if size > SYNC_OUTPUT_MAX_BYTES:
        return DeviceFailure(
            device_id=body.device_id,
            error=(
                f"the result is {size:,} bytes as Lambda returns it, more than a synchronous answer can carry "
                f"({SYNC_OUTPUT_MAX_BYTES:,}); submit this device as a batch job (POST /api/v1/batch/remediation), "
                "whose results link to outputs of any size"
            ),
        )
    logger.info("device computed", extra={"device_id": body.device_id})
    return result


@router.get(
    "/api/v1/platforms",
    summary="Platforms the API accepts",
    description="Each platform name with what hier_config's driver for it provides, and the built-in "
    "lock-out risk rules.",
    responses=documented_responses(200, PlatformsResponse, "Every accepted platform"),
)
def list_platforms() -> PlatformsResponse:
    from netremedy.logic.remediation import platform_catalog
    from netremedy.logic.risk_rules import BUILT_IN_RULES

    return PlatformsResponse(platforms=list(platform_catalog()), risk_rules=list(BUILT_IN_RULES))


handler = build_handler(router)
