"""S3 -> SQS -> Lambda: a manifest dropped under the drop prefix starts a job (see logic.drops).

Going through SQS (not S3 -> Lambda directly) means a failed drop is retried and, after that, kept in the
drop dead-letter queue: never lost.
"""

import json
import os
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from netremedy.logic.drops import start_dropped_job
from netremedy.models.settings import load_settings
from netremedy.observability import logger

processor = BatchProcessor(event_type=EventType.SQS)
DROP_PREFIX = os.environ.get("DROP_PREFIX", "incoming/")


def _start(record: SQSRecord) -> None:
    notification = json.loads(record.body)
    for entry in notification.get("Records", []):  # an s3:TestEvent has none
        if not str(entry.get("eventName", "")).startswith("ObjectCreated"):
            continue
        bucket = entry["s3"]["bucket"]["name"]
        # S3 encodes keys in events (AWS writes spaces as '+', moto percent-encodes): unquote_plus reads both.
        key = unquote_plus(entry["s3"]["object"]["key"])
        etag = entry["s3"]["object"].get("eTag", "")
        outcome = start_dropped_job(load_settings(), bucket, key, etag, DROP_PREFIX)
        logger.info("config drop", extra={"outcome": outcome.outcome, "job_id": outcome.job_id, "key": key})


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=_start, processor=processor, context=context)
    )
