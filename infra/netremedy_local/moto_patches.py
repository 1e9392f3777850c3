"""Every change the local AWS emulator makes to moto, in one registry, checked against the moto it runs on.

Each ``Patch`` names the moto attribute it replaces, the replacement, the sha256 of the source it expects to
replace, the behaviour it fixes and what moto upstream has done about it. ``apply()`` checks every
fingerprint first and refuses to start (naming the patch and the installed moto version) when moto's code
is not what a patch was written against: patches on moto internals must not silently go stale.

Only the emulator process (``python -m netremedy_local.emulator_server``) applies them; tests and the
service never patch moto. ``python -m netremedy_local.moto_patches`` prints the fingerprints the installed
moto has, for re-checking the patches after an upgrade.
"""

import base64
import bisect
import contextvars
import copy
import functools
import hashlib
import importlib.metadata
import inspect
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError
from moto.core.utils import camelcase_to_underscores
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    ItemSizeTooLarge,
    ItemSizeToUpdateTooLarge,
    MockValidationException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as dynamodb_table
from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.events.exceptions import ValidationException as EventsValidationException
from moto.events.models import EventsBackend
from moto.iam.access_control import IAMRequest, S3IAMRequest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.s3 import notifications as s3_notifications
from moto.s3.responses import S3Response
from moto.sqs import models as sqs_models
from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid, SQSException
from moto.sqs.models import Queue, SQSBackend
from moto.utilities.utils import get_partition

from netremedy_local.aws_limits import (
    DYNAMODB_ITEM_LIMIT,
    DYNAMODB_TRANSACTION_LIMIT,
    EVENTS_REQUEST_LIMIT,
    SQS_MESSAGE_LIMIT,
    attribute_value_size,
    dynamodb_item_size,
    events_entry_size,
    post_policy_refusal,
    sqs_message_size,
)

MOTO_VERSION = "5.2.5"  # the version every fingerprint below was taken from (pinned in pyproject.toml)


@dataclass(frozen=True)
class Patch:
    name: str
    owner: type | ModuleType  # the class or module whose attribute is replaced
    attribute: str
    # Called with moto's original attribute, returns what replaces it.
    replacement: Callable[[Any], Any]
    fingerprint: str  # sha256 of the source of the code replaced (or relied on), as moto 5.2.5 has it
    fixes: str
    upstream: str


class PatchMismatchError(RuntimeError):
    pass


def _source(target: Any) -> str:
    if isinstance(target, property):
        target = target.fget
    return inspect.getsource(target)


def fingerprint(target: Any) -> str:
    try:
        return hashlib.sha256(_source(target).encode()).hexdigest()
    except (OSError, TypeError):  # no source to read: certainly not the code a patch expects
        return "no source"


def _checked_source(patch: Patch) -> Any:
    """What a patch's fingerprint covers: the attribute it replaces, except for a module attribute that is
    another module (``copy`` inside moto's DynamoDB models), where it is the code that uses it."""
    original = inspect.getattr_static(patch.owner, patch.attribute)
    return patch.owner if isinstance(original, ModuleType) else original


# --- The server's dispatch ---------------------------------------------------------------------------------


def _backend_for_host_once(original: Callable[..., Any]) -> Callable[..., Any]:
    """The backend serving a host name, worked out once per host: the answer depends only on the host, moto's
    module folders and its URL patterns, none of which change while the server runs."""
    known: dict[str | None, Any] = {}

    @functools.wraps(original)
    def get_backend_for_host(self: DomainDispatcherApplication, host: str | None) -> Any:
        if host not in known:
            known[host] = original(self, host)
        return known[host]

    return get_backend_for_host


# --- SQS ----------------------------------------------------------------------------------------------------


def _clock_without_datetimes(original: Callable[..., float]) -> Callable[..., float]:
    scale = 1000.0 if original.__name__.endswith("millis") else 1.0

    @functools.wraps(original)
    def now(dt: Any = None) -> float:
        return time.time() * scale if dt is None else float(original(dt))

    return now


class _VisibleMessages:
    """Stands in for moto's ``Queue.messages`` (visible, not delayed messages): walked lazily, in order."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def __iter__(self) -> Any:
        now = time.time() * 1000.0
        for message in list(self._queue._messages):  # a C-level copy: the list may change while we yield
            if now > message.visible_at and not now < message.delayed_until:
                yield message

    def __bool__(self) -> bool:
        return next(iter(self), None) is not None

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _lazy_visible_messages(original: property) -> property:
    return property(_VisibleMessages)


_COUNT_ATTRIBUTES = {
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
}


class _LazyCountAttributes(dict[str, Any]):
    """moto's queue attributes, with the three message counts computed (in one pass) on first read."""

    def __init__(self, queue: Any, values: dict[str, Any]) -> None:
        super().__init__(values)
        self._queue = queue
        self._counted = False

    def _count(self) -> None:
        if self._counted:
            return
        self._counted = True
        now = time.time() * 1000.0
        visible = delayed = in_flight = 0
        for message in list(self._queue._messages):
            if now < message.delayed_until:
                delayed += 1
            if not now > message.visible_at:
                in_flight += 1
            elif not now < message.delayed_until:
                visible += 1
        dict.update(
            self,
            {
                "ApproximateNumberOfMessages": visible,
                "ApproximateNumberOfMessagesDelayed": delayed,
                "ApproximateNumberOfMessagesNotVisible": in_flight,
            },
        )

    def __getitem__(self, key: str) -> Any:
        if key in _COUNT_ATTRIBUTES:
            self._count()
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        if key in _COUNT_ATTRIBUTES:
            self._count()
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        return key in _COUNT_ATTRIBUTES or dict.__contains__(self, key)

    def __iter__(self) -> Any:
        self._count()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._count()
        return dict.__len__(self)

    def keys(self) -> Any:
        self._count()
        return dict.keys(self)

    def items(self) -> Any:
        self._count()
        return dict.items(self)

    def values(self) -> Any:
        self._count()
        return dict.values(self)


