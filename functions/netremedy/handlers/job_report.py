"""GET /api/v1/batch/jobs/{job_id}/report: the remediation lines that recur across the job's devices.

The report uses hier_config, imported on the first request (the API documentation includes this route).
"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from netremedy.handlers.api import build_handler, caller_identity, documented_responses, new_router
from netremedy.models.api import REPORT_LIMIT_DEFAULT, REPORT_LIMIT_MAX, FleetReportResponse
from netremedy.models.settings import load_settings

router = new_router()


@router.get(
    "/api/v1/batch/jobs/<job_id>/report",
    summary="Fleet report: the changes most devices need",
    description="Every distinct remediation line (with its parents) across the job's successful devices, most "
    "common first, with how many and which devices need it; `devices_covered` of the Nth entry says how many "
    "devices the first N changes touch. Built with hier_config's RemediationReporter from the results so far.",
    responses=documented_responses(200, FleetReportResponse, "The report", 404, 422),
)
def get_fleet_report(
    job_id: str,
    min_devices: Annotated[int, Query(ge=1, description="Only lines at least this many devices need")] = 1,
    limit: Annotated[int, Query(ge=1, le=REPORT_LIMIT_MAX, description="At most this many lines")] = (
        REPORT_LIMIT_DEFAULT
    ),
) -> FleetReportResponse:
    from netremedy.logic.fleet_report import fleet_report

    return fleet_report(
        load_settings(), job_id, caller_identity(router), min_devices=min_devices, limit=limit
    )


handler = build_handler(router)
