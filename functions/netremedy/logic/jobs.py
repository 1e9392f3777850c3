"""Jobs as callers see them: create and fan out, read the status, cancel (state changes: logic.lifecycle)."""

import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta

from netremedy.dal import blob_store, device_queue, job_events, job_table, uploads
from netremedy.dal.clients import error_code
from netremedy.logic.clock import expiry_epoch, iso, utc_now
from netremedy.logic.compliance import compliance_fields
from netremedy.logic.counting import UnstorableResultError, failed_result, record_results
from netremedy.logic.fanout import FanoutPlan, plan_fanout
from netremedy.logic.lifecycle import OPEN_STATES, effective_status, end_job
from netremedy.models.api import BatchRemediationRequest, ErrorDetail, JobCreatedResponse, JobStatusResponse
from netremedy.models.devices import DeviceConfig
from netremedy.models.drops import DeviceToQueue
from netremedy.models.items import OPEN_SHARD, JobItem
from netremedy.models.object_keys import manifest_key, request_key
from netremedy.models.options import RemediationOptions
from netremedy.models.settings import ServiceSettings


class JobNotFoundError(Exception):
    pass


class JobSubmissionError(Exception):
    """The job could not be handed to the workers: it is marked failed (``job_id``) or was never recorded."""

    def __init__(self, reason: str, job_id: str | None = None) -> None:
        super().__init__(reason)
        self.job_id = job_id


class JobFinishedError(Exception):
    """The job has already ended, so it cannot be cancelled."""


ACCOUNT_OWNER = "*"


def new_job_id() -> str:
    # UUID4: 122 random bits, so a job id cannot be guessed from another.
    return str(uuid.uuid4())


def submit_job(
    request: BatchRemediationRequest,
    settings: ServiceSettings,
    *,
    owner: str = "anonymous",
    source: str = "api",
) -> JobCreatedResponse:
    if request.manifest_upload is not None:
        return _submit_from_upload(request, request.manifest_upload, settings, owner=owner)
    return start_job(
        request.device_configs or [],
        request.allow_empty_intended,
        settings,
        owner=owner,
        source=source,
        options=request.options,
    )


def start_job(
    devices: Sequence[DeviceToQueue],
    allow_empty_intended: bool,
    settings: ServiceSettings,
    *,
    owner: str,
    source: str,
    job_id: str | None = None,
    fan_out_now: bool | None = None,
    options: RemediationOptions | None = None,
    failed: Mapping[str, str] | None = None,
) -> JobCreatedResponse:
    """Record a job of validated devices and fan them out to the workers. ``failed``: devices of the job that
    failed before fan-out (device id -> reason), recorded as failed results at once and counted.

    Up to ``settings.inline_fanout_max_devices`` devices that fit in ``settings.inline_fanout_max_batches``
    send batches are queued before answering; a larger job is stored
    in S3 and fanned out by the fan-out function while the job is ``pending``, so that the POST answers
    well inside API Gateway's 29 s whatever the size.
    """
    now = utc_now()
    job_id = job_id or new_job_id()
    failed = failed or {}
    total = len(devices) + len(failed)
    inline = fan_out_now if fan_out_now is not None else total <= settings.inline_fanout_max_devices
    # The drop function fans out a whole fleet itself: planned and sent a slice at a time, so that its
    # messages are never all in memory beside the devices (a 100,000-device manifest).
    sliced = fan_out_now is True
    # Plan before recording anything, so that a request that cannot be planned leaves no job behind.
    plan = (
        plan_fanout(
            job_id,
            list(devices),
            allow_empty_intended=allow_empty_intended,
            message_max_bytes=settings.message_max_bytes,
            options=options,
            devices_per_message=settings.devices_per_message,
        )
        if inline and not sliced
        else None
    )
    if plan is not None and fan_out_now is None and len(plan.batches) > settings.inline_fanout_max_batches:
        plan = None
    try:
        blob_store.put_json(
            settings.bucket_name,
            manifest_key(job_id),
            {"device_ids": [d.device_id for d in devices] + list(failed)},
        )
        if plan is None and devices and not sliced:
            blob_store.put_json(
                settings.bucket_name,
                request_key(job_id),
                {
                    "allow_empty_intended": allow_empty_intended,
                    "options": (options or RemediationOptions()).model_dump(mode="json"),
                    "device_configs": [device.model_dump() for device in devices],
                },
            )
    except Exception as exc:  # nothing is recorded yet: the caller can simply retry
        raise JobSubmissionError(f"could not store the job's device list: {error_code(exc)}") from exc
    job_table.put_new_job(
        settings.table_name,
        JobItem(
            job_id=job_id,
            status="pending",
            total_devices=total,
            created_at=iso(now),
            updated_at=iso(now),
            expires_at=expiry_epoch(now, settings.job_ttl_days),
            deadline_at=iso(now + timedelta(seconds=settings.job_deadline_seconds)),
            open_shard=OPEN_SHARD,
            owner=owner,
            source=source,
        ),
    )
    try:
        record_failed_at_start(
            settings, job_id, failed, keep_pending=plan is None and bool(devices) and not sliced
        )
        if sliced:
            for part in planned_slices(settings, job_id, devices, allow_empty_intended, options):
                _send(settings, part)
        elif plan is None and devices:
            job_events.request_fanout(settings.fanout_queue_url, job_id)
        elif plan is not None:
            _send(settings, plan)
    except Exception as exc:
        reason = f"fan-out to the device queue failed: {error_code(exc)}"
        end_job(settings, job_id, "failed", reason)
        raise JobSubmissionError(reason, job_id) from exc
    return JobCreatedResponse(job_id=job_id, total_devices=total)


