"""POST /api/v1/batch/remediation: validate, record the job, fan its devices out, answer 202 at once.

A client may send an ``Idempotency-Key`` header: a retry with the same key (and body) gets the same job
back instead of a second job.
"""

import re
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

from netremedy.dal.idempotency import create_job_records
from netremedy.handlers.api import (
    build_handler,
    caller_identity,
    documented_responses,
    error_response,
    new_router,
)
from netremedy.logic.jobs import UploadNotFoundError, UploadUsedError, submit_job
from netremedy.models.api import BatchRemediationRequest, ErrorDetail, JobCreatedResponse
from netremedy.models.settings import load_settings
from netremedy.observability import logger

router = new_router()
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
_IDEMPOTENCY = IdempotencyConfig(
    event_key_jmespath="key", payload_validation_jmespath="body", expires_after_seconds=24 * 3600
)


def _submit(request: dict[str, Any]) -> dict[str, Any]:
    body = BatchRemediationRequest.model_validate(request["body"])
    return submit_job(body, load_settings(), owner=request["owner"]).model_dump()


@router.post(
    "/api/v1/batch/remediation",
    summary="Create a batch remediation job",
    description="Answers at once; poll the job's status. Send an Idempotency-Key header to make retries safe. "
    "With manifest_upload instead of device_configs, the job starts from an upload (404: no such upload of the "
    "caller's; 409: the upload started a job already).",
    responses=documented_responses(
        202, JobCreatedResponse, "Job accepted", 400, 404, 409, 413, 415, 422, 503
    ),
)
def create_batch_job(body: BatchRemediationRequest) -> Response[JobCreatedResponse | str]:
    try:
        return _create(body)
    except UploadNotFoundError as exc:
        detail = ErrorDetail(field="manifest_upload", message="no such upload (or not the caller's)")
        return error_response(404, "upload_not_found", f"No upload with id {exc.args[0]!r}", [detail])
    except UploadUsedError as exc:
        detail = ErrorDetail(field="manifest_upload", message="already used: one job per upload")
        return error_response(409, "upload_used", str(exc), [detail], job_id=exc.job_id)


def _create(body: BatchRemediationRequest) -> Response[JobCreatedResponse | str]:
    owner = caller_identity(router)
    key = router.current_event.headers.get("idempotency-key")
    if key is None:
        created = JobCreatedResponse.model_validate(_submit({"owner": owner, "body": body}))
    elif not IDEMPOTENCY_KEY_PATTERN.match(key):
        detail = ErrorDetail(
            field="headers.idempotency-key", message="must be 1-255 printable ASCII characters"
        )
        return error_response(400, "invalid_idempotency_key", "Invalid Idempotency-Key header", [detail])
    else:
        _IDEMPOTENCY.register_lambda_context(router.lambda_context)
        submit_once = idempotent_function(
            data_keyword_argument="request",
            config=_IDEMPOTENCY,
            persistence_store=create_job_records(load_settings().table_name),
        )(_submit)
        # Scoped to the caller, as a pair: Powertools hashes its JSON, so no (owner, key) pair can spell
        # another's record key (as "team" + "ci#42" and "team#ci" + "42" did when joined with "#").
        request = {"key": [owner, key], "owner": owner, "body": body.model_dump(mode="json")}
        created = JobCreatedResponse.model_validate(submit_once(request=request))
    logger.info("job accepted", extra={"job_id": created.job_id, "total_devices": created.total_devices})
    return Response(status_code=202, content_type="application/json", body=created)


handler = build_handler(router)
