"""POST /api/v1/batch/remediation: validate, record the job, fan its devices out, answer 202 at once."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from netremedy.handlers.api import build_handler
from netremedy.logic.jobs import submit_job
from netremedy.models.api import BatchRemediationRequest, JobCreatedResponse
from netremedy.models.settings import load_settings
from netremedy.observability import logger

router = Router()


@router.post("/api/v1/batch/remediation", summary="Create a batch remediation job")
def create_batch_job(body: BatchRemediationRequest) -> Response[JobCreatedResponse]:
    created = submit_job(body, load_settings())
    logger.info("job accepted", extra={"job_id": created.job_id, "total_devices": created.total_devices})
    return Response(status_code=202, content_type="application/json", body=created)


handler = build_handler(router)
