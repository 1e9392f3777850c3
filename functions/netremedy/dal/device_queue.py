"""SQS: the device queue that fans a job out to the workers."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from netremedy.dal.clients import client

_SEND_THREADS = 8


class QueueSendError(Exception):
    """Some messages could not be queued; ``failed_ids`` names them."""

    def __init__(self, failed_ids: list[str], reason: str) -> None:
        super().__init__(f"{len(failed_ids)} message(s) not queued: {reason}")
        self.failed_ids = failed_ids


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str  # unique within its send batch
    body: str


def _send_batch(queue_url: str, batch: list[OutgoingMessage]) -> None:
    response = client("sqs").send_message_batch(
        QueueUrl=queue_url,
        Entries=[{"Id": message.message_id, "MessageBody": message.body} for message in batch],
    )
    failed = response.get("Failed", [])
    if failed:
        raise QueueSendError([entry["Id"] for entry in failed], failed[0].get("Message", "unknown error"))


def send_batches(queue_url: str, batches: list[list[OutgoingMessage]]) -> None:
    """Send every batch (one SendMessageBatch call each), a few at a time; raise if any message failed."""
    if len(batches) == 1:
        _send_batch(queue_url, batches[0])
        return
    with ThreadPoolExecutor(max_workers=_SEND_THREADS) as pool:
        for future in [pool.submit(_send_batch, queue_url, batch) for batch in batches]:
            future.result()
