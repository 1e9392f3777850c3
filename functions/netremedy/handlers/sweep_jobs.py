"""Scheduled: finish jobs still open after their deadline (lost messages, fan-out that died half way)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from netremedy.logic.sweeper import sweep_overdue_jobs
from netremedy.models.settings import load_settings
from netremedy.observability import count_devices, logger, metrics


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = sweep_overdue_jobs(load_settings())
    count_devices(0, report.devices_failed)
    summary = {
        "jobs_finished": report.jobs_finished,
        "jobs_failed": report.jobs_failed,
        "devices_failed": report.devices_failed,
    }
    if report.jobs_finished or report.jobs_failed:
        logger.warning("overdue jobs finished", extra=summary)
    return summary
