"""AWS's data limits, measured the way AWS measures them, and the emulator patches that enforce them.

moto 5.2.5 enforces some of these differently from AWS or not at all (each patch's note in moto_patches.py
says which); what passes the local stack must not fail on AWS for a size reason. Sizes here are pure
functions of the request, so the benchmark's billing meter counts DynamoDB request units with them too.
"""

import base64
import contextvars
import copy
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    ItemSizeTooLarge,
    ItemSizeToUpdateTooLarge,
    MockValidationException,
)
from moto.events.exceptions import ValidationException as EventsValidationException
from moto.sqs.exceptions import InvalidParameterValue, SQSException

# DynamoDB: 400 KB per item (accepted at exactly 409,600 bytes, refused one byte over) and 4 MB per transaction.
DYNAMODB_ITEM_LIMIT = 400 * 1024
DYNAMODB_TRANSACTION_LIMIT = 4 * 1024 * 1024
# SQS: 256 KiB per message (body plus attributes) and per SendMessageBatch in total. AWS has allowed queues up
# to 1 MiB since August 2025; this service sizes its messages and batches for 256 KiB, so the emulator holds
# it to that.
SQS_MESSAGE_LIMIT = 256 * 1024
# EventBridge: 256 KB for the entries of one PutEvents request.
EVENTS_REQUEST_LIMIT = 256 * 1024

Function = Callable[..., Any]

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


# --- DynamoDB ---------------------------------------------------------------------------------------------

# Set while a TransactWriteItems runs: an update that outgrows the item limit there cancels the transaction
# (with a ValidationError reason) instead of failing the request.
_IN_TRANSACTION: contextvars.ContextVar[bool] = contextvars.ContextVar("in_transaction", default=False)


class ValidationError(Exception):
    """An update inside a transaction made its item too large. moto's transaction turns any exception that is
    not a validation exception into a cancellation reason whose code is the exception's class name, which
    is DynamoDB's code for this reason."""

    def __init__(self) -> None:
        super().__init__(ItemSizeToUpdateTooLarge.item_size_to_update_too_large_msg)


def no_incremental_size_check(original: Function) -> Function:
    """moto's item attribute dict refuses an attribute once its own estimate passes 405,000 bytes; the
    operations below measure the whole item instead, with DynamoDB's rules and limit."""
    return dict.__setitem__


def put_item_within_limit(original: Function) -> Function:
    @functools.wraps(original)
    def put_item(self: Any, table_name: str, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if dynamodb_item_size(item_attrs) > DYNAMODB_ITEM_LIMIT:
            raise ItemSizeTooLarge()
        return original(self, table_name, item_attrs, *args, **kwargs)

    return put_item


def _attributes(item: Any) -> dict[str, Any] | None:
    return copy.deepcopy(item.to_json()["Attributes"]) if item is not None else None


def _restore(backend: Any, table_name: str, key: dict[str, Any], attributes: dict[str, Any] | None) -> None:
    if attributes is None:
        if backend.get_item(table_name, key) is not None:
            backend.delete_item(table_name, key)
    else:
        backend.put_item(table_name, attributes)


def update_item_within_limit(original: Function) -> Function:
    """The item after the update is measured; an update that fails, for size or any other reason, leaves
    the item as it was (moto updates in place, attribute by attribute)."""

    @functools.wraps(original)
    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        before = _attributes(self.get_item(table_name, key))
        try:
            item = original(self, table_name, key, *args, **kwargs)
        except ConditionalCheckFailed:
            raise  # refused before anything changed
        except Exception:
            _restore(self, table_name, key, before)
            raise
        if dynamodb_item_size(item.to_json()["Attributes"]) <= DYNAMODB_ITEM_LIMIT:
            return item
        _restore(self, table_name, key, before)
        raise ValidationError() if _IN_TRANSACTION.get() else ItemSizeToUpdateTooLarge()

    return update_item


def _entry_size(kind: str, operation: Mapping[str, Any]) -> int:
    if kind == "Put":
        return dynamodb_item_size(operation.get("Item"))
    written = operation.get("ExpressionAttributeValues") or {}
    return dynamodb_item_size(operation.get("Key")) + sum(attribute_value_size(v) for v in written.values())


def transaction_within_limits(original: Function) -> Function:
    """A Put's size is known from the request, so DynamoDB refuses an oversized one before the transaction
    starts (ValidationException), as it does a request over 4 MB. The transaction's 100-entry limit is
    moto's own check."""

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        total = 0
        for entry in transact_items:
            ((kind, operation),) = entry.items()
            size = _entry_size(kind, operation)
            if kind == "Put" and size > DYNAMODB_ITEM_LIMIT:
                raise ItemSizeTooLarge()
            total += size
        if total > DYNAMODB_TRANSACTION_LIMIT:
            raise MockValidationException("Transaction request cannot be larger than 4 MB")
        token = _IN_TRANSACTION.set(True)
        try:
            return original(self, transact_items)
        finally:
            _IN_TRANSACTION.reset(token)

    return transact_write_items


# --- SQS ----------------------------------------------------------------------------------------------------


def send_message_within_limit(original: Function) -> Function:
    @functools.wraps(original)
    def send_message(
        self: Any,
        queue_name: str,
        message_body: str,
        message_attributes: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if sqs_message_size(message_body, message_attributes) > SQS_MESSAGE_LIMIT:
            raise InvalidParameterValue(
                "One or more parameters are invalid. Reason: Message must be shorter than "
                f"{SQS_MESSAGE_LIMIT} bytes."
            )
        return original(self, queue_name, message_body, message_attributes, *args, **kwargs)

    return send_message


def _batch_size(entries: Iterable[Mapping[str, Any]]) -> int:
    return sum(sqs_message_size(e.get("MessageBody", ""), e.get("MessageAttributes")) for e in entries)


def send_message_batch_within_limit(original: Function) -> Function:
    @functools.wraps(original)
    def send_message_batch(self: Any, queue_name: str, entries: dict[str, dict[str, Any]]) -> Any:
        total = _batch_size(entries.values())
        if total > SQS_MESSAGE_LIMIT:
            raise SQSException(
                "BatchRequestTooLong",
                f"Batch requests cannot be longer than {SQS_MESSAGE_LIMIT} bytes. You have sent {total} bytes.",
            )
        return original(self, queue_name, entries)

    return send_message_batch


# --- EventBridge -------------------------------------------------------------------------------------------


def put_events_within_limit(original: Function) -> Function:
    @functools.wraps(original)
    def put_events(self: Any, events: list[dict[str, Any]]) -> Any:
        if sum(events_entry_size(entry) for entry in events) > EVENTS_REQUEST_LIMIT:
            raise EventsValidationException("Total size of the entries in the request is over the limit.")
        return original(self, events)

    return put_events
