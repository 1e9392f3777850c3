"""S3: claim-check storage for device payloads and results too big for a message or an item."""

import json
from typing import Any

from netremedy.dal.clients import client


def put_json(bucket: str, key: str, document: dict[str, Any]) -> None:
    client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(document, separators=(",", ":")).encode("utf-8"),
        ContentType="application/json",
    )


def get_json(bucket: str, key: str) -> dict[str, Any]:
    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    document: dict[str, Any] = json.loads(body)
    return document
