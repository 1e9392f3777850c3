"""GET /api/v1/batch/jobs/{job_id}/results: every finished device's remediation and rollback, or error."""

from aws_lambda_powertools.event_handler.api_gateway import Router

from netremedy.handlers.api import build_handler, caller_identity, documented_responses
from netremedy.logic.jobs import job_results
from netremedy.models.api import JobResultsResponse
from netremedy.models.settings import load_settings

router = Router()


@router.get("/api/v1/batch/jobs/<job_id>/results", summary="Get a batch job's results", responses=documented_responses(200, JobResultsResponse, "Finished devices and a summary", 404, 422))
def get_batch_job_results(job_id: str) -> JobResultsResponse:
    return job_results(load_settings(), job_id, caller_identity(router))


handler = build_handler(router)
