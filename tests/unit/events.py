"""Lambda events and context for invoking handlers in-process, shaped as AWS sends them."""

import json
from typing import Any

from netremedy_local.pollers import sqs_event
from netremedy_local.runtime import LocalLambdaContext
from netremedy_local.template import FunctionSpec


def context(name: str = "UnitFunction", timeout: int = 30) -> LocalLambdaContext:
    return LocalLambdaContext(FunctionSpec(name, "unused", timeout, 512, {}), "us-east-1", "unit")


def http_event(
    method: str,
    path: str,
    *,
    route: str | None = None,
    body: Any = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event."""
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    all_headers = {"content-type": "application/json", **(headers or {})}
    return {
        "version": "2.0",
        "routeKey": f"{method} {route or path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{name}={value}" for name, value in (query or {}).items()),
        "queryStringParameters": query,
        "headers": all_headers,
        "pathParameters": path_parameters,
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": "unit",
            "routeKey": f"{method} {route or path}",
            "stage": "$default",
        },
        "body": text,
        "isBase64Encoded": False,
    }


def sqs_records(bodies: list[str], receive_count: int = 1) -> dict[str, Any]:
    messages = [
        {
            "MessageId": f"msg-{index}",
            "ReceiptHandle": f"handle-{index}",
            "Body": body,
            "Attributes": {"ApproximateReceiveCount": str(receive_count)},
        }
        for index, body in enumerate(bodies)
    ]
    return sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:unit-devices", "us-east-1")


def drain_queue(queue_url: str) -> list[str]:
    """Every message body waiting on a queue, deleted as read (as the event source mapping would)."""
    import boto3

    sqs = boto3.client("sqs")
    bodies: list[str] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [message["Body"] for message in messages]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return bodies