_SLICE_DEVICES = 1000


def planned_slices(
    settings: ServiceSettings,
    job_id: str,
    devices: Sequence[DeviceToQueue],
    allow_empty_intended: bool,
    options: RemediationOptions | None,
) -> Iterator[FanoutPlan]:
    """The fan-out plan of ``devices``, ``_SLICE_DEVICES`` at a time: send each before asking for the next."""
    for start in range(0, len(devices), _SLICE_DEVICES):
        yield plan_fanout(
            job_id,
            list(devices[start : start + _SLICE_DEVICES]),
            allow_empty_intended=allow_empty_intended,
            message_max_bytes=settings.message_max_bytes,
            options=options,
            devices_per_message=settings.devices_per_message,
        )


def record_failed_at_start(
    settings: ServiceSettings, job_id: str, failed: Mapping[str, str], *, keep_pending: bool
) -> None:
    """Record devices that failed before fan-out (a manifest's missing config, say) as failed results, each
    counted once however often this runs. ``keep_pending``: the job stays pending, for the fan-out function
    (which fans out only a pending job); else it is running, or completed here when every device is in."""
    if not failed:
        return
    results = [failed_result(settings, job_id, device_id, reason) for device_id, reason in failed.items()]
    if keep_pending:
        outcome = job_table.commit_device_results(
            settings.table_name, results, iso(utc_now()), status="pending", from_states=("pending",)
        )
        if outcome.unstorable:
            raise UnstorableResultError(f"{len(outcome.unstorable)} failed result(s) not stored")
    else:
        record_results(settings, results, {job_id}, redelivered_on_error=False)


def _send(settings: ServiceSettings, plan: FanoutPlan) -> None:
    for claim in plan.claim_checks:
        blob_store.put_json(settings.bucket_name, claim.key, claim.document)
    device_queue.send_batches(settings.device_queue_url, plan.batches)