def _attributes_counted_on_demand(queue: Any) -> dict[str, Any]:
    """moto's ``Queue.attributes`` (same keys and values) with the counts left to be computed on demand."""
    result: dict[str, Any] = {}
    names = [name for name in queue.BASE_ATTRIBUTES if name not in _COUNT_ATTRIBUTES]
    if queue.fifo_queue:
        names += queue.FIFO_ATTRIBUTES
    if queue.kms_master_key_id:
        names += queue.KMS_ATTRIBUTES
    for name in names:
        result[name] = getattr(queue, camelcase_to_underscores(name))
    if queue.policy:
        result["Policy"] = queue.policy
    if queue.redrive_policy:
        result["RedrivePolicy"] = json.dumps(queue.redrive_policy)
    for key, value in result.items():
        if isinstance(value, bool):
            result[key] = str(value).lower()
    return _LazyCountAttributes(queue, result)


def _lazy_count_attributes(original: property) -> property:
    return property(_attributes_counted_on_demand)


def _delete_stops_at_its_message(original: Callable[..., None]) -> Callable[..., None]:
    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:  # already deleted: SQS accepts a repeated delete
            return
        for index, message in enumerate(self._messages):
            if message.had_receipt_handle(receipt_handle):
                del self._messages[index]
                self.pending_messages.discard(message)
                self.deleted_messages.update(message.all_receipt_handles)
                return
        raise ReceiptHandleIsInvalid()

    return delete_message


# --- DynamoDB ---------------------------------------------------------------------------------------------


class _CopyWithoutTables:
    """Stands in for the ``copy`` module inside moto's DynamoDB models: tables are not copied whole."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    copy = staticmethod(copy.copy)


def _copy_without_tables(original: ModuleType) -> type:
    return _CopyWithoutTables


def _target_key(backend: DynamoDBBackend, operation: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    table_name = operation.get("TableName")
    if not table_name or table_name not in backend.tables:
        return None
    if "Key" in operation:
        return table_name, operation["Key"]
    table = backend.get_table(table_name)
    item = operation.get("Item", {})
    key = {table.hash_key_attr: item.get(table.hash_key_attr)}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = item.get(table.range_key_attr)
    if any(value is None for value in key.values()):
        return None
    return table_name, key


def _attributes(item: Any) -> dict[str, Any] | None:
    """A snapshot of an item's attributes (None: no item), for ``_restore``."""
    return copy.deepcopy(item.to_json()["Attributes"]) if item is not None else None


def _restore(backend: Any, table_name: str, key: dict[str, Any], attributes: dict[str, Any] | None) -> None:
    """Put back the item a snapshot was taken of, or remove it if there was none."""
    if attributes is None:
        if backend.get_item(table_name, key) is not None:
            backend.delete_item(table_name, key)
    else:
        backend.put_item(table_name, attributes)


