"""SQS: the finalize queue, told once when a job completes, so that its results are written back to S3."""

import json

from netremedy.dal.clients import client


def announce_completed(queue_url: str, job_id: str) -> None:
    client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps({"job_id": job_id}))
