"""One device never fails, stalls or delays others: items DynamoDB would refuse are never sent, a transaction
refused for what it writes is split until the refused device is alone, and that device ends failed at once."""

import base64
import json
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from netremedy.dal import job_table
from netremedy.dal.clients import client
from netremedy.logic.counting import failed_result, identify_devices, record_results
from netremedy.logic.error_text import MAX_ERROR_CHARS
from netremedy.logic.worker import remediate_device
from netremedy.models.items import DeviceResultItem, JobItem
from netremedy.models.messages import DeviceMessage, QueuedDevice
from netremedy.models.settings import load_settings
from netremedy_local.aws_limits import (
    DYNAMODB_ITEM_LIMIT,
    DYNAMODB_TRANSACTION_LIMIT,
    dynamodb_item_size,
)

LATER = 4_102_444_800  # 2100-01-01


def _job(table: str, job_id: str, total: int) -> None:
    job_table.put_new_job(
        table,
        JobItem(
            job_id=job_id,
            status="pending",
            total_devices=total,
            created_at="2026-01-01T00:00:00.000Z",
            updated_at="2026-01-01T00:00:00.000Z",
            expires_at=LATER,
        ),
    )


def _success(job_id: str, device_id: str, remediation: str = "hostname new") -> DeviceResultItem:
    return DeviceResultItem(
        job_id=job_id,
        device_id=device_id,
        status="success",
        remediation=remediation,
        rollback="hostname old",
        remediation_lines=1,
        finished_at="2026-01-01T00:00:01.000Z",
        expires_at=LATER,
    )


def _stored(table: str, job_id: str) -> dict[str, DeviceResultItem]:
    return {item.device_id: item for item in job_table.query_device_results(table, job_id)}


def _counters(table: str, job_id: str) -> tuple[str, int, int]:
    job = job_table.get_job(table, job_id)
    assert job is not None
    return job.status, job.completed_devices, job.failed_devices


@dataclass
class TransactionSpy:
    """Sees every TransactWriteItems the dal sends; ``refuse`` may answer one as AWS would refuse it (the
    parsed error response: ``Error`` and, for a cancelled transaction, ``CancellationReasons``)."""

    calls: list[list[dict[str, Any]]] = field(default_factory=list)
    refuse: Callable[[list[dict[str, Any]]], dict[str, Any] | None] = lambda entries: None


class _Answer:
    status_code = 400


@pytest.fixture
def transactions(aws: dict[str, Any]) -> Iterator[TransactionSpy]:
    spy = TransactionSpy()

    def before_call(params: dict[str, Any], **_: Any) -> tuple[_Answer, dict[str, Any]] | None:
        entries = json.loads(params["body"])["TransactItems"]
        spy.calls.append(entries)
        refusal = spy.refuse(entries)
        if refusal is None:
            return None
        return _Answer(), refusal | {"ResponseMetadata": {"HTTPStatusCode": 400}}

    events = client("dynamodb").meta.events
    events.register("before-call.dynamodb.TransactWriteItems", before_call, unique_id="transaction-spy")
    yield spy
    events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="transaction-spy")


# What DynamoDB refuses in these tests: a result holding this text (its failed replacement does not).
POISON = "POISON"


def _poisoned(entry: dict[str, Any]) -> bool:
    item = entry.get("Put", {}).get("Item")
    if item is None:
        return False
    # The request body is JSON: Binary attributes (the compressed texts) arrive base64-encoded.
    wire = {
        name: {"B": base64.b64decode(value["B"])} if "B" in value else value for name, value in item.items()
    }
    result = job_table._result_from_item(wire)
    return result is not None and POISON in (result.remediation or "")


def _incompressible(characters: int) -> str:
    """Random letters and digits: zlib keeps about 6 of every 8 bits, so the item stays about as big."""
    return "".join(random.Random(characters).choices(string.ascii_letters + string.digits, k=characters))