def _transact_with_item_snapshots(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Any:
        snapshots = []
        for entry in transact_items:
            target = _target_key(self, next(iter(entry.values())))
            if target is not None:
                snapshots.append((*target, _attributes(self.get_item(*target))))
        try:
            return original(self, transact_items)
        except Exception:
            for table_name, key, attributes in reversed(snapshots):
                _restore(self, table_name, key, attributes)
            raise

    return transact_write_items


# Reads whose answers are items in DynamoDB's wire JSON already (moto's dynamo_to_dict), with no dates for the
# generic serializer to convert; only Binary values come as bytes, which the wire carries base64-encoded.
_ITEM_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem"})


def _wire_binary(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _items_as_json(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def execute_result(self: Any, context: Any) -> Any:
        if isinstance(self.result, dict) and context.operation_model.name in _ITEM_READS:
            body = json.dumps(self.result, default=_wire_binary)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return original(self, context)

    return execute_result


def _sort_value(item: Any) -> Any:
    # moto orders a partition with DynamoType.__lt__, which compares cast_value: the same order, in C.
    return item.range_key.cast_value


def _after_start_key(self: Any, partition: list[Any], arguments: Mapping[str, Any]) -> list[Any]:
    """The sorted partition from where a query with ExclusiveStartKey resumes: moto skips the items up to the
    start key one comparison at a time, so page n of a partition cost n pages of comparisons. Left whole
    (moto skips as before) when the start key is not one of this partition's keys."""
    start = arguments.get("exclusive_start_key")
    if not start or not partition:
        return partition
    hash_value, range_value = start.get(self.hash_key_attr), start.get(self.range_key_attr)
    if range_value is None or hash_value is None or DynamoType(hash_value) != arguments["hash_key"]:
        return partition
    start_value = DynamoType(range_value).cast_value
    if arguments.get("scan_index_forward", True) is False:  # moto reverses it; it resumes below start
        return partition[: bisect.bisect_left(partition, start_value, key=_sort_value)]
    return partition[bisect.bisect_right(partition, start_value, key=_sort_value) :]


def _query_one_partition(original: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        hash_key = arguments["hash_key"]
        if arguments.get("index_name") or hash_key is None or not self.range_key_attr:
            return original(self, *args, **kwargs)
        partition = sorted(self.items[hash_key].values(), key=_sort_value) if hash_key in self.items else []
        partition = _after_start_key(self, partition, arguments)
        # An instance attribute shadows the method for this call only; queries run under the backend's lock.
        self.all_items = lambda: partition
        # The answer is turned into plain JSON values under the same lock (_answer_under_lock), so the
        # items it holds need no copy against later writes.
        uncopied = _QUERY_RESULTS_UNCOPIED.set(_ANSWER_UNDER_LOCK.get())
        try:
            return original(self, *args, **kwargs)
        finally:
            _QUERY_RESULTS_UNCOPIED.reset(uncopied)
            del self.all_items

    return query


# Set while DynamoHandler.query runs under the backend lock, from the query to its plain-JSON answer.
_ANSWER_UNDER_LOCK: contextvars.ContextVar[bool] = contextvars.ContextVar("answer_under_lock", default=False)
# Set while Table.query runs on one partition with its answer built under the lock.
_QUERY_RESULTS_UNCOPIED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "query_results_uncopied", default=False
)


class _CopyUnlessAnsweredUnderLock:
    """Stands in for the ``copy`` module inside moto's table model: Table.query deep-copies the items it
    answers (about 40% of a results page's emulator time), which a query whose answer is built under the
    lock does not need; every other copy there is made as before."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if _QUERY_RESULTS_UNCOPIED.get():
            return value
        return copy.deepcopy(value, memo)

    copy = staticmethod(copy.copy)


def _copy_unless_answered_under_lock(original: ModuleType) -> type:
    return _CopyUnlessAnsweredUnderLock


def _answer_under_lock(original: Callable[..., Any]) -> Callable[..., Any]:
    """The whole Query request under the backend lock, until its answer is plain JSON values (DynamoResult's
    dynamo_to_dict makes new lists and maps and keeps only immutable strings, numbers and bytes): no write
    can change an item between the query and its answer."""

    @functools.wraps(original)
    def query(self: Any) -> Any:
        with _LOCK:
            answering = _ANSWER_UNDER_LOCK.set(True)
            try:
                return original(self)
            finally:
                _ANSWER_UNDER_LOCK.reset(answering)

    return query


_LEAVES = (str, int, float, bool, bytes, type(None))


def _fast_leaves(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's dynamo_to_dict with strings, numbers and bytes returned at once: it asked each of them whether
    it is a datetime, a DynamoType, has to_json, is a dict or a list before returning it unchanged."""

    @functools.wraps(original)
    def dynamo_to_dict(obj: Any) -> Any:
        if type(obj) in _LEAVES:
            return obj
        if type(obj) is DynamoType and obj.type not in ("B", "BS"):
            return {obj.type: dynamo_to_dict(obj.value)}
        if type(obj) is dict or type(obj) is LimitedSizeDict:  # an item's attributes are a LimitedSizeDict
            return {key: dynamo_to_dict(value) for key, value in obj.items()}
        if type(obj) is list:
            return [dynamo_to_dict(value) for value in obj]
        return original(obj)  # datetimes, binary values, objects with to_json, subclasses: moto's own way

    return dynamo_to_dict


_LOCK = threading.RLock()


def _serialised(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return original(*args, **kwargs)

    return locked


# --- AWS's data limits: DynamoDB ----------------------------------------------------------------------

# Set while a TransactWriteItems runs: an update that outgrows the item limit there cancels the transaction
# (with a ValidationError reason) instead of failing the request.
_IN_TRANSACTION: contextvars.ContextVar[bool] = contextvars.ContextVar("in_transaction", default=False)


class ValidationError(Exception):
    """An update inside a transaction made its item too large. moto's transaction turns any exception that is
    not a validation exception into a cancellation reason whose code is the exception's class name, which
    is DynamoDB's code for this reason."""

    def __init__(self) -> None:
        super().__init__(ItemSizeToUpdateTooLarge.item_size_to_update_too_large_msg)


def _no_incremental_size_check(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's item attribute dict refuses an attribute once its own estimate passes 405,000 bytes; the
    operations below measure the whole item instead, with DynamoDB's rules and limit."""
    return dict.__setitem__


def _put_item_within_limit(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def put_item(self: Any, table_name: str, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if dynamodb_item_size(item_attrs) > DYNAMODB_ITEM_LIMIT:
            raise ItemSizeTooLarge()
        return original(self, table_name, item_attrs, *args, **kwargs)

    return put_item


def _update_item_within_limit(original: Callable[..., Any]) -> Callable[..., Any]:
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


def _transaction_within_limits(original: Callable[..., Any]) -> Callable[..., Any]:
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


# --- AWS's data limits: SQS ---------------------------------------------------------------------------


def _send_message_within_limit(original: Callable[..., Any]) -> Callable[..., Any]:
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


def _send_message_batch_within_limit(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def send_message_batch(self: Any, queue_name: str, entries: dict[str, dict[str, Any]]) -> Any:
        total = _batch_size(entries.values())
        if total > SQS_MESSAGE_LIMIT:
            raise SQSException(
                "BatchRequestTooLong",
                f"Batch requests cannot be longer than {SQS_MESSAGE_LIMIT} bytes. "
                f"You have sent {total} bytes.",
            )
        return original(self, queue_name, entries)

    return send_message_batch


# --- AWS's data limits: EventBridge -------------------------------------------------------------------


def _put_events_within_limit(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def put_events(self: Any, events: list[dict[str, Any]]) -> Any:
        if sum(events_entry_size(entry) for entry in events) > EVENTS_REQUEST_LIMIT:
            raise EventsValidationException("Total size of the entries in the request is over the limit.")
        return original(self, events)

    return put_events


# --- IAM ----------------------------------------------------------------------------------------------------

# Batch operations that IAM authorizes as the single-message action (there is no sqs:DeleteMessageBatch).
_SQS_IAM_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
# A transaction is authorized entry by entry, as the action each entry is (there is no
# dynamodb:TransactWriteItems).
_TRANSACTION_IAM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _table_arn(partition: str, region: str, account: str, table: str, index: str | None = None) -> str:
    arn = table if table.startswith("arn:") else f"arn:{partition}:dynamodb:{region}:{account}:table/{table}"
    return f"{arn}/index/{index}" if index else arn


def _dynamodb_checks(
    operation: str, body: Mapping[str, Any], partition: str, region: str, account: str
) -> list[tuple[str, str]]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return [
            (_TRANSACTION_IAM_ACTIONS[kind], _table_arn(partition, region, account, request["TableName"]))
            for entry in body.get("TransactItems", [])
            for kind, request in entry.items()
        ]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [
            (operation, _table_arn(partition, region, account, name)) for name in body.get("RequestItems", {})
        ]
    if "TableName" in body:
        return [(operation, _table_arn(partition, region, account, body["TableName"], body.get("IndexName")))]
    return [(operation, "*")]


def _events_checks(
    operation: str, body: Mapping[str, Any], partition: str, region: str, account: str
) -> list[tuple[str, str]]:
    if operation != "PutEvents":
        return [(operation, "*")]
    buses = [entry.get("EventBusName") or "default" for entry in body.get("Entries", [])]
    return [
        (
            operation,
            bus if bus.startswith("arn:") else f"arn:{partition}:events:{region}:{account}:event-bus/{bus}",
        )
        for bus in buses
    ]


def _iam_checks(response: Any, resource: str) -> list[tuple[str, str]] | None:
    """The (IAM action, resource ARN) pairs AWS authorizes for this request where they are not moto's (the
    operation's name on ``resource``); None where moto's are right."""
    service = response.service_name
    operation = response._get_action()
    partition, region, account = get_partition(response.region), response.region, response.current_account
    if service == "sqs":
        return [(_SQS_IAM_ACTIONS.get(operation, operation), resource)]
    if service == "dynamodb":  # moto checks every DynamoDB request against "*", not the table
        return _dynamodb_checks(operation, response.body, partition, region, account)
    if service == "events":
        return _events_checks(operation, json.loads(response.raw_body or b"{}"), partition, region, account)
    return None


# What a refusal is called by the JSON-protocol services (moto answers them an XML body botocore cannot read).
_ACCESS_DENIED_CODES = {
    "dynamodb": "AccessDeniedException",
    "events": "AccessDeniedException",
    "sqs": "AccessDenied",
}


def _iam_request_for(action: str, resource: str) -> type:
    """moto's IAMRequest for ``action`` instead of the operation's name, refusing as AWS words it."""

    class ActionRequest(IAMRequest):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "action": action})

        def _raise_access_denied(self) -> None:
            code = _ACCESS_DENIED_CODES.get(self._service)
            if code is None:
                return super()._raise_access_denied()
            raise JsonRESTError(
                code,
                f"User: {self._access_key.arn} is not authorized to perform: {self._action} on resource: "
                f"{resource} because no identity-based policy allows the {self._action} action",
            )

    return ActionRequest


def _authorized_as_iam_authorizes(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def authorize(self: Any, resource: str = "*") -> None:
        if ActionAuthenticatorMixin.request_count < moto_settings.INITIAL_NO_AUTH_ACTION_COUNT:
            return original(self, resource)  # not enforced (yet): moto only counts the request
        checks = _iam_checks(self, resource)
        if checks is None:
            return original(self, resource)
        for action, arn in dict.fromkeys(checks):
            self._authenticate_and_authorize_action(_iam_request_for(action, arn), arn)
        return None

    return authorize


def _unchanged(original: Any) -> Any:
    return original


def _query_value(response: Any, name: str) -> str | None:
    for key, values in response.querystring.items():
        if key.lower() == name.lower() and values:
            return str(values[0])
    return None


class _PresignedS3Request(S3IAMRequest):
    """A pre-signed URL's or POST form's signer, whose permissions are checked; its signature is not."""

    def check_signature(self) -> None:
        pass


def _presigned_as_its_signer(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def authorize(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        enforced = ActionAuthenticatorMixin.request_count >= moto_settings.INITIAL_NO_AUTH_ACTION_COUNT
        credential = _query_value(self, "X-Amz-Credential") or _query_value(self, "AWSAccessKeyId")
        if not enforced or "Authorization" in self.headers or credential is None:
            return original(self, bucket_name, key_name)
        if key_name is None and self.method == "POST":
            key_name = _query_value(self, "key")  # a POST form's object, which the policy names
        access_key = credential.split("/")[0]
        headers = {name: value for name, value in self.headers.items()}
        headers["Authorization"] = f"AWS4-HMAC-SHA256 Credential={access_key}/-/{self.region}/s3/aws4_request"
        token = _query_value(self, "X-Amz-Security-Token")
        if token:
            headers["X-Amz-Security-Token"] = token
        target = f"{bucket_name or '*'}/{key_name}" if key_name else (bucket_name or "*")
        _PresignedS3Request(
            account_id=self.current_account,
            method=self.method,
            path=self.raw_path,
            data=self.data,
            body=self.raw_body,
            headers=headers,
            action=self._get_action(),
        ).check_action_permitted(f"arn:{get_partition(self.region)}:s3:::{target}")
        return None

    return authorize


# --- the registry -----------------------------------------------------------------------------------------

# Fingerprints of DynamoDBBackend methods that more than one patch wraps (each checks moto's original).
_PUT_ITEM = "f5d9a5042c77b89e5f4c88b5884f7966b9dccd95b8b04090ee9e07afc5eea675"
_UPDATE_ITEM = "218984588dd689a5de81678ce11e6a40d05c91e7b6c21b44c4ed4122fe74aa9f"
_TRANSACT_WRITE_ITEMS = "81db2cb7d94e39c90b3a2077e1f4bb41a449c558ef9b1b1e2910fdaa39978ad4"

_NOT_UPSTREAM = "Not found upstream: moto 5.2.5 still has this code; no moto issue or pull request found."
_SQS_CLOCK = (
    "moto reads the clock through datetime objects (two per visibility check of every message), so a "
    "receive on a queue of thousands of messages spent most of its time building datetimes. time.time() "
    "gives the same values."
)
_LOCKED = (
    "moto's server answers each request on its own thread and its DynamoDB backend takes no lock, so "
    "concurrent writes interleave (a transaction's copy of a table fails with 'dictionary changed size "
    "during iteration'). One lock serialises DynamoDB operations: the isolation DynamoDB itself gives."
)
_LOCKED_UPSTREAM = (
    "Not fixed: moto issue #372 (thread-safety issues, 2015) was closed without a lock; moto 5.2.5's "
    "DynamoDB backend still has none."
)

_PERFORMANCE = (
    Patch(
        "server-backend-for-host-once",
        DomainDispatcherApplication,
        "get_backend_for_host",
        _backend_for_host_once,
        "1f41972c1e4e660fbf4e4ddfeeed2fdff56dc105a8f8e1bf015640f710ef511a",
        "Every request looked up its service by listing moto's package folder and testing each of its 174 "
        "entries with a stat (list_of_moto_modules), then matching the URL patterns, about 1 ms, inside the "
        "lock that every request thread takes: under load (32 threads seeding a bucket) most request threads "
        "waited on it. The answer for a host is now kept after its first request.",
        "Not found upstream: moto 5.2.5 lists the folder on every request; no moto issue or pull request "
        "found.",
    ),
    Patch(
        "sqs-clock-seconds",
        sqs_models,
        "unix_time",
        _clock_without_datetimes,
        "f0576ec9e5f586e54a3646c4bee8f05589aed07b2aecf0e1943ffcd2585c3960",
        _SQS_CLOCK,
        _NOT_UPSTREAM,
    ),
    Patch(
        "sqs-clock-millis",
        sqs_models,
        "unix_time_millis",
        _clock_without_datetimes,
        "7a37e1337d02962edf1a7396cbc8f3872997b0d7cbb22d50e53876019c11dbad",
        _SQS_CLOCK,
        _NOT_UPSTREAM,
    ),
    Patch(
        "sqs-lazy-visible-messages",
        Queue,
        "messages",
        _lazy_visible_messages,
        "03a531dbcbcf9aee2e61c7254c08946a499f5c57f2447a8f2e534aa85b067dea",
        "A receive built the list of every visible message before taking the first ten, so its cost grew "
        "with the queue's depth. Visible messages are now walked lazily, in the same order, and the walk "
        "stops once the batch is full.",
        "Not fixed: moto 5.2.5 builds the whole list and says so in a comment ('This can become very "
        "inefficient if a large number of messages are in-flight'); no issue or pull request found.",
    ),
    Patch(
        "sqs-lazy-count-attributes",
        Queue,
        "attributes",
        _lazy_count_attributes,
        "40cb990b121628d535cecbcd0e0d333984024633b70a097489ae8611e1a59338",
        "Every send reads the queue's attributes (for one FIFO setting), and building them counted every "
        "message three times. The same keys and values are built, with the three message counts computed "
        "in one pass only when a caller reads a count.",
        _NOT_UPSTREAM,
    ),
    Patch(
        "sqs-delete-stops-at-message",
        Queue,
        "delete_message",
        _delete_stops_at_its_message,
        "fa6fd5b9bd2cafb4aaacd79da7fc656e513e1513197c2939ff002f9ebfd4be46",
        "A delete scanned the queue twice and rebuilt the whole message list. It now stops at its message "
        "(usually near the front); a repeated delete is still accepted and an unknown handle refused.",
        _NOT_UPSTREAM,
    ),
    Patch(
        "dynamodb-transaction-no-table-copy",
        dynamodb_models,
        "copy",
        _copy_without_tables,
        "deee8b9c59bc8a4be642e9968c1673b6e4be57b989f8fd6777dd29786864ca86",
        "A transaction deep-copied every table it touches, so each transaction cost time in proportion to "
        "everything stored. Inside moto's DynamoDB models, deepcopy now returns tables as they are (every "
        "other value is still copied); the item snapshots below take the copy's place. The fingerprint "
        "covers the whole models module, where moto uses this copy.",
        "Not fixed: moto pull request #9670 (in 5.2.5) made copying an item faster, but "
        "transact_write_items still deep-copies each table; no issue about it found.",
    ),
    Patch(
        "dynamodb-transaction-item-snapshots",
        DynamoDBBackend,
        "transact_write_items",
        _transact_with_item_snapshots,
        _TRANSACT_WRITE_ITEMS,
        "A failed transaction restored its copies of whole tables, throwing away writes other requests "
        "made meanwhile. It now snapshots only the items it targets and restores those: all or nothing, "
        "per item, as DynamoDB does.",
        _NOT_UPSTREAM,
    ),
    Patch(
        "dynamodb-item-reads-as-json",
        DynamoResult,
        "execute_result",
        _items_as_json,
        "6333faa349b58671258985778d2aaf02d31e0617aae380442e4c683c36ab248d",
        "moto ran every answer through a generic, shape-driven serializer that walks each attribute of "
        "each item: about 3 s per 1,000 result items, most of a results page's time. Item reads "
        "(GetItem, Query, Scan, BatchGetItem) are already DynamoDB's wire JSON and are sent as they are.",
        _NOT_UPSTREAM,
    ),
    Patch(
        "dynamodb-query-one-partition",
        Table,
        "query",
        _query_one_partition,
        "002b4d00be6df07cf37f6cbe0132e5eb89455ae12a8e79b23db3fb492450f21e",
        "A query on the table's own key scanned and sorted every item of the table to find one partition, "
        "so paging through a job's results cost O(table) per page. It now looks at its partition only; "
        "sorting, start key, limits and filters stay moto's. Arguments are bound by name with "
        "inspect.signature.",
        "Not fixed: moto 5.2.5's Table.query still walks all_items(); moto pull request #7795 changed its "
        "sorting only.",
    ),
    Patch(
        "dynamodb-query-answer-under-lock",
        DynamoHandler,
        "query",
        _answer_under_lock,
        "681834c64038af93f0bf17657b7d24065f907f31e2d5cafb67f8cc15bb5e9f96",
        "A results page's query deep-copied every item it answered, so that a write after the backend's lock "
        "was released could not change the answer while it was serialised: about 40% of the emulator's time "
        "on a page of 1,000 devices. The whole Query request now holds the lock until its answer is plain "
        "JSON values, and the query on one partition skips that copy (next patch).",
        _NOT_UPSTREAM,
    ),
    Patch(
        "dynamodb-query-results-not-copied",
        dynamodb_table,
        "copy",
        _copy_unless_answered_under_lock,
        "3fecc9e51039f5a1ac5e302a21dc7aef48639a185ba01b11f9a6c32cf7853ba8",
        "Inside moto's table model, deepcopy returns its value as it is while a one-partition query whose "
        "answer is built under the lock runs; every other copy is made as before. The fingerprint covers the "
        "whole table module, where moto uses this copy.",
        _NOT_UPSTREAM,
    ),
    Patch(
        "dynamodb-answer-fast-leaves",
        dynamodb_responses,
        "dynamo_to_dict",
        _fast_leaves,
        "80f600124c13ddcb132c02448abeefffd2b43b353c7fcedaa2fa7ca67b3107c4",
        "Every answer's conversion to plain values asked each string and number five questions before "
        "returning it unchanged (a tenth of a results page's emulator time). Plain strings, numbers, maps "
        "and lists now take the short way; the result is the same values.",
        _NOT_UPSTREAM,
    ),
)

_LIMITS = (
    Patch(
        "dynamodb-item-size-measured-per-operation",
        LimitedSizeDict,
        "__setitem__",
        _no_incremental_size_check,
        "d979580fdbe14f79f3216564e1385c4b3485db82bc88193326c467a037331e81",
        "moto refused an attribute once its own estimate of the item passed 405,000 bytes (numbers counted "
        "as their text), and only for top-level attributes. The size check moves to the operations below, "
        "with DynamoDB's measure and its limit of exactly 409,600 bytes.",
        "Not AWS's figure upstream: moto issue #1874 introduced the 405,000-byte estimate; the 409,600-byte "
        "limit and the number sizes are as measured against DynamoDB by the nubo-db/dynamodb-conformance "
        "project.",
    ),
    Patch(
        "dynamodb-put-item-size",
        DynamoDBBackend,
        "put_item",
        _put_item_within_limit,
        _PUT_ITEM,
        "PutItem (and every put of BatchWriteItem and TransactWriteItems) of an item over 400 KB is "
        "refused with ValidationException 'Item size has exceeded the maximum allowed size'.",
        "Partly: moto enforces an estimate (see dynamodb-item-size-measured-per-operation).",
    ),
    Patch(
        "dynamodb-update-item-size",
        DynamoDBBackend,
        "update_item",
        _update_item_within_limit,
        _UPDATE_ITEM,
        "UpdateItem whose resulting item is over 400 KB is refused with ValidationException 'Item size to "
        "update has exceeded the maximum allowed size' and changes nothing; inside TransactWriteItems it "
        "cancels the transaction with a ValidationError reason, as DynamoDB does. Any failed update now "
        "leaves the item as it was (moto updated in place, attribute by attribute).",
        "Not upstream: moto raised the error mid-update and, in a transaction, failed the request instead "
        "of cancelling it.",
    ),
    Patch(
        "dynamodb-transaction-size",
        DynamoDBBackend,
        "transact_write_items",
        _transaction_within_limits,
        _TRANSACT_WRITE_ITEMS,
        "TransactWriteItems over 4 MB in total is refused (ValidationException 'Transaction request cannot "
        "be larger than 4 MB'), and a Put over 400 KB is refused before the transaction starts. More than "
        "100 entries is moto's own check (TooManyTransactionsException, ValidationException).",
        "Not upstream: moto pull request #2879, which added transactions, lists the 4 MB limit as not "
        "implemented; issue #4755 asked for the entry limit, which moto 5.2.5 checks at 100 (for "
        "TransactGetItems it still checks AWS's old 25).",
    ),
    Patch(
        "sqs-message-size",
        SQSBackend,
        "send_message",
        _send_message_within_limit,
        "bf161af09a9e6b860e3dd5d8f58ccc802623caa86883fab9b2ffb333f8f70330",
        "SendMessage (and each SendMessageBatch entry) over 256 KiB, counting the body and its attributes "
        "in bytes, is refused with InvalidParameterValue. moto counted the body's characters only, against "
        "1 MiB.",
        "moto pull request #9682 (January 2026) follows AWS's August 2025 raise to 1 MiB; this service is "
        "built for 256 KiB, so the emulator keeps that bound. moto still counts characters, not bytes.",
    ),
    Patch(
        "sqs-batch-size",
        SQSBackend,
        "send_message_batch",
        _send_message_batch_within_limit,
        "0707ad219481c867546327a5e0f42421187e1706202c68f9d8e87be597d3417a",
        "SendMessageBatch over 256 KiB in total (bodies and attributes, in bytes) is refused with "
        "BatchRequestTooLong. moto counted characters against 1 MiB.",
        "As for sqs-message-size.",
    ),
    Patch(
        "events-entry-size",
        EventsBackend,
        "put_events",
        _put_events_within_limit,
        "c56f6ac1f932c70d3dbe82d2e85d4a6de2bdc2368dda47d755d3548481e46783",
        "PutEvents whose entries (Time 14 bytes, Source, DetailType, Detail, Resources) are over 256 KB is "
        "refused with ValidationException 'Total size of the entries in the request is over the limit.'",
        "Not found upstream: moto 5.2.5 checks only the number of entries.",
    ),
)

# Outermost, so that everything above runs under the lock.
_SERIALISED = (
    ("put_item", _PUT_ITEM),
    ("update_item", _UPDATE_ITEM),
    ("delete_item", "083a4bb1af18f6fd2feef40195a4c9c803da66cb2cacd14f87916c6e76930ea5"),
    ("get_item", "290b95c46b38bc5ac8079668e9c449bba9b6b26f4a2872d80ca262115023e189"),
    ("query", "b8f2b308cd13edb48bb59ab0321ec3f935605629acb1d1ed634ba9f2bbcb107e"),
    ("scan", "9b5227800f9a320c0ef714bc5105e1504f47773be265847590e965a878f2e108"),
    ("transact_write_items", _TRANSACT_WRITE_ITEMS),
    ("transact_get_items", "bb2874a6c2ccecb20dcbafa22077254585c0ddef0095f97e91f6b1310365639d"),
    ("batch_get_item", "bf0438d0af99d65c032cb6bb653e494cf7237622188bbe3618fb1211b788bd5d"),
)
_LOCKS = tuple(
    Patch(
        f"dynamodb-lock-{method.replace('_', '-')}",
        DynamoDBBackend,
        method,
        _serialised,
        expected,
        _LOCKED,
        _LOCKED_UPSTREAM,
    )
    for method, expected in _SERIALISED
)

_IAM_UPSTREAM = (
    "Not found upstream: moto 5.2.5's access_control.py marks resource checks and more services as still to do; its "
    "authorization checks the operation's name against one resource."
)
_IAM = (
    Patch(
        "iam-actions-and-resources",
        ActionAuthenticatorMixin,
        "_authenticate_and_authorize_normal_action",
        _authorized_as_iam_authorizes,
        "eaa6fd7174850bcbac48e22c254b2b09b7117bd6a9e1d4e3425248615c47d065",
        "With IAM enforced, moto checked each request as the operation's own name against one resource: "
        'every DynamoDB and EventBridge request against "*" (so a policy naming the table or the bus denied '
        "everything), sqs:DeleteMessageBatch instead of sqs:DeleteMessage, dynamodb:TransactWriteItems "
        "instead of each entry's PutItem/UpdateItem/ConditionCheckItem on its table, and a Query of an "
        "index against the table. Now each request is checked as IAM authorizes it.",
        _IAM_UPSTREAM,
    ),
    Patch(
        "iam-presigned-s3-requests",
        ActionAuthenticatorMixin,
        "_authenticate_and_authorize_s3_action",
        _presigned_as_its_signer,
        "f42e68966e400a184b59461d76c26758d04d3a7d00b723f486862c1fe5260110",
        "With IAM enforced, moto answered 500 to every pre-signed URL and POST form upload (it reads the "
        "credential from an Authorization header they do not have). Now the signer's permissions are checked "
        "for the object (a POST form's key included), as S3 does; the signature itself is not verified.",
        _IAM_UPSTREAM,
    ),
    # Relied on, not replaced: it builds the IAMRequest from the class and resource it is given.
    Patch(
        "iam-authorize-one-action",
        ActionAuthenticatorMixin,
        "_authenticate_and_authorize_action",
        _unchanged,
        "f8cfc0296ca017faca1c0cd574290bac2729e96d75265f75ebf6c2c97c10af45",
        "The IAM patch above calls it once per (action, resource) pair with its own IAMRequest class.",
        _IAM_UPSTREAM,
    ),
)

_last_sequencer = 0
_SEQUENCER_LOCK = threading.Lock()


def _s3_events_with_sequencer(original: Callable[..., Any]) -> Callable[..., Any]:
    """Each stored object gets one sequencer (hex, strictly increasing: nanoseconds, one more on a tie), the
    same in every notification of its PUT; ``versionId`` where the bucket is versioned, as S3 sends them."""

    @functools.wraps(original)
    def event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        global _last_sequencer
        body: dict[str, Any] = original(event_name, bucket, key, notification_id)
        with _SEQUENCER_LOCK:
            if getattr(key, "netremedy_sequencer", None) is None:
                _last_sequencer = max(_last_sequencer + 1, time.time_ns())
                key.netremedy_sequencer = f"{_last_sequencer:018X}"
        s3_object = body["Records"][0]["s3"]["object"]
        s3_object["sequencer"] = key.netremedy_sequencer
        if bucket.is_versioned:
            s3_object["versionId"] = key.version_id
        return body

    return event


_EVENTS = (
    Patch(
        "s3-event-sequencer",
        s3_notifications,
        "_get_s3_event",
        _s3_events_with_sequencer,
        "e3f2ed740c7b2971d1a9eaadd72062ac371ba6b116b49efcb29634e05803a17c",
        "moto's S3 event notifications had no sequencer (and no versionId), which S3 puts in every "
        "ObjectCreated event: the drop function tells uploads apart and orders them by it (logic.drops).",
        "Not upstream: moto 5.2.5 sends a fixed sequencer in its EventBridge events only, none in SQS, SNS "
        "or Lambda notifications.",
    ),
)


def _post_form_within_its_policy(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def post(self: Any, request: Any, bucket_name: str) -> Any:
        if "key" in self.querystring and not self.is_delete_keys():
            fields = {name: values[0] for name, values in self.querystring.items()}
            body = self.body if isinstance(self.body, bytes) else str(self.body).encode()
            policy = fields.get("policy") or fields.get("Policy")
            refusal = post_policy_refusal(policy, fields, len(body), time.time())
            if refusal is not None:
                status, code, message = refusal
                error = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
                return status, {"Content-Type": "application/xml"}, error
        return original(self, request, bucket_name)

    return post


_S3_POST = (
    Patch(
        "s3-post-form-policy",
        S3Response,
        "_bucket_response_post",
        _post_form_within_its_policy,
        "5a5db8c38c8f1648ec25651c5fafd7e801e9a664f38f2007e84abe8395bc206a",
        "moto stored any POST form upload whatever its signed policy said: a file over (or under) its "
        "content-length-range, after its expiration, or with another key. S3 refuses those (EntityTooLarge, "
        "EntityTooSmall, AccessDenied); the upload form of POST /api/v1/batch/uploads relies on it for the "
        "1 GiB limit.",
        "Not found upstream: moto 5.2.5's form upload ignores the policy field.",
    ),
)

PATCHES: tuple[Patch, ...] = _PERFORMANCE + _LIMITS + _LOCKS + _IAM + _EVENTS + _S3_POST


def installed_moto_version() -> str:
    return importlib.metadata.version("moto")


def check(patches: Sequence[Patch] = PATCHES) -> None:
    """Raise naming every patch whose target is not the code it was written against."""
    stale = [patch for patch in patches if fingerprint(_checked_source(patch)) != patch.fingerprint]
    if stale:
        raise PatchMismatchError(
            f"moto {installed_moto_version()} is not the moto the emulator's patches were written for "
            f"({MOTO_VERSION}); the code these patches replace has changed: "
            + ", ".join(f"{patch.name} ({patch.owner.__name__}.{patch.attribute})" for patch in stale)
            + f". Install moto[server]=={MOTO_VERSION} (pyproject.toml pins it) or re-check each patch "
            "against the new code (python -m netremedy_local.moto_patches prints its fingerprints)."
        )


_applied = False


def apply(patches: Sequence[Patch] = PATCHES) -> None:
    """Check every patch, then apply them in order (later patches wrap earlier ones on the same target)."""
    global _applied
    if _applied:
        return
    check(patches)
    for patch in patches:
        setattr(
            patch.owner,
            patch.attribute,
            patch.replacement(inspect.getattr_static(patch.owner, patch.attribute)),
        )
    _applied = True


def main() -> None:
    print(f"moto {installed_moto_version()}")
    for patch in PATCHES:
        print(f"{patch.name:45} {fingerprint(_checked_source(patch))}")


if __name__ == "__main__":
    main()
