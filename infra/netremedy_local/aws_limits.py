"""AWS's data limits and how AWS measures what counts against them.

The emulator enforces these (moto_patches.py: moto 5.2.5 enforces some differently from AWS or not at all),
so that what passes the local stack does not fail on AWS for a size reason. Sizes are pure functions of a
request's parameters, free of moto, so the benchmark's billing meter counts request units with them too.
"""

import base64
import json
import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

# DynamoDB: 400 KB per item (exactly 409,600 bytes is accepted, one more refused) and 4 MB per transaction.
DYNAMODB_ITEM_LIMIT = 400 * 1024
DYNAMODB_TRANSACTION_LIMIT = 4 * 1024 * 1024
# SQS: 256 KiB per message (body plus attributes) and per SendMessageBatch in total. AWS has allowed queues up
# to 1 MiB since August 2025; this service sizes its messages and batches for 256 KiB, so the emulator holds
# it to that.
SQS_MESSAGE_LIMIT = 256 * 1024
# EventBridge: 256 KB for the entries of one PutEvents request.
EVENTS_REQUEST_LIMIT = 256 * 1024

_NUMBER = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def _binary(value: str | bytes) -> int:
    return len(value) if isinstance(value, bytes) else len(base64.b64decode(value))


def number_size(literal: str) -> int:
    """DynamoDB's size of a number: 1 byte, plus one per two significant digits counted separately on each
    side of the decimal point (rounded up), plus 1 if negative. Leading and trailing zeros and the exponent
    do not count. This is what DynamoDB is measured to charge; its guide's "1 byte per two significant
    digits" rounds differently and ignores the point."""
    match = _NUMBER.fullmatch(literal.strip())
    if match is None or not (match[2] or match[3]):
        return _utf8(literal)  # not a number: moto refuses it elsewhere
    sign, integer, fraction, exponent = match[1], match[2], match[3] or "", match[4]
    digits = integer + fraction
    if not digits.strip("0"):
        return 1  # zero, however it is spelled, and never negative
    point = len(integer) + int(exponent or 0)
    if point <= 0:
        whole, part = "", "0" * -point + digits
    elif point >= len(digits):
        whole, part = digits + "0" * (point - len(digits)), ""
    else:
        whole, part = digits[:point], digits[point:]
    whole, part = whole.lstrip("0"), part.rstrip("0")
    # Zeros between significant digits are significant, so a trailing zero of the integer part counts only
    # when a fraction follows it (and a leading zero of the fraction only after an integer part).
    whole_digits = len(whole) if part else len(whole.rstrip("0"))
    part_digits = len(part) if whole else len(part.lstrip("0"))
    return 1 + math.ceil(whole_digits / 2) + math.ceil(part_digits / 2) + (sign == "-")


def attribute_value_size(value: Mapping[str, Any]) -> int:
    """The size of one attribute value in DynamoDB's wire form (``{"S": "text"}``, ``{"M": {...}}``, ...)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return _utf8(inner)
    if kind == "N":
        return number_size(inner)
    if kind == "B":
        return _binary(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(_utf8(text) for text in inner)
    if kind == "NS":
        return sum(number_size(number) for number in inner)
    if kind == "BS":
        return sum(_binary(blob) for blob in inner)
    if kind == "L":  # 3 bytes for the list, 1 per element
        return 3 + sum(1 + attribute_value_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(1 + _utf8(name) + attribute_value_size(element) for name, element in inner.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def dynamodb_item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    """An item's size as DynamoDB counts it against 400 KB: every attribute's name plus its value."""
    return sum(_utf8(name) + attribute_value_size(value) for name, value in (item or {}).items())


def sqs_message_size(body: str, attributes: Mapping[str, Mapping[str, Any]] | None) -> int:
    """A message's size as SQS counts it: the body and each attribute's name, type and value, in bytes."""
    size = _utf8(body)
    for name, attribute in (attributes or {}).items():
        size += _utf8(name) + _utf8(attribute.get("DataType", ""))
        if "StringValue" in attribute:
            size += _utf8(attribute["StringValue"])
        if "BinaryValue" in attribute:
            size += _binary(attribute["BinaryValue"])
    return size


def events_entry_size(entry: Mapping[str, Any]) -> int:
    """A PutEvents entry's size as EventBridge computes it: Time counts 14 bytes, then the UTF-8 bytes of
    Source, DetailType, Detail and each of Resources."""
    size = 14 if entry.get("Time") is not None else 0
    for field in ("Source", "DetailType", "Detail"):
        size += _utf8(entry.get(field) or "")
    return size + sum(_utf8(resource) for resource in entry.get("Resources") or [] if resource)


def post_policy_refusal(
    policy: str | None, fields: Mapping[str, str], file_size: int, now: float
) -> tuple[int, str, str] | None:
    """Why S3 refuses a POST form upload under its signed ``policy`` (base64 JSON), as ``(status, code,
    message)``; None if it accepts it. Checked: the expiration, each ``content-length-range`` against the
    file's bytes and each exact-match condition (``{"key": ...}`` or ``["eq", "$key", ...]``)."""
    if policy is None:
        return None
    document = json.loads(base64.b64decode(policy))
    expiration = datetime.fromisoformat(document["expiration"])  # Python 3.11 reads the "Z"
    if expiration.timestamp() < now:
        return 403, "AccessDenied", "Invalid according to Policy: Policy expired."
    for condition in document.get("conditions", []):
        if isinstance(condition, list) and condition[0] == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if file_size > high:
                return 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
            if file_size < low:
                return 400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"
            continue
        if isinstance(condition, dict):
            ((name, expected),) = condition.items()
        elif condition[0] == "eq":
            name, expected = str(condition[1]).removeprefix("$"), condition[2]
        else:
            continue
        if name != "bucket" and fields.get(name) != expected:
            return 403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}"
    return None
