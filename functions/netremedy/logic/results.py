"""Reading a job's results: pages that stay far under Lambda's 6 MB response limit, one device, and the
finished job's download bundle."""

import base64
import re

from netremedy.dal import blob_store, job_table
from netremedy.logic.jobs import load_job
from netremedy.logic.lifecycle import effective_status
from netremedy.models.api import (
    DEVICE_ID_PATTERN,
    OUTPUT_NAMES,
    DeviceFailure,
    DeviceResult,
    DeviceSuccess,
    JobResultsResponse,
    JobSummary,
    ResultsBundleResponse,
)
from netremedy.models.items import DeviceResultItem
from netremedy.models.object_keys import bundle_key
from netremedy.models.settings import ServiceSettings

RESULTS_PAGE_MAX = 1000
# Text per page; Lambda answers at most 6 MB, and JSON escaping of newlines adds a little.
RESULTS_PAGE_BYTES = 4_000_000
BUNDLE_URL_SECONDS = 3600


class InvalidPageTokenError(ValueError):
    pass


class DeviceNotFoundError(Exception):
    pass


class BundleNotReadyError(Exception):
    pass


def _encode_token(device_id: str) -> str:
    return base64.urlsafe_b64encode(device_id.encode()).decode().rstrip("=")


def _decode_token(token: str) -> str:
    try:
        device_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):  # binascii.Error, non-ASCII input
        raise InvalidPageTokenError("next_token is not a token this API issued") from None
    if not re.match(DEVICE_ID_PATTERN, device_id):  # every token this API issues holds a valid device_id
        raise InvalidPageTokenError("next_token is not a token this API issued")
    return device_id


def public_result(settings: ServiceSettings, item: DeviceResultItem) -> DeviceResult:
    if item.status == "failed":
        return DeviceFailure(device_id=item.device_id, error=item.error or "unknown error")
    if item.output_key:
        document = blob_store.get_json(settings.bucket_name, item.output_key)
        return DeviceSuccess.model_validate(
            {"device_id": item.device_id} | {name: document.get(name) for name in OUTPUT_NAMES}
        )
    return DeviceSuccess.model_validate(
        {"device_id": item.device_id} | {name: getattr(item, name) for name in OUTPUT_NAMES}
    )


def _text_size(result: DeviceResult) -> int:
    if isinstance(result, DeviceSuccess):
        return sum(len(text) for text in result.outputs().values()) + 200
    return len(result.error) + 200


def job_results(
    settings: ServiceSettings,
    job_id: str,
    caller: str,
    *,
    limit: int | None = None,
    next_token: str | None = None,
) -> JobResultsResponse:
    """One page of finished devices, ordered by device_id; ``next_token`` is set while more remain."""
    job = load_job(settings, job_id, caller)
    after = _decode_token(next_token) if next_token else None
    page_limit = min(limit or RESULTS_PAGE_MAX, RESULTS_PAGE_MAX)
    results: list[DeviceResult] = []
    size = 0
    more = False
    items = job_table.query_device_results(
        settings.table_name, job_id, after=after, page_size=min(page_limit + 1, 1000)
    )
    for item in items:
        if len(results) == page_limit:
            more = True
            break
        result = public_result(settings, item)
        if results and size + _text_size(result) > RESULTS_PAGE_BYTES:
            more = True
            break
        results.append(result)
        size += _text_size(result)
    status = effective_status(job)
    return JobResultsResponse(
        job_id=job_id,
        status=status,
        results=results,
        summary=JobSummary(
            total_devices=job.total_devices,
            completed_devices=job.completed_devices,
            failed_devices=job.failed_devices,
            status=status,
        ),
        next_token=_encode_token(results[-1].device_id) if more and results else None,
    )


def device_result(settings: ServiceSettings, job_id: str, device_id: str, caller: str) -> DeviceResult:
    load_job(settings, job_id, caller)
    item = job_table.get_device_result(settings.table_name, job_id, device_id)
    if item is None:
        raise DeviceNotFoundError(f"device {device_id!r} of job {job_id} has no result (yet)")
    return public_result(settings, item)


def results_bundle(settings: ServiceSettings, job_id: str, caller: str) -> ResultsBundleResponse:
    """A time-limited download link to every result of a completed job, as JSON Lines."""
    job = load_job(settings, job_id, caller)
    key = bundle_key(job_id)
    if effective_status(job) != "completed" or not blob_store.exists(settings.bucket_name, key):
        raise BundleNotReadyError(
            f"job {job_id} is {effective_status(job)}; its results bundle is written once it completes"
        )
    return ResultsBundleResponse(
        job_id=job_id,
        url=blob_store.presigned_get_url(settings.bucket_name, key, BUNDLE_URL_SECONDS),
        expires_in=BUNDLE_URL_SECONDS,
        format="jsonl",
    )
