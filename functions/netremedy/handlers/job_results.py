"""GET /api/v1/batch/jobs/{job_id}/results (paged), .../results/{device_id} (one device), .../bundle
(a download link to every result of a completed job) and .../report.html (its HTML report)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from netremedy.handlers.api import (
    build_handler,
    caller_identity,
    documented_errors,
    documented_responses,
    new_router,
)
from netremedy.logic.report_link import report_link
from netremedy.logic.results import RESULTS_PAGE_MAX, device_result, job_results, results_bundle
from netremedy.models.api import (
    DeviceFailure,
    DeviceHeld,
    DeviceSuccess,
    JobResultsResponse,
    ReportLinkResponse,
    ResultsBundleResponse,
)
from netremedy.models.settings import load_settings

router = new_router()


@router.get(
    "/api/v1/batch/jobs/<job_id>/results",
    summary="Get a batch job's results",
    description=f"Finished devices ordered by device_id, at most `limit` (default and maximum {RESULTS_PAGE_MAX}) "
    "and about 4 MB per page; while more remain, `next_token` is set: pass it back for the next page. A result "
    "over about 4 MB on its own holds `output_url` (a pre-signed S3 link to its outputs) instead of them; one "
    "whose outputs have expired is `failed` saying so.",
    responses=documented_responses(200, JobResultsResponse, "Finished devices and a summary", 400, 404, 422),
)
def get_batch_job_results(
    job_id: str,
    limit: Annotated[int | None, Query(ge=1, le=RESULTS_PAGE_MAX)] = None,
    next_token: Annotated[str | None, Query(max_length=400)] = None,
) -> JobResultsResponse:
    return job_results(load_settings(), job_id, caller_identity(router), limit=limit, next_token=next_token)


@router.get(
    "/api/v1/batch/jobs/<job_id>/results/<device_id>",
    summary="Get one device's result",
    description="A result over about 4 MB holds `output_url` (a pre-signed S3 link to its outputs) instead of "
    "them; 410 when its outputs have expired.",
    responses=documented_responses(
        200, DeviceSuccess | DeviceFailure | DeviceHeld, "The device's result", 404, 410, 422
    ),
)
def get_device_result(job_id: str, device_id: str) -> DeviceSuccess | DeviceFailure | DeviceHeld:
    return device_result(load_settings(), job_id, device_id, caller_identity(router))


@router.get(
    "/api/v1/batch/jobs/<job_id>/bundle",
    summary="Download link for every result of a completed job",
    responses=documented_responses(
        200, ResultsBundleResponse, "A pre-signed URL to a JSON Lines file", 404, 409, 422
    ),
)
def get_results_bundle(job_id: str) -> ResultsBundleResponse:
    return results_bundle(load_settings(), job_id, caller_identity(router))


@router.get(
    "/api/v1/batch/jobs/<job_id>/report.html",
    summary="The HTML report of a completed job",
    description="Redirects (302) to a pre-signed S3 URL of the job's self-contained HTML report (fleet summary, "
    "top changes, each device's remediation, rollback and risks, a search box), so a browser opens it; the "
    "body holds the same link for programs.",
    responses={
        302: {
            "description": "Location: the pre-signed URL of the report (valid for an hour)",
            "content": {"application/json": {"model": ReportLinkResponse}},
        }
    }
    | documented_errors(404, 409, 422),
)
def get_report_html(job_id: str) -> Response[str]:
    link = report_link(load_settings(), job_id, caller_identity(router))
    return Response(
        status_code=302,
        content_type="application/json",
        body=link.model_dump_json(),
        headers={"Location": link.url},
    )


handler = build_handler(router)
