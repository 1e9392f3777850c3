"""SQS consumer of the fan-out queue: queues the devices of a large job after its POST has answered (first
reading its manifest, for a job started from an upload).

A failure is retried by SQS (queueing a device twice is harmless: it is counted once); on the last
receive the job is failed with the reason instead, so it never waits forever.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from netremedy.dal.clients import error_code
from netremedy.handlers.sqs_batches import SqsBatchProcessor
from netremedy.logic.lifecycle import end_job
from netremedy.logic.uploads import fan_out_job
from netremedy.models.job_records import JobMessageRecord
from netremedy.models.settings import load_settings
from netremedy.observability import logger

processor = SqsBatchProcessor(JobMessageRecord)
# maxReceiveCount of FanoutQueue's redrive policy in template.yaml (tests/infrastructure checks it).
LAST_RECEIVE = 3


def _fan_out(record: JobMessageRecord) -> None:
    job_id = record.body.job_id
    try:
        started = fan_out_job(load_settings(), job_id)
    except Exception as exc:
        if int(record.attributes.ApproximateReceiveCount) < LAST_RECEIVE:
            raise
        end_job(
            load_settings(),
            job_id,
            "failed",
            f"fan-out failed {LAST_RECEIVE} times ({error_code(exc)}); submit the job again",
        )
        logger.error("fan-out gave up", extra={"job_id": job_id, "error_type": error_code(exc)})
        return
    logger.info("job fanned out" if started else "job no longer waiting", extra={"job_id": job_id})


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=_fan_out, processor=processor, context=context)
    )
