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
    caller: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API Lambda proxy (payload 1.0) event; ``caller`` is the SigV4 principal's ARN
    (``requestContext.identity.userArn``), None for an unsigned request."""
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": route or path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()}
        if query
        else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route or path,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": "unit",
            "accountId": "123456789012",
            "identity": {
                "sourceIp": "127.0.0.1",
                "userArn": caller,
                "caller": None,
                "user": None,
                "accountId": "123456789012" if caller else None,
            },
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
            # Every attribute Lambda's event source mapping sends (Powertools' SqsRecordModel needs them).
            "Attributes": {
                "ApproximateReceiveCount": str(receive_count),
                "SentTimestamp": "1764425100000",
                "SenderId": "AROAEXAMPLEROLEID0001:unit",
                "ApproximateFirstReceiveTimestamp": "1764425100021",
            },
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
