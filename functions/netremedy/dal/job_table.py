"""DynamoDB: the job table (one partition per job: the job row plus one row per finished device)."""

import json
import random
import time
import zlib
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from netremedy.dal.clients import client
from netremedy.models.devices import OUTPUT_NAMES
from netremedy.models.items import (
    DEVICE_SORT_PREFIX,
    JOB_SORT_KEY,
    JOBS_BY_OWNER_INDEX,
    OPEN_JOBS_INDEX,
    OPEN_SHARD,
    PLATFORM_COUNTER_PREFIX,
    DeviceResultItem,
    JobItem,
    device_sort_key,
    job_counter_increments,
    job_partition_key,
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
# Transactions on one hot job row conflict with each other; back off and try again this many times before
# letting the batch fail (SQS then redelivers it, and the conditional writes keep the counting exact).
_MAX_COMMIT_ATTEMPTS = 10
# DynamoDB refuses an item over 400 KB (exactly 409,600 bytes is accepted), in a transaction as anywhere, and a
# transaction of more than 100 entries or 4 MB.
MAX_ITEM_BYTES = 400 * 1024
MAX_TRANSACTION_ENTRIES = 100
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
# What a job's counter update adds to a transaction's size (its key and values are about 200 bytes, and each
# platform's counters about 150 more: a few KB for a job of every platform).
_JOB_UPDATE_BYTES = 4096
# Errors about the call rather than what it writes (throttling, capacity, credentials, permissions, the table,
# AWS's side): no device is to blame, so they raise and the batch is delivered again.
_CALL_ERRORS = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "TransactionInProgressException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "MissingAuthenticationTokenException",
        "IncompleteSignature",
        "ResourceNotFoundException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def _value_size(value: Mapping[str, Any]) -> int:
    """An attribute value's size as DynamoDB counts it; a number counts as many bytes as its digits plus one,
    never less than DynamoDB's one byte per two significant digits plus one."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return len(inner) + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: element}) for element in inner)
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in inner)
    return 3 + sum(1 + len(name.encode("utf-8")) + _value_size(element) for name, element in inner.items())


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """An item's size against DynamoDB's 400 KB: each attribute's name and value, in bytes."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _expired(values: Mapping[str, Any]) -> bool:
    """DynamoDB's TTL deletes an item some time (up to days) after its ``expires_at``, and reads return it until
    then: a row past its expiry is treated as gone. (S3's lifecycle may have removed its objects already.)"""
    expires_at = values.get("expires_at")
    return expires_at is not None and int(expires_at) < time.time()


def _job_key(job_id: str) -> dict[str, Any]:
    return {"pk": {"S": job_partition_key(job_id)}, "sk": {"S": JOB_SORT_KEY}}


class JobExistsError(Exception):
    pass


def put_new_job(table: str, job: JobItem) -> None:
    # Platform counters are attributes of their own, created by the first result that adds to them.
    values = job.model_dump(exclude={"platform_counts"})
    item = _to_item({"pk": job_partition_key(job.job_id), "sk": JOB_SORT_KEY, **values})
    try:
        client("dynamodb").put_item(
            TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise JobExistsError(job.job_id) from exc
        raise


def get_job(table: str, job_id: str) -> JobItem | None:
    """The job row; None when there is none or it is past its expiry."""
    response = client("dynamodb").get_item(TableName=table, Key=_job_key(job_id), ConsistentRead=True)
    if "Item" not in response:
        return None
    values = _from_item(response["Item"])
    if _expired(values):
        return None
    fields: dict[str, Any] = {"platform_counts": defaultdict(dict)}
    for key, value in values.items():
        if key.startswith(PLATFORM_COUNTER_PREFIX):
            platform, _, counter = key.removeprefix(PLATFORM_COUNTER_PREFIX).rpartition("#")
            fields["platform_counts"][platform][counter] = int(value)
        elif key not in ("pk", "sk"):
            fields[key] = value
    return JobItem.model_validate(fields)


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


@dataclass(frozen=True)
class UnstorableResult:
    """A device result DynamoDB will not store; ``cause`` is its error code or why the result was not sent."""

    result: DeviceResultItem
    cause: str


@dataclass
class CommitOutcome:
    recorded: list[DeviceResultItem] = field(default_factory=list)
    duplicates: list[DeviceResultItem] = field(default_factory=list)
    job_closed: list[DeviceResultItem] = field(default_factory=list)
    # Nothing of these was written: the caller records each device otherwise (logic.counting: as failed).
    unstorable: list[UnstorableResult] = field(default_factory=list)


class _WriteRefusedError(Exception):
    """DynamoDB refused a transaction for what it writes (not a condition, not throttling)."""

    def __init__(self, code: str, pending: list[DeviceResultItem]) -> None:
        super().__init__(code)
        self.code = code
        self.pending = pending


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
        # The counters move in the transaction that puts the devices, which a duplicate's put condition
        # cancels: each device adds to them exactly once. ADD creates a missing attribute (an old row's, a
        # platform's first), so the row needs no map set up beforehand.
        increments = list(job_counter_increments(job_results).items())
        adds = ", ".join(f"#c{index} :c{index}" for index in range(len(increments)))
        entries.append(
            {
                "Update": {
                    "TableName": "",
                    "Key": _job_key(job_id),
                    "UpdateExpression": f"ADD {adds} SET #status = :status, updated_at = :now",
                    "ConditionExpression": f"#status IN ({', '.join(sources)})",
                    "ExpressionAttributeNames": {"#status": "status"}
                    | {f"#c{index}": name for index, (name, _) in enumerate(increments)},
                    "ExpressionAttributeValues": {
                        **{f":c{index}": {"N": str(count)} for index, (_, count) in enumerate(increments)},
                        ":now": {"S": now},
                        ":status": {"S": status},
                        **sources,
                    },
                }
            }
        )
        owners.append((job_id, None))
        for result in job_results:
            entries.append(
                {
                    "Put": {
                        "TableName": "",
                        "Item": _device_item(result),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
            owners.append((job_id, result.device_id))
    return entries, owners


# A device row keeps its text outputs in one Binary attribute, a zlib-compressed JSON object (output name ->
# text): configuration text shrinks about 6 to 1, and DynamoDB bills a write per KB (two in a transaction)
# and a read per 4 KB. Level 6, zlib's default, measured on the corpus's medium pairs: 6,006 bytes of text to
# 936 in 0.13 CPU-ms (level 1: 1,119 in 0.05 ms; level 9: 921 in 0.20 ms), against ~25 ms of hier_config.
_OUTPUTS_ATTRIBUTE = "outputs"
_COMPRESSION_LEVEL = 6


def _device_item(result: DeviceResultItem) -> dict[str, Any]:
    keys = {"pk": job_partition_key(result.job_id), "sk": device_sort_key(result.device_id)}
    values: dict[str, Any] = keys | result.model_dump(exclude=set[str](OUTPUT_NAMES))
    texts = {name: text for name in OUTPUT_NAMES if (text := getattr(result, name)) is not None}
    if texts:
        packed = json.dumps(texts, separators=(",", ":")).encode("ascii")
        values[_OUTPUTS_ATTRIBUTE] = zlib.compress(packed, _COMPRESSION_LEVEL)
    return _to_item(values)


def device_item_size(result: DeviceResultItem) -> int:
    """The size of the item that records ``result`` (its texts compressed), as DynamoDB counts it against
    ``MAX_ITEM_BYTES``."""
    return item_size(_device_item(result))


def _transactions(sized: list[tuple[DeviceResultItem, int]]) -> Iterator[list[DeviceResultItem]]:
    """The results in groups that each make a transaction DynamoDB accepts: at most 100 entries (a put per
    device, an update per job) and 4 MB."""
    chunk: list[DeviceResultItem] = []
    jobs: set[str] = set()
    size = 0
    for result, result_size in sized:
        added = result_size + (0 if result.job_id in jobs else _JOB_UPDATE_BYTES)
        entries = len(chunk) + 1 + len(jobs | {result.job_id})
        if chunk and (entries > MAX_TRANSACTION_ENTRIES or size + added > MAX_TRANSACTION_BYTES):
            yield chunk
            chunk, jobs, size = [], set(), 0
            added = result_size + _JOB_UPDATE_BYTES
        chunk.append(result)
        jobs.add(result.job_id)
        size += added
    if chunk:
        yield chunk


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
    records nothing more. The results are committed in as many transactions as DynamoDB's limits need.

    One device's result never keeps the others out: a result over the item limit is not sent, and a
    transaction refused for what it writes (a ValidationException, say) is split in halves until the refused
    device is alone. Those end in ``unstorable``; throttling and errors of the call itself raise.
    """
    outcome = CommitOutcome()
    sized: list[tuple[DeviceResultItem, int]] = []
    for result in results:
        size = device_item_size(result)
        if size > MAX_ITEM_BYTES:
            cause = f"an item of {size:,} bytes; DynamoDB holds {MAX_ITEM_BYTES:,}"
            outcome.unstorable.append(UnstorableResult(result, cause))
        else:
            sized.append((result, size))
    for chunk in _transactions(sized):
        _commit_isolating(table, chunk, now, status, from_states, outcome)
    return outcome


def _commit_isolating(
    table: str,
    results: list[DeviceResultItem],
    now: str,
    status: str,
    from_states: Collection[str],
    outcome: CommitOutcome,
) -> None:
    try:
        _commit(table, results, now, status, from_states, outcome)
    except _WriteRefusedError as refused:
        if len(refused.pending) == 1:
            outcome.unstorable.append(UnstorableResult(refused.pending[0], refused.code))
            return
        middle = len(refused.pending) // 2
        for half in (refused.pending[:middle], refused.pending[middle:]):
            _commit_isolating(table, half, now, status, from_states, outcome)


def _commit(
    table: str,
    results: list[DeviceResultItem],
    now: str,
    status: str,
    from_states: Collection[str],
    outcome: CommitOutcome,
) -> None:
    """One transaction of ``results``, again without the entries DynamoDB refused, until it commits."""
    pending = {(result.job_id, result.device_id): result for result in results}
    attempt = 0
    while pending:
        entries, owners = _transaction(list(pending.values()), now, status, from_states)
        for entry in entries:
            next(iter(entry.values()))["TableName"] = table
        try:
            client("dynamodb").transact_write_items(TransactItems=entries)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code != "TransactionCanceledException":
                status_code = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400
                if code in _CALL_ERRORS or status_code >= 500:
                    raise
                raise _WriteRefusedError(code, list(pending.values())) from exc
            reasons = exc.response.get("CancellationReasons") or []
            if not _drop_refused(reasons, owners, pending, outcome):
                attempt += 1
                if attempt >= _MAX_COMMIT_ATTEMPTS:
                    raise
                time.sleep(min(2.0, 0.02 * 2**attempt) * random.random())
            continue
        outcome.recorded.extend(pending.values())
        break


def _drop_refused(
    reasons: list[dict[str, Any]],
    owners: list[_Owner],
    pending: dict[tuple[str, str], DeviceResultItem],
    outcome: CommitOutcome,
) -> bool:
    """Remove the entries whose condition failed, and the devices whose write was invalid; False when nothing
    was removed (a conflict or throttling: retry)."""
    refused = [
        owner
        for reason, owner in zip(reasons, owners, strict=False)
        if reason.get("Code") == "ConditionalCheckFailed"
    ]
    invalid = [
        (job_id, device_id)
        for reason, (job_id, device_id) in zip(reasons, owners, strict=False)
        if reason.get("Code") == "ValidationError" and device_id is not None
    ]
    for key in invalid:
        if key in pending:
            outcome.unstorable.append(UnstorableResult(pending.pop(key), "ValidationError"))
    # Devices first: DynamoDB reports every failed condition of the transaction, so a device recorded before
    # is a duplicate even when its job has ended too; the rest of an ended job's devices are refused by it.
    for job_id, device_id in refused:
        if device_id is not None and (job_id, device_id) in pending:
            outcome.duplicates.append(pending.pop((job_id, device_id)))
    for job_id, device_id in refused:
        if device_id is None:
            for key in [key for key in pending if key[0] == job_id]:
                outcome.job_closed.append(pending.pop(key))
    return bool(refused or invalid)


def _result_from_item(item: dict[str, Any]) -> DeviceResultItem | None:
    """The device result of a row; None for a row past its expiry."""
    values = _from_item(item)
    if _expired(values):
        return None
    # Rows written before the texts were compressed hold them as plain string attributes: read as they are.
    if (packed := values.pop(_OUTPUTS_ATTRIBUTE, None)) is not None:
        values |= json.loads(zlib.decompress(packed.value))
    return DeviceResultItem.model_validate(
        {key: value for key, value in values.items() if key not in ("pk", "sk")}
    )


def query_device_results(
    table: str, job_id: str, *, after: str | None = None, page_size: int | None = None
) -> Iterator[DeviceResultItem]:
    """The job's recorded device results ordered by device_id, from just after ``after`` if given; rows past
    their expiry are left out.

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
            if (result := _result_from_item(item)) is not None:
                yield result


def get_device_result(table: str, job_id: str, device_id: str) -> DeviceResultItem | None:
    response = client("dynamodb").get_item(
        TableName=table,
        Key={"pk": {"S": job_partition_key(job_id)}, "sk": {"S": device_sort_key(device_id)}},
        ConsistentRead=True,
    )
    return _result_from_item(response["Item"]) if "Item" in response else None


def _drop_key(source: str, upload: str) -> dict[str, Any]:
    return {"pk": {"S": f"DROP#{source}"}, "sk": {"S": f"UPLOAD#{upload}"}}


def claim_drop(table: str, source: str, upload: str, job_id: str, expires_at: int) -> tuple[str, bool]:
    """Record that this upload of ``source`` (``upload`` names its S3 event) starts ``job_id``; for an upload
    seen before, its job id.

    The second value is True only for the first claim, so the same event delivered twice starts one job. A
    claim past its expiry counts as none. A new claim is at stage ``claimed`` (see ``advance_drop``).
    """
    key = _drop_key(source, upload)
    try:
        client("dynamodb").put_item(
            TableName=table,
            Item={
                **key,
                "job_id": {"S": job_id},
                "stage": {"S": "claimed"},
                "expires_at": {"N": str(expires_at)},
            },
            ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
            ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        existing = client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
        return existing["job_id"]["S"], False
    return job_id, True


def drop_stage(table: str, source: str, upload: str) -> str | None:
    """How far the start of a claimed upload got (the last ``advance_drop``); None without a claim."""
    item = client("dynamodb").get_item(TableName=table, Key=_drop_key(source, upload), ConsistentRead=True)
    stage = item.get("Item", {}).get("stage")
    return str(stage["S"]) if stage else None


def advance_drop(table: str, source: str, upload: str, stage: str) -> None:
    client("dynamodb").update_item(
        TableName=table,
        Key=_drop_key(source, upload),
        UpdateExpression="SET stage = :stage",
        ExpressionAttributeValues={":stage": {"S": stage}},
    )


def hold_latest_drop(table: str, source: str, series: str, order: str, expires_at: int) -> bool:
    """Record ``order`` as the newest upload of ``source`` seen in ``series``, unless a newer one is recorded
    already; False then. Equal orders pass, so the same upload may ask again.

    Orders compare as strings (the caller makes them comparable), and only within one series.
    """
    try:
        client("dynamodb").update_item(
            TableName=table,
            Key={"pk": {"S": f"DROP#{source}"}, "sk": {"S": f"LATEST#{series}"}},
            UpdateExpression="SET upload_order = :order, expires_at = :expires",
            ConditionExpression=(
                "attribute_not_exists(upload_order) OR upload_order <= :order OR expires_at < :now"
            ),
            ExpressionAttributeValues={
                ":order": {"S": order},
                ":expires": {"N": str(expires_at)},
                ":now": {"N": str(int(time.time()))},
            },
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True


# What the JobsByOwner index projects besides the keys (template.yaml says the same): a listing's fields and
# what effective_status reads, so that listing reads the index alone.
JOB_LISTING_ATTRIBUTES = (
    "job_id",
    "status",
    "total_devices",
    "completed_devices",
    "failed_devices",
    "updated_at",
    "source",
    "expires_at",
)


def query_jobs_by_owner(
    table: str, owner: str, *, before: tuple[str, str] | None = None, page_size: int
) -> Iterator[JobItem]:
    """``owner``'s jobs newest first (JobsByOwner), from just after ``before`` (created_at, job_id) if given;
    rows past their expiry are left out. Each job holds JOB_LISTING_ATTRIBUTES, the rest at their defaults.

    ``page_size`` bounds each DynamoDB read, so that a caller that stops early has not read far ahead.
    """
    request: dict[str, Any] = {
        "TableName": table,
        "IndexName": JOBS_BY_OWNER_INDEX,
        "KeyConditionExpression": "#owner = :owner",
        "ExpressionAttributeNames": {"#owner": "owner"},
        "ExpressionAttributeValues": {":owner": {"S": owner}},
        "ScanIndexForward": False,
        "PaginationConfig": {"PageSize": page_size},
    }
    if before is not None:
        created_at, job_id = before
        request["ExclusiveStartKey"] = {
            "owner": {"S": owner},
            "created_at": {"S": created_at},
            **_job_key(job_id),
        }
    for page in client("dynamodb").get_paginator("query").paginate(**request):
        for item in page["Items"]:
            if item["sk"]["S"] != JOB_SORT_KEY:  # an upload's row, which has an owner and created_at too
                continue
            values = _from_item(item)
            if not _expired(values):
                yield JobItem.model_validate({key: values[key] for key in values if key not in ("pk", "sk")})
