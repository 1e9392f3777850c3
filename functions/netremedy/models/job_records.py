"""The SQS records of the fan-out and finalize queues, as Powertools' batch processor parses them.

Apart from ``models.messages`` because Powertools' parser models cost the API functions about 65 ms of cold
start; the queue consumers import them with the batch processor anyway.
"""

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from netremedy.models.messages import JobMessage


class JobMessageRecord(SqsRecordModel):
    """An SQS record whose body is a ``JobMessage``: a body that does not parse is that record's failure
    (retried, then dead-lettered), not the batch's."""

    body: Json[JobMessage]
