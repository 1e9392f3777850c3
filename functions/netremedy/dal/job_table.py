"""DynamoDB: the job table (one partition per job: the job row plus one row per finished device)."""

import random
import time
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from netremedy.dal.clients import client
from netremedy.models.items import (
    DEVICE_SORT_PREFIX,
    JOB_SORT_KEY,
    OPEN_JOBS_INDEX,
    OPEN_SHARD,
    DeviceResultItem,
    JobItem,
    device_sort_key,
    job_partition_key,
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
# Transactions on one hot job row conflict with each other; back off and try again this many times before
# letting the batch fail (SQS then redelivers it, and the conditional writes keep the counting exact).
_MAX_COMMIT_ATTEMPTS = 10


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def _job_key(job_id: str) -> dict[str, Any]:
    return {"pk": {"S": job_partition_key(job_id)}, "sk": {"S": JOB_SORT_KEY}}


class JobExistsError(Exception):
    pass


def put_new_job(table: str, job: JobItem) -> None:
    item = _to_item({"pk": job_partition_key(job.job_id), "sk": JOB_SORT_KEY, **job.model_dump()})
    try:
        client("dynamodb").put_item(
            TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise JobExistsError(job.job_id) from exc
        raise


def get_job(table: str, job_id: str) -> JobItem | None:
    response = client("dynamodb").get_item(TableName=table, Key=_job_key(job_id), ConsistentRead=True)
    if "Item" not in response:
        return None
    values = _from_item(response["Item"])
    return JobItem.model_validate({key: values[key] for key in values if key not in ("pk", "sk")})


def _state_values(prefix: str, states: Collection[str]) -> dict[str, dict[str, str]]:
    return {f":{prefix}{index}": {"S": state} for index, state in enumerate(states)}


def close_job(
    table: str,
    job_id: str,
    status: str,
    now: str,
    *,
    from_states: Collection[str],
    counters: tuple[int, int] | None = None,
    error: str | None = None,
) -> bool:
    """Move the job to the final ``status`` if it is in one of ``from_states`` (and, with ``counters``, still has
    exactly those completed and failed devices), leaving the OpenJobs index; True only for the call that did.

    The caller (logic.lifecycle) gives the states: this module knows conditions, not the life cycle.
    """
    sources = _state_values("from", from_states)
    condition = f"#status IN ({', '.join(sources)})"
    values = {":status": {"S": status}, ":now": {"S": now}, **sources}
    update = "SET #status = :status, updated_at = :now"
    names = {"#status": "status"}
    if counters is not None:
        condition += " AND completed_devices = :completed AND failed_devices = :failed"
        values |= {":completed": {"N": str(counters[0])}, ":failed": {"N": str(counters[1])}}
    if error is not None:
        update += ", #error = :error"
        names["#error"] = "error"
        values[":error"] = {"S": error}
    try:
        client("dynamodb").update_item(
            TableName=table,
            Key=_job_key(job_id),
            UpdateExpression=f"{update} REMOVE open_shard",
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def overdue_job_ids(table: str, now: str) -> Iterator[str]:
    """Ids of open jobs whose deadline has passed, oldest deadline first (sparse index: open jobs only)."""
    paginator = client("dynamodb").get_paginator("query")
    pages = paginator.paginate(
        TableName=table,
        IndexName=OPEN_JOBS_INDEX,
        KeyConditionExpression="open_shard = :open AND deadline_at < :now",
        ExpressionAttributeValues={":open": {"S": OPEN_SHARD}, ":now": {"S": now}},
    )
    for page in pages:
        for item in page["Items"]:
            yield item["pk"]["S"].removeprefix("JOB#")


@dataclass
class CommitOutcome:
    recorded: list[DeviceResultItem] = field(default_factory=list)
    duplicates: list[DeviceResultItem] = field(default_factory=list)
    job_closed: list[DeviceResultItem] = field(default_factory=list)


# Which row a transaction entry writes: (job_id, device_id), device_id None for the job row.
_Owner = tuple[str, str | None]


def _transaction(
    results: list[DeviceResultItem], now: str, status: str, from_states: Collection[str]
) -> tuple[list[dict[str, Any]], list[_Owner]]:
    """One counter update per job plus a put per device (only if new), and the owner of each entry."""
    sources = _state_values("from", from_states)
    by_job: dict[str, list[DeviceResultItem]] = defaultdict(list)
    for result in results:
        by_job[result.job_id].append(result)
    entries: list[dict[str, Any]] = []
    owners: list[_Owner] = []
    for job_id, job_results in by_job.items():
        succeeded = sum(1 for result in job_results if result.status == "success")
        entries.append(
            {
                "Update": {
                    "TableName": "",
                    "Key": _job_key(job_id),
                    "UpdateExpression": "ADD completed_devices :ok, failed_devices :bad "
                    "SET #status = :status, updated_at = :now",
                    "ConditionExpression": f"#status IN ({', '.join(sources)})",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":ok": {"N": str(succeeded)},
                        ":bad": {"N": str(len(job_results) - succeeded)},
                        ":now": {"S": now},
                        ":status": {"S": status},
                        **sources,
                    },
                }
            }
        )
        owners.append((job_id, None))
        for result in job_results:
            item = {"pk": job_partition_key(job_id), "sk": device_sort_key(result.device_id)}
            item.update(result.model_dump())
            entries.append(
                {
                    "Put": {
                        "TableName": "",
                        "Item": _to_item(item),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
            owners.append((job_id, result.device_id))
    return entries, owners


def commit_device_results(
    table: str,
    results: list[DeviceResultItem],
    now: str,
    *,
    status: str,
    from_states: Collection[str],
) -> CommitOutcome:
    """Record each device result and bump its job's counters in one transaction, exactly once per device; the
    job's status becomes ``status``, which its current status must be one of ``from_states`` to allow.

    A device already recorded (a redelivered message) fails its put condition: it is dropped and the rest is
    committed again, so a second delivery changes nothing. A job in none of ``from_states`` (it has ended)
    records nothing more.
    """
    outcome = CommitOutcome()
    pending = {(result.job_id, result.device_id): result for result in results}
    attempt = 0
    while pending:
        entries, owners = _transaction(list(pending.values()), now, status, from_states)
        for entry in entries:
            next(iter(entry.values()))["TableName"] = table
        try:
            client("dynamodb").transact_write_items(TransactItems=entries)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            if not _drop_refused(reasons, owners, pending, outcome):
                attempt += 1
                if attempt >= _MAX_COMMIT_ATTEMPTS:
                    raise
                time.sleep(min(2.0, 0.02 * 2**attempt) * random.random())
            continue
        outcome.recorded.extend(pending.values())
        break
    return outcome


def _drop_refused(
    reasons: list[dict[str, Any]],
    owners: list[_Owner],
    pending: dict[tuple[str, str], DeviceResultItem],
    outcome: CommitOutcome,
) -> bool:
    """Remove the entries whose condition failed; False when nothing was refused (a conflict: retry)."""
    refused = [
        owner
        for reason, owner in zip(reasons, owners, strict=False)
        if reason.get("Code") == "ConditionalCheckFailed"
    ]
    # Devices first: DynamoDB reports every failed condition of the transaction, so a device recorded before
    # is a duplicate even when its job has ended too; the rest of an ended job's devices are refused by it.
    for job_id, device_id in refused:
        if device_id is not None and (job_id, device_id) in pending:
            outcome.duplicates.append(pending.pop((job_id, device_id)))
    for job_id, device_id in refused:
        if device_id is None:
            for key in [key for key in pending if key[0] == job_id]:
                outcome.job_closed.append(pending.pop(key))
    return bool(refused)


def _result_from_item(item: dict[str, Any]) -> DeviceResultItem:
    values = _from_item(item)
    return DeviceResultItem.model_validate(
        {key: value for key, value in values.items() if key not in ("pk", "sk")}
    )


def query_device_results(
    table: str, job_id: str, *, after: str | None = None, page_size: int | None = None
) -> Iterator[DeviceResultItem]:
    """The job's recorded device results ordered by device_id, from just after ``after`` if given.

    ``page_size`` bounds each DynamoDB read, so that a caller that stops early has not read far ahead.
    """
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {
            ":pk": {"S": job_partition_key(job_id)},
            ":prefix": {"S": DEVICE_SORT_PREFIX},
        },
    }
    if after is not None:
        request["ExclusiveStartKey"] = {
            "pk": {"S": job_partition_key(job_id)},
            "sk": {"S": device_sort_key(after)},
        }
    if page_size is not None:
        request["PaginationConfig"] = {"PageSize": page_size}
    for page in client("dynamodb").get_paginator("query").paginate(**request):
        for item in page["Items"]:
            yield _result_from_item(item)


def get_device_result(table: str, job_id: str, device_id: str) -> DeviceResultItem | None:
    response = client("dynamodb").get_item(
        TableName=table,
        Key={"pk": {"S": job_partition_key(job_id)}, "sk": {"S": device_sort_key(device_id)}},
        ConsistentRead=True,
    )
    return _result_from_item(response["Item"]) if "Item" in response else None


def claim_drop(table: str, source: str, etag: str, job_id: str, expires_at: int) -> tuple[str, bool]:
    """Record that this upload (key and ETag) starts ``job_id``; for an upload seen before, its job id.

    The second value is True only for the first claim, so the same drop uploaded twice starts one job.
    """
    key = {"pk": {"S": f"DROP#{source}"}, "sk": {"S": f"ETAG#{etag}"}}
    try:
        client("dynamodb").put_item(
            TableName=table,
            Item={**key, "job_id": {"S": job_id}, "expires_at": {"N": str(expires_at)}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        existing = client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
        return existing["job_id"]["S"], False
    return job_id, True
