"""SQS worker: compute each device of each message of the batch, then count them all together.

Records that cannot be processed (unreadable message, S3 outage) are reported in ``batchItemFailures`` and
come back after the visibility timeout; if counting the batch fails, the invocation fails and the whole
batch comes back, which the conditional writes make harmless.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from netremedy.logic.counting import failed_result, identify_devices, record_results
from netremedy.logic.worker import remediate_message
from netremedy.models.items import DeviceResultItem
from netremedy.models.messages import DeviceMessage
from netremedy.models.settings import load_settings
from netremedy.observability import count_devices, logger, metrics

processor = BatchProcessor(event_type=EventType.SQS)


def _remediate_record(record: SQSRecord) -> list[DeviceResultItem]:
    try:
        message = DeviceMessage.model_validate_json(record.body)
    except ValidationError as exc:
        # A malformed message fails the same way every time: fail its devices now rather than after every
        # retry. One that names no device at all goes back, and on to the dead-letter queue.
        named = identify_devices(record.body)
        if named is None:
            raise
        fields = ", ".join(sorted({".".join(map(str, error["loc"])) or "body" for error in exc.errors()}))
        job_id, device_ids = named
        return [
            failed_result(
                load_settings(), job_id, device_id, error=f"malformed device message (fields: {fields})"
            )
            for device_id in device_ids
        ]
    return remediate_message(load_settings(), message)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with processor(records=event["Records"], handler=_remediate_record, lambda_context=context):
        processed = processor.process()
    results: list[DeviceResultItem] = [
        result for status, records, _ in processed if status == "success" for result in records
    ]
    if results:
        count = record_results(load_settings(), results, {result.job_id for result in results})
        count_devices(count.succeeded, count.failed, count.remediation_lines)
        logger.info(
            "batch counted",
            extra={
                "recorded": count.recorded,
                "duplicates": count.duplicates,
                "skipped_closed_job": count.skipped_closed_job,
                "unstorable": count.unstorable,
                "jobs_completed": count.jobs_completed,
                "jobs_reannounced": count.jobs_reannounced,
                "messages_unprocessed": sum(1 for status, _, _ in processed if status != "success"),
            },
        )
    return dict(processor.response())
