"""GET /api/v1/batch/jobs: the caller's jobs, newest first, paged."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from netremedy.handlers.api import build_handler, caller_identity, documented_responses, new_router
from netremedy.logic.job_listing import list_jobs
from netremedy.models.api import JOBS_PAGE_DEFAULT, JOBS_PAGE_MAX, JobListResponse, JobOwnerScope, JobStatus
from netremedy.models.settings import load_settings

router = new_router()


@router.get(
    "/api/v1/batch/jobs",
    summary="List the caller's batch jobs",
    description=f"Newest first, at most `limit` (default {JOBS_PAGE_DEFAULT}, maximum {JOBS_PAGE_MAX}) per "
    "page; while older jobs may remain, `next_token` is set: pass it back for the next page. `status` keeps "
    "only jobs in that status (a filtered page may be short, even empty, and still have a `next_token`). "
    "`owner=account` lists the jobs S3 drops started instead, which belong to the account: every caller may "
    "read them.",
    responses=documented_responses(200, JobListResponse, "A page of jobs", 400, 422),
)
def get_batch_jobs(
    status: Annotated[JobStatus | None, Query(description="Only jobs in this status")] = None,
    owner: Annotated[
        JobOwnerScope, Query(description="'me' (default): the caller's; 'account': drops'")
    ] = "me",
    limit: Annotated[int | None, Query(ge=1, le=JOBS_PAGE_MAX)] = None,
    next_token: Annotated[str | None, Query(max_length=400)] = None,
) -> JobListResponse:
    return list_jobs(
        load_settings(),
        caller_identity(router),
        owner=owner,
        status=status,
        limit=limit,
        next_token=next_token,
    )


handler = build_handler(router)
