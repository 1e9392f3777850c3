"""moto's HTTP server with fixes for the two services this one leans on hardest.

SQS: a receive built the list of *every* visible message before taking the first ten, and each visibility
check built two datetimes to read the clock, so a queue holding thousands of messages made every call slow.
Here the clock is read with ``time.time()`` (same values) and the visible messages are walked lazily, so a
receive stops as soon as it has its batch; and the queue's attributes (which every send consults for one
FIFO setting) count the messages only when a caller actually asks for a count. A delete stops at its
message (usually near the front) instead of rebuilding the whole list.

DynamoDB transactions: moto backs up every table a transaction touches with a deep copy of the *whole table* (so each transaction
costs time in proportion to everything stored), and restores that copy on failure, which can throw away
writes that other requests made meanwhile; it also takes no lock, so a concurrent write can break the copy
("dictionary changed size during iteration"). Here a transaction snapshots only the items it targets, and
one lock keeps DynamoDB operations from interleaving, which is the isolation DynamoDB itself gives.
Run as ``python -m netremedy_local.emulator_server [moto.server arguments]``.
"""

import copy
import functools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.core.utils import camelcase_to_underscores
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult
from moto.sqs import models as sqs_models

_LOCK = threading.RLock()
_SERIALISED = (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "query",
    "scan",
    "transact_write_items",
    "transact_get_items",
    "batch_get_item",
)


class _CopyWithoutTables:
    """Stands in for the ``copy`` module inside moto's DynamoDB models: tables are not copied whole."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    copy = staticmethod(copy.copy)


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


def _transact_with_item_snapshots(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Any:
        snapshots = []
        for entry in transact_items:
            target = _target_key(self, next(iter(entry.values())))
            if target is not None:
                current = self.get_item(*target)
                snapshots.append(
                    (*target, copy.deepcopy(current.to_json()["Attributes"]) if current else None)
                )
        try:
            return original(self, transact_items)
        except Exception:
            for table_name, key, attributes in reversed(snapshots):
                if attributes is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, attributes)
            raise

    return transact_write_items


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return locked


_applied = False
_unix_time = sqs_models.unix_time
_unix_time_millis = sqs_models.unix_time_millis


def _fast_unix_time(dt: Any = None) -> float:
    return time.time() if dt is None else float(_unix_time(dt))


def _fast_unix_time_millis(dt: Any = None) -> float:
    return time.time() * 1000.0 if dt is None else float(_unix_time_millis(dt))


class _VisibleMessages:
    """Stands in for moto's ``Queue.messages`` list (visible, not delayed): iterated lazily, in queue order."""

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

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
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

    def keys(self) -> Any:  # type: ignore[override]
        self._count()
        return dict.keys(self)

    def items(self) -> Any:  # type: ignore[override]
        self._count()
        return dict.items(self)

    def values(self) -> Any:  # type: ignore[override]
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


def _delete_message(self: Any, receipt_handle: str) -> None:
    if receipt_handle in self.deleted_messages:  # already deleted: SQS accepts a repeated delete
        return
    for index, message in enumerate(self._messages):
        if message.had_receipt_handle(receipt_handle):
            del self._messages[index]
            self.pending_messages.discard(message)
            self.deleted_messages.update(message.all_receipt_handles)
            return
    raise sqs_models.ReceiptHandleIsInvalid()


def _query_one_partition(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's table query scans *and sorts* every item of the table (``all_items``) to find one partition,
    so paging through a job's results cost O(table) per page. A query on the table's own key (no index)
    now looks at its partition only; everything else (sorting, start key, limits, filters) is moto's."""

    @functools.wraps(original)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None or not self.range_key_attr:
            return original(self, hash_key, *args, **kwargs)
        partition = list(self.items[hash_key].values()) if hash_key in self.items else []
        # An instance attribute shadows the method for this call only; queries run under the backend's lock.
        self.all_items = lambda: partition
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    return query


# Reads whose answers are items in DynamoDB's wire JSON already (moto's dynamo_to_dict), with no dates or
# bytes for the generic serializer to convert.
_ITEM_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem"})


def _items_as_json(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto runs every answer through a generic, shape-driven serializer that walks each attribute of each
    item: about 3 s per 1,000 result items, most of the time of a results page. Item reads are JSON as
    they are."""

    @functools.wraps(original)
    def execute_result(self: Any, context: Any) -> Any:
        if isinstance(self.result, dict) and context.operation_model.name in _ITEM_READS:
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(self.result)
        return original(self, context)

    return execute_result


def apply_patches() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    sqs_models.unix_time = _fast_unix_time  # type: ignore[assignment]
    sqs_models.unix_time_millis = _fast_unix_time_millis  # type: ignore[assignment]
    sqs_models.Queue.messages = property(_VisibleMessages)  # type: ignore[assignment,method-assign]
    sqs_models.Queue.delete_message = _delete_message  # type: ignore[method-assign]
    sqs_models.Queue.attributes = property(_attributes_counted_on_demand)  # type: ignore[assignment,method-assign]
    dynamodb_models.copy = _CopyWithoutTables  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _transact_with_item_snapshots(  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items
    )
    DynamoResult.execute_result = _items_as_json(DynamoResult.execute_result)  # type: ignore[method-assign]
    Table.query = _query_one_partition(  # type: ignore[method-assign]
        Table.query
    )
    for name in _SERIALISED:
        setattr(DynamoDBBackend, name, _serialised(getattr(DynamoDBBackend, name)))


def main() -> None:
    apply_patches()
    from moto.server import main as moto_main

    moto_main()


if __name__ == "__main__":
    main()