def _refuse_poison(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """AWS's answer to a transaction that writes a poisoned result: a ValidationException for the request."""
    if any(_poisoned(entry) for entry in entries):
        return {
            "Error": {"Code": "ValidationException", "Message": "One or more parameter values were invalid"}
        }
    return None


# Sizes as DynamoDB counts them


def test_the_dal_measures_device_items_at_least_as_dynamodb_does(aws: dict[str, Any]) -> None:
    # Given results with multi-byte text and numbers of every length
    for result in (
        _success("j1", "a", "interface Gi0/1\n description 上海核心交换机" * 50),
        _success("j1", "b").model_copy(update={"remediation_lines": 1_234_567_890, "expires_at": 10}),
        failed_result(load_settings(), "j1", "c", "é" * 3000),
    ):
        wire = job_table._device_item(result)
        # Then the dal's measure is DynamoDB's for text and never below it for numbers (at most a few bytes
        # above: one per digit where DynamoDB counts one per two)
        assert dynamodb_item_size(wire) <= job_table.device_item_size(result) <= dynamodb_item_size(wire) + 20
    assert job_table.MAX_ITEM_BYTES == DYNAMODB_ITEM_LIMIT


# Items over 400 KB are never sent


def test_a_result_over_the_item_limit_is_recorded_failed_and_the_others_are_recorded(
    aws: dict[str, Any], transactions: TransactionSpy
) -> None:
    # Given a job of three devices and another job of one; one result holds 600 KB of text inline that does
    # not compress under 400 KB
    _job(aws["table"], "j1", 3)
    _job(aws["table"], "j2", 1)
    huge = _success("j1", "big", _incompressible(600_000))
    batch = [_success("j1", "a"), huge, _success("j1", "c"), _success("j2", "z")]
    # When the batch is counted
    count = record_results(load_settings(), batch, {"j1", "j2"})
    # Then no transaction ever held an item over 400 KB
    assert all(
        dynamodb_item_size(entry["Put"]["Item"]) <= DYNAMODB_ITEM_LIMIT
        for call in transactions.calls
        for entry in call
        if "Put" in entry
    )
    # And the ordinary devices of both jobs are recorded, the big one failed with a short reason
    stored = _stored(aws["table"], "j1")
    assert {device: item.status for device, item in stored.items()} == {
        "a": "success",
        "big": "failed",
        "c": "success",
    }
    error = stored["big"].error or ""
    assert error.startswith("the result could not be stored (an item of ") and "409,600" in error
    assert error.endswith("submit this device again") and len(error) < 200
    assert _stored(aws["table"], "j2")["z"].status == "success"
    # And the counters say so: j1 completed with one failure, j2 completed
    assert _counters(aws["table"], "j1") == ("completed", 2, 1)
    assert _counters(aws["table"], "j2") == ("completed", 1, 0)
    assert (count.recorded, count.failed, count.unstorable) == (4, 1, 1)
    assert sorted(count.jobs_completed) == ["j1", "j2"]


# A transaction refused for what it writes is split


def test_a_validation_exception_is_isolated_to_its_device_by_bisection(
    aws: dict[str, Any], transactions: TransactionSpy
) -> None:
    # Given 40 devices of two jobs, and DynamoDB refusing any transaction that writes d17's result
    _job(aws["table"], "j1", 20)
    _job(aws["table"], "j2", 20)
    batch = [_success("j1" if index < 20 else "j2", f"d{index:02d}") for index in range(40)]
    batch[17] = _success("j1", "d17", POISON)
    transactions.refuse = _refuse_poison
    # When the batch is counted
    count = record_results(load_settings(), batch, {"j1", "j2"})
    # Then every other device is recorded as it was computed, and d17 as failed with a short reason
    stored = _stored(aws["table"], "j1") | _stored(aws["table"], "j2")
    assert len(stored) == 40
    assert [device for device, item in stored.items() if item.status == "failed"] == ["d17"]
    assert stored["d17"].error == (
        "the result could not be stored (ValidationException); submit this device again"
    )
    assert _counters(aws["table"], "j1") == ("completed", 19, 1)
    assert _counters(aws["table"], "j2") == ("completed", 20, 0)
    assert (count.recorded, count.unstorable) == (40, 1)
    # And it took a bisection, not retries: about two transactions per halving, plus the failed result's
    assert len(transactions.calls) <= 2 * 6 + 2


def test_a_redelivered_refused_device_is_a_duplicate_of_its_failed_result(
    aws: dict[str, Any], transactions: TransactionSpy
) -> None:
    # Given a device whose result DynamoDB refused, recorded as failed
    _job(aws["table"], "j1", 2)
    transactions.refuse = _refuse_poison
    record_results(load_settings(), [_success("j1", "bad", POISON)], {"j1"})
    # When the same batch comes again, with the other device
    count = record_results(load_settings(), [_success("j1", "bad", POISON), _success("j1", "ok")], {"j1"})
    # Then the failed result stands and counts once
    assert (count.recorded, count.duplicates) == (1, 1)
    assert _counters(aws["table"], "j1") == ("completed", 1, 1)


def test_a_cancellation_reason_validation_error_fails_only_that_device(
    aws: dict[str, Any], transactions: TransactionSpy
) -> None:
    # Given DynamoDB cancelling a transaction because of its entry for b's result (ValidationError)
    _job(aws["table"], "j1", 3)

    def refuse(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
        if not any(_poisoned(entry) for entry in entries):
            return None
        reasons = [{"Code": "ValidationError" if _poisoned(entry) else "None"} for entry in entries]
        return {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": reasons,
        }

    transactions.refuse = refuse
    # When a batch with it is counted
    record_results(
        load_settings(), [_success("j1", "a"), _success("j1", "b", POISON), _success("j1", "c")], {"j1"}
    )
    # Then a and c are recorded, b failed naming the reason, in three transactions (no bisection needed)
    stored = _stored(aws["table"], "j1")
    assert {device: item.status for device, item in stored.items()} == {
        "a": "success",
        "b": "failed",
        "c": "success",
    }
    assert "(ValidationError)" in (stored["b"].error or "")
    assert len(transactions.calls) == 3


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "AccessDeniedException"]
)
def test_throttling_and_errors_of_the_call_raise_and_fail_nobody(
    aws: dict[str, Any], transactions: TransactionSpy, code: str
) -> None:
    # Given DynamoDB answering every transaction with an error that is not about what it writes
    _job(aws["table"], "j1", 2)
    transactions.refuse = lambda entries: {"Error": {"Code": code, "Message": "not now"}}
    # When a batch is counted, the error reaches the caller (SQS delivers the batch again) ...
    with pytest.raises(ClientError) as raised:
        record_results(load_settings(), [_success("j1", "a"), _success("j1", "b")], {"j1"})
    assert raised.value.response["Error"]["Code"] == code
    # ... and nothing was recorded as failed, at the first try
    assert len(transactions.calls) == 1
    transactions.refuse = lambda entries: None
    assert _stored(aws["table"], "j1") == {}


