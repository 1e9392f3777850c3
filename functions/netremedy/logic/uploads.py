"""Big jobs through S3: a pre-signed upload of a manifest (up to 1 GiB), then a job started from it.

``POST /api/v1/batch/uploads`` records an upload bound to its caller and answers a pre-signed POST form for
one exact key under ``uploads/`` (S3 enforces the size and the expiry). ``POST /api/v1/batch/remediation``
with ``manifest_upload`` records a pending job (``logic.jobs``) and hands it to the fan-out function, which
reads and validates the manifest exactly as a drop's (``logic.drops``) and either queues its devices or
fails the job with the reasons, field by field.
"""

import uuid
from datetime import timedelta
from typing import Any

from netremedy.dal import blob_store, job_table, uploads
from netremedy.logic.clock import iso, utc_now
from netremedy.logic.jobs import (
    UPLOAD_SOURCE_PREFIX,
    fan_out_read_devices,
    fan_out_stored_job,
    refuse_read_job,
)
from netremedy.logic.lifecycle import OPEN_STATES
from netremedy.logic.manifests import DropRefusedError, LoadedDrop, load_drop
from netremedy.models.api import (
    MAX_UPLOAD_BYTES,
    UPLOAD_EXPIRES_IN_SECONDS,
    UploadCreatedResponse,
)
from netremedy.models.items import UploadItem
from netremedy.models.object_keys import request_key, upload_key
from netremedy.models.options import RemediationOptions
from netremedy.models.settings import ServiceSettings
from netremedy.observability import logger


def create_upload(settings: ServiceSettings, owner: str, manifest_format: str) -> UploadCreatedResponse:
    now = utc_now()
    upload_id = str(uuid.uuid4())  # 122 random bits: not guessable, and useless to anyone but its owner
    key = upload_key(upload_id, manifest_format)
    # The row outlives the form (minutes) as long as the uploaded object (the uploads/ lifecycle rule).
    expires_at = int((now + timedelta(days=settings.job_ttl_days)).timestamp())
    uploads.put_upload(
        settings.table_name,
        UploadItem(upload_id=upload_id, owner=owner, key=key, created_at=iso(now), expires_at=expires_at),
    )
    form = blob_store.presigned_post(settings.bucket_name, key, MAX_UPLOAD_BYTES, UPLOAD_EXPIRES_IN_SECONDS)
    return UploadCreatedResponse(
        upload_id=upload_id,
        url=form["url"],
        fields=form["fields"],
        expires_in=UPLOAD_EXPIRES_IN_SECONDS,
        max_bytes=MAX_UPLOAD_BYTES,
    )


def _read_upload(settings: ServiceSettings, key: str) -> LoadedDrop:
    """The manifest read and validated exactly as a dropped one: the one call into the drop reading."""
    try:
        return load_drop(settings, settings.bucket_name, key)
    except DropRefusedError:
        raise
    except Exception as exc:
        if not blob_store.is_missing(exc):
            raise
        raise DropRefusedError(
            "nothing was uploaded with this upload's form (or S3 refused the file, e.g. over its size limit): "
            "request a new upload, POST the manifest to its url, then start the job"
        ) from None


def _start_from_upload(settings: ServiceSettings, job_id: str) -> int:
    stored: dict[str, Any] = blob_store.get_json(settings.bucket_name, request_key(job_id))
    try:
        read = _read_upload(settings, stored["manifest_key"])
    except DropRefusedError as refused:
        refuse_read_job(settings, job_id, f"the uploaded manifest was refused: {refused}", refused.details)
        logger.info("uploaded manifest refused", extra={"job_id": job_id, "problems": len(refused.details)})
        return 0
    allow_empty = stored["allow_empty_intended"]
    options = stored["options"]
    return fan_out_read_devices(
        settings,
        job_id,
        read.devices,
        read.failed,
        read.allow_empty_intended if allow_empty is None else allow_empty,
        read.options if options is None else RemediationOptions.model_validate(options),
    )


def fan_out_job(settings: ServiceSettings, job_id: str) -> bool:
    """What the fan-out function does with a job: read its upload first if it has one, then queue its devices.
    False if the job is no longer waiting."""
    job = job_table.get_job(settings.table_name, job_id)
    if job is None or job.status not in OPEN_STATES:
        return False
    if job.source.startswith(UPLOAD_SOURCE_PREFIX):
        # Open, not only pending: a redelivered start of a job whose devices are being counted resumes it.
        _start_from_upload(settings, job_id)
        return True
    return fan_out_stored_job(settings, job_id)
