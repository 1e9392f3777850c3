"""S3 -> SQS -> Lambda: a manifest dropped under the drop prefix starts a job (see logic.drops).

Going through SQS (not S3 -> Lambda directly) means a failed drop is retried and, after that, kept in the
drop dead-letter queue: never lost.
"""

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from netremedy.handlers.sqs_batches import SqsBatchProcessor
from netremedy.logic.drops import start_dropped_job
from netremedy.models.settings import load_settings
from netremedy.observability import logger

processor = SqsBatchProcessor()


def _start(record: SQSRecord) -> None:
    notification = record.decoded_nested_s3_event
    if "Records" not in notification:  # an s3:TestEvent, sent when the notification is configured
        return
    for entry in notification.records:
        if not entry.event_name.startswith("ObjectCreated"):
            continue
        # S3 encodes keys in events (AWS writes spaces as '+', moto percent-encodes): unquote_plus reads both.
        # Powertools' S3Object.key is the key as sent (only S3Event.object_key, the first record's, unquotes).
        s3_object = entry.s3.get_object
        key = unquote_plus(s3_object.key)
        # What tells this upload apart from another of the same bytes, and orders it (logic.drops.DropUpload).
        # Powertools' sequencer and event_time raise KeyError when absent (unpatched moto): read them raw.
        outcome = start_dropped_job(
            load_settings(),
            entry.s3.bucket.name,
            key,
            s3_object.etag,
            sequencer=s3_object.get("sequencer"),
            version_id=s3_object.version_id,
            event_time=entry.get("eventTime"),
        )
        logger.info("config drop", extra={"outcome": outcome.outcome, "job_id": outcome.job_id, "key": key})


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=_start, processor=processor, context=context)
    )