# Transactions within DynamoDB's limits


def test_big_inline_results_are_committed_in_transactions_under_4_mb_and_100_entries(
    aws: dict[str, Any], transactions: TransactionSpy
) -> None:
    # Given 60 results of 95 KB each (under the 100 KB inline limit; 5.7 MB together) of one job, and 150
    # small results of 75 jobs
    _job(aws["table"], "big", 60)
    batch = [_success("big", f"b{index:02d}", _incompressible(95_000)) for index in range(60)]
    for index in range(75):
        _job(aws["table"], f"small{index}", 2)
        batch += [_success(f"small{index}", "a"), _success(f"small{index}", "b")]
    # When they are counted together
    count = record_results(load_settings(), batch, {"big"} | {f"small{index}" for index in range(75)})
    # Then every transaction was within DynamoDB's limits, and everything was recorded
    for call in transactions.calls:
        assert len(call) <= 100
        size = sum(dynamodb_item_size(entry["Put"]["Item"]) for entry in call if "Put" in entry)
        assert size <= DYNAMODB_TRANSACTION_LIMIT
    assert count.recorded == 210 and count.unstorable == 0
    assert _counters(aws["table"], "big") == ("completed", 60, 0)


# Error texts are bounded where failed results are built


def test_failed_results_bound_their_error(aws: dict[str, Any]) -> None:
    error = failed_result(load_settings(), "j1", "a", "x" * 450_000).error or ""
    assert len(error) == MAX_ERROR_CHARS and "shortened from 450000 characters" in error


# The worker keeps its items small


def _message(job_id: str, device: QueuedDevice) -> DeviceMessage:
    return DeviceMessage(job_id=job_id, devices=[device])


def test_the_worker_claim_checks_outputs_whose_item_would_exceed_400_kb(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an inline limit raised past what an item holds, and a device whose remediation is about 700 KB of
    # text that does not compress under 400 KB
    monkeypatch.setenv("RESULT_INLINE_LIMIT_BYTES", "2000000")
    load_settings.cache_clear()
    descriptions = _incompressible(3_000 * 200)
    intended = "\n".join(
        f"interface Loopback{index}\n description {descriptions[index * 200 : (index + 1) * 200]}"
        for index in range(3_000)
    )
    device = QueuedDevice.model_validate(
        {
            "device_id": "r1",
            "payload": {
                "platform": "cisco_ios",
                "running_config": "hostname r1",
                "intended_config": intended,
            },
        }
    )
    # When the worker computes it
    result = remediate_device(load_settings(), _message("j1", device), device)
    # Then the outputs went to S3 and the item keeps the key only
    assert result.status == "success" and result.remediation is None and result.output_key is not None
    assert job_table.device_item_size(result) < 1_000
    stored = json.loads(
        boto3.client("s3").get_object(Bucket=aws["bucket"], Key=result.output_key)["Body"].read()
    )
    assert len(stored["remediation"]) > DYNAMODB_ITEM_LIMIT and "rollback" in stored


def test_a_message_nested_too_deeply_to_parse_names_no_device() -> None:
    assert identify_devices("[" * 100_000 + "]" * 100_000) is None
    assert identify_devices('{"job_id": "j", "devices": ' + "[" * 5000 + "]" * 5000 + "}") is None
