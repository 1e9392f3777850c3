"""GET /api/v1/batch/jobs/{job_id}: status, progress and counters of one job."""

from netremedy.handlers.api import build_handler, caller_identity, documented_responses, new_router
from netremedy.logic.jobs import job_status
from netremedy.models.api import JobStatusResponse
from netremedy.models.settings import load_settings

router = new_router()


@router.get(
    "/api/v1/batch/jobs/<job_id>",
    summary="Get a batch job's status",
    responses=documented_responses(200, JobStatusResponse, "The job's status", 404, 422),
)
def get_batch_job(job_id: str) -> JobStatusResponse:
    return job_status(load_settings(), job_id, caller_identity(router))


handler = build_handler(router)