def fan_out_stored_job(settings: ServiceSettings, job_id: str) -> bool:
    """Queue the devices of a job stored for asynchronous fan-out; False if the job is no longer waiting.

    Safe to repeat: a device queued twice is counted once.
    """
    job = job_table.get_job(settings.table_name, job_id)
    if job is None or job.status != "pending":
        return False
    stored = blob_store.get_json(settings.bucket_name, request_key(job_id))
    devices = [DeviceConfig.model_validate(device) for device in stored["device_configs"]]
    plan = plan_fanout(
        job_id,
        devices,
        allow_empty_intended=stored["allow_empty_intended"],
        message_max_bytes=settings.message_max_bytes,
        options=RemediationOptions.model_validate(stored.get("options") or {}),
        devices_per_message=settings.devices_per_message,
    )
    _send(settings, plan)
    return True


def load_job(settings: ServiceSettings, job_id: str, caller: str) -> JobItem:
    job = job_table.get_job(settings.table_name, job_id)
    # Another caller's job is indistinguishable from no job at all. Jobs started by an S3 drop belong to the
    # account (owner "*"): anyone allowed to call the API may read them.
    if job is None or job.owner not in (caller, ACCOUNT_OWNER):
        raise JobNotFoundError(job_id)
    return job


def _progress(job: JobItem) -> float:
    if job.total_devices is None:  # an uploaded manifest not read yet
        return 0.0
    done = job.completed_devices + job.failed_devices
    return round(100.0 * done / job.total_devices, 2) if job.total_devices else 100.0


def _status_response(job: JobItem) -> JobStatusResponse:
    return JobStatusResponse(
        job_id=job.job_id,
        status=effective_status(job),
        progress=_progress(job),
        total_devices=job.total_devices,
        completed_devices=job.completed_devices,
        failed_devices=job.failed_devices,
        **compliance_fields(job),
        error=job.error,
        error_details=[ErrorDetail.model_validate(detail) for detail in job.error_details]
        if job.error_details
        else None,
    )


def job_status(settings: ServiceSettings, job_id: str, caller: str) -> JobStatusResponse:
    return _status_response(load_job(settings, job_id, caller))


def cancel_job(settings: ServiceSettings, job_id: str, caller: str) -> JobStatusResponse:
    """Cancel an open job; JobFinishedError if it has ended, including a job whose devices are all counted
    (readers already see it completed: it is completed now, if it was not closed yet)."""
    load_job(settings, job_id, caller)  # a job the caller may not see is a 404, before anything changes
    if not end_job(settings, job_id, "cancelled"):
        current = load_job(settings, job_id, caller)
        raise JobFinishedError(f"job {job_id} has already ended ({effective_status(current)})")
    return job_status(settings, job_id, caller)


# The source of a job started from an upload: "upload:<upload_id>".
UPLOAD_SOURCE_PREFIX = "upload:"


class UploadNotFoundError(Exception):
    """No such upload for this caller (another caller's upload is indistinguishable from none)."""


class UploadUsedError(Exception):
    """The upload has started a job already: one job per upload."""

    def __init__(self, upload_id: str, job_id: str | None) -> None:
        super().__init__(f"upload {upload_id} has started job {job_id} already; request a new upload")
        self.job_id = job_id


