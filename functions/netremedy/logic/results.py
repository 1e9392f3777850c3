"""Reading a job's results: pages that stay far under Lambda's 6 MB response limit, one device, and the
finished job's download bundle.

Sizes are bytes of the response as Lambda returns it (logic.response_size). A result too large to return on
its own is a link to its outputs in S3; a result whose outputs S3 no longer holds (its lifecycle rule removed
them before DynamoDB's TTL removed the row) is reported, never a failed page.
"""

import base64
import re

from netremedy.dal import blob_store, job_table
from netremedy.logic.compliance import compliance_fields
from netremedy.logic.jobs import load_job
from netremedy.logic.lifecycle import effective_status
from netremedy.logic.response_size import response_bytes
from netremedy.logic.risk_messages import held_message
from netremedy.models.api import (
    DeviceFailure,
    DeviceHeld,
    DeviceResult,
    DeviceSuccess,
    JobResultsResponse,
    JobSummary,
    ResultsBundleResponse,
)
from netremedy.models.devices import DEVICE_ID_PATTERN, OUTPUT_NAMES
from netremedy.models.items import DeviceResultItem
from netremedy.models.object_keys import bundle_key
from netremedy.models.settings import ServiceSettings

RESULTS_PAGE_MAX = 1000
# Bytes of results per page as Lambda returns them, far under its 6 MB with the page's other fields; a result
# over it on its own is answered with a link to its outputs.
RESULTS_PAGE_BYTES = 4_000_000
BUNDLE_URL_SECONDS = 3600
OUTPUT_URL_SECONDS = 3600


class InvalidPageTokenError(ValueError):
    pass


class DeviceNotFoundError(Exception):
    pass


class BundleNotReadyError(Exception):
    pass


class ResultExpiredError(Exception):
    """The device's result row remains, but the outputs it refers to in S3 have expired."""


def encode_page_token(position: str) -> str:
    """An opaque next_token for ``position`` (results pages: the last device_id; job listings: their row)."""
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_page_token(token: str, pattern: str = DEVICE_ID_PATTERN) -> str:
    """The position of a token this API issued; every such position matches ``pattern``, so anything else
    (a token edited or made up) is refused before it reaches a query."""
    try:
        position = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):  # binascii.Error, non-ASCII input
        raise InvalidPageTokenError("next_token is not a token this API issued") from None
    if not re.match(pattern, position):
        raise InvalidPageTokenError("next_token is not a token this API issued")
    return position


def _stored_result(settings: ServiceSettings, item: DeviceResultItem) -> DeviceResult:
    """The result with every output; ResultExpiredError when its outputs in S3 are gone."""
    if item.status == "failed":
        return DeviceFailure(device_id=item.device_id, error=item.error or "unknown error")
    if item.status == "held":
        risks = item.risks or []
        return DeviceHeld(device_id=item.device_id, risks=risks, message=held_message(risks))
    # Risk fields live in the row even when the outputs are claim-checked.
    assessed = {"device_id": item.device_id, "compliant": item.compliant, "risks": item.risks}
    if item.output_key:
        try:
            document = blob_store.get_json(settings.bucket_name, item.output_key)
        except Exception as exc:
            if blob_store.is_missing(exc):
                raise ResultExpiredError(
                    f"the outputs of device {item.device_id!r} have expired (results are kept for "
                    f"{settings.job_ttl_days} days); submit the device again"
                ) from None
            raise
        return DeviceSuccess.model_validate(assessed | {name: document.get(name) for name in OUTPUT_NAMES})
    return DeviceSuccess.model_validate(assessed | {name: getattr(item, name) for name in OUTPUT_NAMES})


def public_result(settings: ServiceSettings, item: DeviceResultItem) -> DeviceResult:
    """The result with every output (for results pages, the bundle and the fleet report); one whose outputs
    have expired is a failure saying so."""
    try:
        return _stored_result(settings, item)
    except ResultExpiredError as exc:
        return DeviceFailure(device_id=item.device_id, error=str(exc))


def _returnable(
    settings: ServiceSettings, item: DeviceResultItem, result: DeviceResult
) -> tuple[DeviceResult, int]:
    """``result`` and its size in a response, or a link to its outputs when it is too large for a response on
    its own. Only claim-checked results can be: a table item holds at most 400 KB."""
    size = response_bytes(result)
    if item.output_key is None or size <= RESULTS_PAGE_BYTES:
        return result, size
    link = DeviceSuccess(
        device_id=item.device_id,
        compliant=item.compliant,
        risks=item.risks,
        output_url=blob_store.presigned_get_url(settings.bucket_name, item.output_key, OUTPUT_URL_SECONDS),
        expires_in=OUTPUT_URL_SECONDS,
    )
    return link, response_bytes(link)


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
    after = decode_page_token(next_token) if next_token else None
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
        result, result_size = _returnable(settings, item, public_result(settings, item))
        result_size += len(",")
        if results and size + result_size > RESULTS_PAGE_BYTES:
            more = True
            break
        results.append(result)
        size += result_size
    status = effective_status(job)
    return JobResultsResponse(
        job_id=job_id,
        status=status,
        results=results,
        summary=JobSummary(
            total_devices=job.total_devices,
            completed_devices=job.completed_devices,
            failed_devices=job.failed_devices,
            **compliance_fields(job),
            status=status,
        ),
        next_token=encode_page_token(results[-1].device_id) if more and results else None,
    )


def device_result(settings: ServiceSettings, job_id: str, device_id: str, caller: str) -> DeviceResult:
    """One device's result (a link to its outputs when too large); ResultExpiredError when they are gone."""
    load_job(settings, job_id, caller)
    item = job_table.get_device_result(settings.table_name, job_id, device_id)
    if item is None:
        raise DeviceNotFoundError(f"device {device_id!r} of job {job_id} has no result (yet)")
    result, _ = _returnable(settings, item, _stored_result(settings, item))
    return result


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
