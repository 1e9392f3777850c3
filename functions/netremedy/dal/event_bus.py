"""EventBridge: the JobCompleted event other systems subscribe to (ticketing, change windows, chat)."""

import json
from typing import Any

from netremedy.dal.clients import client

EVENT_SOURCE = "netremedy"
JOB_COMPLETED = "JobCompleted"


class EventNotPublishedError(Exception):
    pass


def publish_job_completed(bus_name: str, detail: dict[str, Any]) -> None:
    response = client("events").put_events(
        Entries=[
            {
                "EventBusName": bus_name,
                "Source": EVENT_SOURCE,
                "DetailType": JOB_COMPLETED,
                "Detail": json.dumps(detail),
            }
        ]
    )
    if response.get("FailedEntryCount"):
        entry = response["Entries"][0]
        # Raised so the announcement is retried (SQS redelivery) instead of the event being lost.
        raise EventNotPublishedError(f"EventBridge refused JobCompleted: {entry.get('ErrorCode')}")