def _submit_from_upload(
    request: BatchRemediationRequest, upload_id: str, settings: ServiceSettings, *, owner: str
) -> JobCreatedResponse:
    """Record a pending job of unknown size and hand the reading of its manifest to the fan-out function.

    The manifest is read there (up to 1 GiB, 15 minutes), not here: the API answers within 29 s. Options and
    allow_empty_intended set here (other than their defaults) replace the manifest's own."""
    now = utc_now()
    upload = uploads.get_upload(settings.table_name, upload_id, int(now.timestamp()))
    if upload is None or upload.owner != owner:
        raise UploadNotFoundError(upload_id)
    job_id = new_job_id()
    if not uploads.use_upload(settings.table_name, upload_id, owner, job_id):
        used = uploads.get_upload(settings.table_name, upload_id, int(now.timestamp()))
        raise UploadUsedError(upload_id, used.job_id if used else None)
    # Only what differs from the defaults overrides the manifest: an Idempotency-Key's stored body holds every
    # field, so "given in the POST" cannot be told apart from "left at its default" there.
    stored = {
        "manifest_upload": upload_id,
        "manifest_key": upload.key,
        "allow_empty_intended": True if request.allow_empty_intended else None,
        "options": None
        if request.options == RemediationOptions()
        else request.options.model_dump(mode="json"),
    }
    try:
        blob_store.put_json(settings.bucket_name, request_key(job_id), stored)
    except Exception as exc:
        raise JobSubmissionError(f"could not store the job's request: {error_code(exc)}") from exc
    job_table.put_new_job(
        settings.table_name,
        JobItem(
            job_id=job_id,
            status="pending",
            created_at=iso(now),
            updated_at=iso(now),
            expires_at=expiry_epoch(now, settings.job_ttl_days),
            deadline_at=iso(now + timedelta(seconds=settings.job_deadline_seconds)),
            open_shard=OPEN_SHARD,
            owner=owner,
            source=f"{UPLOAD_SOURCE_PREFIX}{upload_id}",
        ),
    )
    try:
        job_events.request_fanout(settings.fanout_queue_url, job_id)
    except Exception as exc:
        reason = f"the job could not be handed to the fan-out function: {error_code(exc)}"
        end_job(settings, job_id, "failed", reason)
        raise JobSubmissionError(reason, job_id) from exc
    return JobCreatedResponse(job_id=job_id, total_devices=None)


def fan_out_read_devices(
    settings: ServiceSettings,
    job_id: str,
    devices: Sequence[DeviceToQueue],
    failed: Mapping[str, str],
    allow_empty_intended: bool,
    options: RemediationOptions,
) -> int:
    """Record the count of an open job read from its upload, its devices failed before fan-out, and queue
    the others; how many were queued (0 for an ended job).

    Safe to repeat (a redelivered start): the count is the same, each device is counted once, and a job
    already running gets only its devices not counted yet."""
    # The device list first: from the moment the total is set, the sweeper may need it.
    blob_store.put_json(
        settings.bucket_name,
        manifest_key(job_id),
        {"device_ids": [d.device_id for d in devices] + list(failed)},
    )
    if not uploads.set_total_devices(settings.table_name, job_id, len(devices) + len(failed), iso(utc_now())):
        record_failed_at_start(settings, job_id, failed, keep_pending=False)
        return resume_fan_out(settings, job_id, devices, allow_empty_intended, options)
    record_failed_at_start(settings, job_id, failed, keep_pending=bool(devices))
    # A slice at a time, as the drop function does: never every message of a big upload in memory at once.
    for part in planned_slices(settings, job_id, devices, allow_empty_intended, options):
        _send(settings, part)
    return len(devices)


def refuse_read_job(
    settings: ServiceSettings, job_id: str, reason: str, details: list[dict[str, str]]
) -> None:
    """Fail a pending job whose uploaded manifest was refused, saying why and where (field paths)."""
    uploads.set_error_details(settings.table_name, job_id, details)
    end_job(settings, job_id, "failed", reason)


def resume_fan_out(
    settings: ServiceSettings,
    job_id: str,
    devices: Sequence[DeviceToQueue],
    allow_empty_intended: bool,
    options: RemediationOptions | None = None,
) -> int:
    """Queue the devices of an open job that are not counted yet, for a start that died before its fan-out
    finished (which devices reached the queue is not recorded); how many were queued, 0 for an ended job.

    A device queued twice is counted once: only the devices still in flight are computed twice.
    """
    job = job_table.get_job(settings.table_name, job_id)
    if job is None or job.status not in OPEN_STATES:
        return 0
    counted = {result.device_id for result in job_table.query_device_results(settings.table_name, job_id)}
    remaining = [device for device in devices if device.device_id not in counted]
    plan = plan_fanout(
        job_id,
        remaining,
        allow_empty_intended=allow_empty_intended,
        message_max_bytes=settings.message_max_bytes,
        options=options,
        devices_per_message=settings.devices_per_message,
    )
    _send(settings, plan)
    return len(remaining)
