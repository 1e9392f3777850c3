"""DELETE /api/v1/batch/jobs/{job_id}: stop a job; devices not yet finished are not processed."""

from netremedy.handlers.api import build_handler, caller_identity, documented_responses, new_router
from netremedy.logic.jobs import cancel_job
from netremedy.models.api import JobStatusResponse
from netremedy.models.settings import load_settings
from netremedy.observability import logger

router = new_router()


@router.delete(
    "/api/v1/batch/jobs/<job_id>",
    summary="Cancel a batch job",
    responses=documented_responses(200, JobStatusResponse, "The cancelled job's status", 404, 409, 422),
)
def cancel_batch_job(job_id: str) -> JobStatusResponse:
    status = cancel_job(load_settings(), job_id, caller_identity(router))
    logger.info("job cancelled", extra={"job_id": job_id})
    return status


handler = build_handler(router)
