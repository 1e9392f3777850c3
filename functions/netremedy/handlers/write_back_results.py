"""SQS consumer of the finalize queue: a completed job's results are written back to S3."""

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from netremedy.logic.finalize import write_back_results
from netremedy.models.settings import load_settings
from netremedy.observability import logger

processor = BatchProcessor(event_type=EventType.SQS)


def _write_back(record: SQSRecord) -> None:
    job_id = json.loads(record.body)["job_id"]
    summary = write_back_results(load_settings(), job_id)
    logger.info("results written back" if summary else "nothing to write back", extra={"job_id": job_id})


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=_write_back, processor=processor,
                                         context=context))
