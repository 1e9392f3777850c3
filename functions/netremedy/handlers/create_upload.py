"""POST /api/v1/batch/uploads: a pre-signed S3 upload form for a manifest too big for a request body."""

from aws_lambda_powertools.event_handler import Response

from netremedy.handlers.api import build_handler, caller_identity, documented_responses, new_router
from netremedy.logic.uploads import create_upload
from netremedy.models.api import CreateUploadRequest, UploadCreatedResponse
from netremedy.models.settings import load_settings
from netremedy.observability import logger

router = new_router()


@router.post(
    "/api/v1/batch/uploads",
    summary="Create a manifest upload for a big job",
    description="Answers a pre-signed S3 POST form for one manifest (up to max_bytes, valid for expires_in "
    'seconds); then start the job with POST /api/v1/batch/remediation and {"manifest_upload": upload_id}. '
    "Only the caller that created an upload can start a job from it, and only one job.",
    responses=documented_responses(201, UploadCreatedResponse, "Upload form", 400, 415, 422),
)
def create_batch_upload(body: CreateUploadRequest | None = None) -> Response[UploadCreatedResponse]:
    manifest_format = (body or CreateUploadRequest()).format
    created = create_upload(load_settings(), caller_identity(router), manifest_format)
    logger.info("upload created", extra={"upload_id": created.upload_id, "format": manifest_format})
    return Response(status_code=201, content_type="application/json", body=created)


handler = build_handler(router)
