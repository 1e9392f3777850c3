"""moto's HTTP server with fixes for the two services this one leans on hardest.

SQS: every send and receive checks each message in the queue for visibility, and each check built two
datetimes to read the clock; reading ``time.time()`` instead keeps deep queues usable (same values).

DynamoDB transactions: moto backs up every table a transaction touches with a deep copy of the *whole table* (so each transaction
costs time in proportion to everything stored), and restores that copy on failure, which can throw away
writes that other requests made meanwhile; it also takes no lock, so a concurrent write can break the copy
("dictionary changed size during iteration"). Here a transaction snapshots only the items it targets, and
one lock keeps DynamoDB operations from interleaving, which is the isolation DynamoDB itself gives.
Run as ``python -m netremedy_local.emulator_server [moto.server arguments]``.
"""

import copy
import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.sqs import models as sqs_models

_LOCK = threading.RLock()
_SERIALISED = ("put_item", "update_item", "delete_item", "get_item", "query", "scan", "transact_write_items",
               "transact_get_items", "batch_get_item")


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
                snapshots.append((*target, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
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



def apply_patches() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    sqs_models.unix_time = _fast_unix_time  # type: ignore[assignment]
    sqs_models.unix_time_millis = _fast_unix_time_millis  # type: ignore[assignment]
    dynamodb_models.copy = _CopyWithoutTables  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _transact_with_item_snapshots(  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items
    )
    for name in _SERIALISED:
        setattr(DynamoDBBackend, name, _serialised(getattr(DynamoDBBackend, name)))


def main() -> None:
    apply_patches()
    from moto.server import main as moto_main

    moto_main()


if __name__ == "__main__":
    main()
