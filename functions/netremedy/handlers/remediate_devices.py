"""SQS worker: compute each device of each message of the batch, then count them all together.

Records that cannot be processed (unreadable message, S3 outage) are reported in ``batchItemFailures`` and
come back after the visibility timeout (every one, when none could be processed: the invocation does not fail
as Powertools' BatchProcessor made it, SQS treats both alike); if counting the batch fails, the invocation
fails and the whole batch comes back, which the conditional writes make harmless.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from netremedy.logic.counting import failed_result, identify_devices, record_results
from netremedy.logic.worker import remediate_device
from netremedy.models.items import DeviceResultItem
from netremedy.models.messages import DeviceMessage
from netremedy.models.settings import load_settings
from netremedy.observability import count_devices, error_origin, logger, metrics
from netremedy.runtime_gc import freeze_start_up_objects, one_collection_per_device


def _remediate_record(body: str) -> list[DeviceResultItem]:
    try:
        message = DeviceMessage.model_validate_json(body)
        _ = message.remediation_options  # parsed here: bad options fail the message like any other bad field
    except ValidationError as exc:
        # A malformed message fails the same way every time: fail its devices now rather than after every
        # retry. One that names no device at all goes back, and on to the dead-letter queue.
        named = identify_devices(body)
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
    results: list[DeviceResultItem] = []
    for device in message.devices:
        with one_collection_per_device():  # each device's trees freed after it, not walked during it
            results.append(remediate_device(load_settings(), message, device))
    return results


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # SQS partial batch response, by hand: Powertools' BatchProcessor imports every event data class and
    # parser model (about 100 ms of the worker's cold start, a third of hier_config+boto3's import).
    results: list[DeviceResultItem] = []
    failures: list[dict[str, str]] = []
    for record in event["Records"]:
        try:
            results.extend(_remediate_record(record["body"]))
        # Whatever failed, this record comes back after its visibility timeout and the others go on.
        except Exception as exc:  # noqa: BLE001
            # Type and place only: an exception's message may quote the message body (configuration text).
            logger.warning(
                "record failed; it will be retried",
                extra={
                    "message_id": record["messageId"],
                    "error_type": type(exc).__name__,
                    "raised_at": error_origin(exc),
                },
            )
            failures.append({"itemIdentifier": record["messageId"]})
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
                "messages_unprocessed": len(failures),
            },
        )
    return {"batchItemFailures": failures}


# Last: everything the handler needs is imported by now, and no collection need walk it again.
freeze_start_up_objects()
