"""SQS consumer of the finalize queue: an ended job's results are written back to S3 (if it completed) and
its JobCompleted event is published on EventBridge."""

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from netremedy.handlers.sqs_batches import SqsBatchProcessor
from netremedy.logic.finalize import finish_ended_job
from netremedy.models.job_records import JobMessageRecord
from netremedy.models.settings import load_settings
from netremedy.observability import job_duration, logger, metrics

processor = SqsBatchProcessor(JobMessageRecord)


def _finish(record: JobMessageRecord) -> None:
    job_id = record.body.job_id
    # On every line until the next record's: these below, and a failure (logged by handlers.sqs_batches).
    logger.append_keys(job_id=job_id)
    detail = finish_ended_job(load_settings(), job_id)
    if detail is None:
        logger.info("job not ended or gone; nothing to do")
        return
    job_duration(detail["duration_seconds"])
    logger.info(
        "job finished",
        extra={
            "status": detail["status"],
            "results_written": detail["results_prefix"] is not None,
        },
    )


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=_finish, processor=processor, context=context)
    )
