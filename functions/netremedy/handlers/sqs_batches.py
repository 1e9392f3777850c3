"""Powertools' SQS partial batch processor, as every queue consumer but the worker uses it (the worker writes
its partial response by hand for its cold start, handlers.remediate_devices), with two changes because an
exception's message may quote configuration text:

- a failed record is logged by its error's type and the place it was raised, never by its message;
- when every record of a batch fails the invocation still answers them all as ``batchItemFailures`` instead of
  raising ``BatchProcessingError``: SQS retries them the same, but Lambda would log that error's message,
  which repeats every record's exception message.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.base import FailureResponse
from aws_lambda_powertools.utilities.batch.exceptions import ExceptionInfo
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

from netremedy.dal.clients import error_code
from netremedy.observability import error_origin, logger


class SqsBatchProcessor(BatchProcessor):
    def __init__(self, model: type[SqsRecordModel] | None = None) -> None:
        super().__init__(event_type=EventType.SQS, model=model, raise_on_entire_batch_failure=False)

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> FailureResponse:
        failure = exception[1] or Exception("unknown")
        # A parsed model spells it messageId, Powertools' SQSRecord message_id; None when it did not parse.
        message_id = getattr(record, "messageId", None) or getattr(record, "message_id", None)
        logger.warning(
            "record failed; it will be retried",
            extra={
                "message_id": message_id,
                "error_type": error_code(failure),
                "raised_at": error_origin(failure),
            },
        )
        return super().failure_handler(record, exception)
