"""GET /api/v1/batch/jobs/{job_id}: status, progress and counters of one job."""

from aws_lambda_powertools.event_handler.api_gateway import Router

from netremedy.handlers.api import build_handler
from netremedy.logic.jobs import job_status
from netremedy.models.api import JobStatusResponse
from netremedy.models.settings import load_settings

router = Router()


@router.get("/api/v1/batch/jobs/<job_id>", summary="Get a batch job's status")
def get_batch_job(job_id: str) -> JobStatusResponse:
    return job_status(load_settings(), job_id)


handler = build_handler(router)
