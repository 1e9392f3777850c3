"""S3: claim-check storage for device payloads and results too big for a message or an item."""

import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

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


def put_bytes(bucket: str, key: str, body: bytes, content_type: str) -> None:
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def exists(bucket: str, key: str) -> bool:
    try:
        client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def presigned_get_url(bucket: str, key: str, expires_in: int) -> str:
    url: str = client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
    )
    return url


def get_text(bucket: str, key: str, max_bytes: int) -> str:
    """An object's text; ValueError if it is larger than ``max_bytes`` or not UTF-8."""
    response = client("s3").get_object(Bucket=bucket, Key=key)
    if response["ContentLength"] > max_bytes:
        raise ValueError(f"{key} is {response['ContentLength']} bytes; the limit is {max_bytes}")
    text: str = response["Body"].read().decode("utf-8")
    return text


def is_missing(exc: BaseException) -> bool:
    """Whether an S3 error means the object does not exist."""
    return isinstance(exc, ClientError) and exc.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound")


def presigned_post(bucket: str, key: str, max_bytes: int, expires_in: int) -> dict[str, Any]:
    """A pre-signed POST form for exactly ``key``: S3 itself refuses a body over ``max_bytes`` and, once
    ``expires_in`` seconds have passed, any upload at all. ``{"url": ..., "fields": {...}}``."""
    form: dict[str, Any] = client("s3").generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Conditions=[["content-length-range", 1, max_bytes]],
        ExpiresIn=expires_in,
    )
    return form


# Big enough that a line of a JSON Lines manifest (a device, up to two 4 MiB configs) spans few chunks.
_READ_CHUNK_BYTES = 1024 * 1024


def iter_chunks(bucket: str, key: str, max_bytes: int) -> Iterator[bytes]:
    """An object's bytes as they arrive, so that a big manifest is never held whole; ValueError (before any
    chunk) if it is larger than ``max_bytes``."""
    response = client("s3").get_object(Bucket=bucket, Key=key)
    if response["ContentLength"] > max_bytes:
        response["Body"].close()
        raise ValueError(f"{key} is {response['ContentLength']} bytes; the limit is {max_bytes}")
    body = response["Body"]
    try:
        yield from body.iter_chunks(_READ_CHUNK_BYTES)
    finally:
        body.close()


def list_keys(bucket: str, prefix: str) -> Iterator[str]:
    """Every key under ``prefix``, in S3's (lexicographic) order, page by page."""
    for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            yield str(entry["Key"])


def delete(bucket: str, key: str) -> None:
    """Remove an object; nothing happens if there is none (S3 answers a missing key's delete with success)."""
    client("s3").delete_object(Bucket=bucket, Key=key)
