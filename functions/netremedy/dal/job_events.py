"""SQS: the fan-out queue (a large job waiting to be queued) and the finalize queue (a job ended: its results
are written back to S3 if it completed, and its JobCompleted event is published). Both carry a JobMessage."""

from netremedy.dal.clients import client
from netremedy.models.messages import JobMessage


def _send(queue_url: str, job_id: str) -> None:
    client("sqs").send_message(QueueUrl=queue_url, MessageBody=JobMessage(job_id=job_id).model_dump_json())


def announce_ended(queue_url: str, job_id: str) -> None:
    _send(queue_url, job_id)


def request_fanout(queue_url: str, job_id: str) -> None:
    _send(queue_url, job_id)
