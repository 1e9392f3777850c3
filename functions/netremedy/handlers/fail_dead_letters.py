"""SQS consumer of the device dead-letter queue: a device whose message failed every retry is still
counted, as failed with the reason, so its job ends."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from netremedy.handlers.sqs_batches import SqsBatchProcessor
from netremedy.logic.counting import failed_result, identify_devices, inline_platforms, record_results
from netremedy.models.items import DeviceResultItem
from netremedy.models.settings import load_settings
from netremedy.observability import count_devices, logger, metrics

processor = SqsBatchProcessor()


def _dead_letter(record: SQSRecord) -> list[DeviceResultItem]:
    named = identify_devices(record.body)
    if named is None:
        # Nothing to count: the message names no device. Kept in the logs (by id only) for an operator.
        logger.warning("dead letter names no device; dropped", extra={"message_id": record.message_id})
        return []
    job_id, device_ids = named
    receives = record.attributes.approximate_receive_count
    error = (
        f"the device could not be processed after {receives} attempts (its message went to the "
        "dead-letter queue). Submit it again; if it fails the same way, report it with the job id"
    )
    platforms = inline_platforms(record.body)
    return [
        failed_result(load_settings(), job_id, device_id, error=error, platform=platforms.get(device_id))
        for device_id in device_ids
    ]


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with processor(records=event["Records"], handler=_dead_letter, lambda_context=context):
        processed = processor.process()
    results = [result for status, records, _ in processed if status == "success" for result in records]
    if results:
        count = record_results(load_settings(), results, {result.job_id for result in results})
        count_devices(count.succeeded, count.failed)
        logger.info(
            "dead letters counted",
            extra={
                "recorded": count.recorded,
                "duplicates": count.duplicates,
                "unstorable": count.unstorable,
                "jobs_completed": count.jobs_completed,
                "jobs_reannounced": count.jobs_reannounced,
            },
        )
    return dict(processor.response())
