"""Device result texts are stored compressed in one Binary attribute: every reader gets the same texts back,
rows written before (plain string attributes) still read, the 400 KB guard and the inline-or-S3 choice
follow the stored size, and the bench meter bills the smaller items."""

import importlib.util
import random
import string
from types import ModuleType
from typing import Any

import boto3
import pytest

from netremedy.dal import job_table
from netremedy.logic.remediation import compute_remediation
from netremedy.logic.worker import remediate_device
from netremedy.models.items import DeviceResultItem, JobItem, device_sort_key, job_partition_key
from netremedy.models.messages import DeviceMessage, QueuedDevice
from netremedy.models.settings import load_settings
from netremedy_local.aws_limits import DYNAMODB_ITEM_LIMIT, dynamodb_item_size
from tests.conftest import PROJECT_ROOT, corpus_pairs, require_corpus

LATER = 4_102_444_800  # 2100-01-01
TEXT_ATTRIBUTES = ("remediation", "rollback", "diff", "future")


def _result(device_id: str, **texts: str | None) -> DeviceResultItem:
    return DeviceResultItem(
        job_id="j1",
        device_id=device_id,
        status="success",
        platform="cisco_ios",
        remediation_lines=1,
        compliant=False,
        risks=[],
        finished_at="2026-01-01T00:00:01.000Z",
        expires_at=LATER,
        **texts,
    )


def _commit(table: str, results: list[DeviceResultItem]) -> None:
    job_table.put_new_job(
        table,
        JobItem(
            job_id="j1",
            status="pending",
            total_devices=len(results),
            created_at="2026-01-01T00:00:00.000Z",
            updated_at="2026-01-01T00:00:00.000Z",
            expires_at=LATER,
        ),
    )
    outcome = job_table.commit_device_results(
        table, results, "2026-01-01T00:00:02.000Z", status="running", from_states=("pending", "running")
    )
    assert len(outcome.recorded) == len(results) and not outcome.unstorable


def _raw_item(table: str, device_id: str) -> dict[str, Any]:
    return dict(
        boto3.client("dynamodb").get_item(
            TableName=table,
            Key={"pk": {"S": job_partition_key("j1")}, "sk": {"S": device_sort_key(device_id)}},
        )["Item"]
    )


def _legacy_item(result: DeviceResultItem) -> dict[str, Any]:
    """The item as the dal wrote it before compression: every text a plain string attribute."""
    keys = {"pk": job_partition_key(result.job_id), "sk": device_sort_key(result.device_id)}
    return {
        key: boto3.dynamodb.types.TypeSerializer().serialize(value)
        for key, value in (keys | result.model_dump()).items()
        if value is not None
    }


def _incompressible(characters: int, seed: int) -> str:
    """Interface descriptions of random letters and digits: zlib keeps about 6 of every 8 bits."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits
    lines = [
        f"interface Loopback{index}\n description {''.join(rng.choices(alphabet, k=200))}"
        for index in range(characters // 230 + 1)
    ]
    return "\n".join(lines)


def test_every_output_comes_back_from_every_read_exactly(aws: dict[str, Any]) -> None:
    # Given results with every output, empty ones, multi-byte text, and one with none (held or failed)
    full = _result(
        "full",
        remediation="interface Gi0/1\n description 上海核心 café\nno ip http server",
        rollback="interface Gi0/1\n no description",
        diff="+ interface Gi0/1\n+  description 上海核心 café",
        future="hostname r1\ninterface Gi0/1\n description 上海核心 café",
    )
    compliant = _result("compliant", remediation="", rollback="")
    only_future = _result("only-future", future="hostname r2\n")
    without = _result("without")
    results = [full, compliant, only_future, without]
    # When they are committed
    _commit(aws["table"], results)
    # Then both reads give each result back equal to what was written, None and "" kept apart
    for result in results:
        assert job_table.get_device_result(aws["table"], "j1", result.device_id) == result
    assert list(job_table.query_device_results(aws["table"], "j1")) == sorted(
        results, key=lambda result: result.device_id
    )
    # And the stored item holds the texts in one Binary attribute, no plain text attribute
    item = _raw_item(aws["table"], "full")
    assert not set(TEXT_ATTRIBUTES) & set(item)
    assert [kind for value in item.values() for kind in value if kind == "B"] == ["B"]
    assert "上海" not in str(item) and "no ip http server" not in str(item)
    assert not {"B"} & {kind for value in _raw_item(aws["table"], "without").values() for kind in value}


def test_a_row_written_before_compression_still_reads(aws: dict[str, Any]) -> None:
    # Given a row as the dal wrote it before: plain string attributes for the texts
    old = _result("old", remediation="no hostname a\nhostname b", rollback="hostname a", diff="")
    boto3.client("dynamodb").put_item(TableName=aws["table"], Item=_legacy_item(old))
    # When it is read both ways
    # Then every text is there as written
    assert job_table.get_device_result(aws["table"], "j1", "old") == old
    assert list(job_table.query_device_results(aws["table"], "j1")) == [old]


def test_the_stored_size_is_the_compressed_item_dynamodb_counts(aws: dict[str, Any]) -> None:
    # Given a result of 1 MB of repetitive text
    result = _result("big", remediation="interface Gi0/1\n description uplink\n" * 30_000, rollback="")
    # Then the dal's size is DynamoDB's for the item it sends (a few bytes over: numbers are counted a byte a
    # digit), far below the plain text's
    wire = job_table._device_item(result)
    assert dynamodb_item_size(wire) <= job_table.device_item_size(result) <= dynamodb_item_size(wire) + 20
    assert job_table.device_item_size(result) < len(result.remediation or "") // 50


def _device(device_id: str, intended: str) -> QueuedDevice:
    return QueuedDevice.model_validate(
        {
            "device_id": device_id,
            "payload": {
                "platform": "cisco_ios",
                "running_config": "hostname r1",
                "intended_config": intended,
            },
        }
    )


def test_a_megabyte_result_that_compresses_under_400_kb_is_stored_inline(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an inline limit that lets 2 MB of text stay in the item, and a device whose remediation is over
    # 1 MB of text that compresses well
    monkeypatch.setenv("RESULT_INLINE_LIMIT_BYTES", "2000000")
    load_settings.cache_clear()
    intended = "\n".join(f"interface Loopback{index}\n description {'z' * 200}" for index in range(5_000))
    device = _device("r1", intended)
    # When the worker computes it and the result is committed
    result = remediate_device(load_settings(), DeviceMessage(job_id="j1", devices=[device]), device)
    assert len((result.remediation or "").encode()) > 1_000_000
    assert result.output_key is None
    _commit(aws["table"], [result])
    # Then the whole text is in the table, in an item well under 400 KB, and nothing went to S3
    stored = job_table.get_device_result(aws["table"], "j1", "r1")
    assert stored is not None and stored.remediation == result.remediation and stored.output_key is None
    assert dynamodb_item_size(_raw_item(aws["table"], "r1")) < DYNAMODB_ITEM_LIMIT // 10
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=aws["bucket"])


def test_a_result_that_compresses_to_over_400_kb_is_claim_checked_to_s3(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the same inline limit, and a device whose remediation is 700 KB of text zlib cannot shrink below
    # 400 KB
    monkeypatch.setenv("RESULT_INLINE_LIMIT_BYTES", "2000000")
    load_settings.cache_clear()
    device = _device("r2", _incompressible(700_000, seed=1))
    # When the worker computes it
    result = remediate_device(load_settings(), DeviceMessage(job_id="j1", devices=[device]), device)
    # Then the outputs are in S3 and the item keeps only their key
    assert result.remediation is None and result.output_key == "outputs/j1/r2.json"
    assert job_table.device_item_size(result) < 1_000
    body = boto3.client("s3").get_object(Bucket=aws["bucket"], Key=result.output_key)["Body"].read()
    assert len(body) > 700_000


def _meter() -> ModuleType:
    """The bench's billing meter (bench/_stack_meter), loaded without installing its hooks."""
    spec = importlib.util.spec_from_file_location(
        "bench_stack_meter", PROJECT_ROOT / "bench" / "_stack_meter" / "sitecustomize.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bench_meter_bills_a_medium_corpus_device_a_fraction_of_the_plain_units(
    aws: dict[str, Any],
) -> None:
    # Given every medium corpus pair (100-1,500 running lines) computed as the worker computes it
    require_corpus()
    results = []
    for platform, case in corpus_pairs():
        running = (case / "running.conf").read_text()
        if not 100 <= len(running.splitlines()) <= 1500:
            continue
        text = compute_remediation(platform, running, (case / "intended.conf").read_text())
        results.append(_result(f"{platform}-{case.name}", **text.outputs()))
    assert len(results) >= 10
    meter = _meter()

    def units(items: list[dict[str, Any]]) -> tuple[float, float]:
        """(WRU of their transactional puts, RRU of reading them in one eventually consistent query)."""
        meter._units.clear()
        meter._dynamodb_writes("TransactWriteItems", {"TransactItems": [{"Put": {"Item": i}} for i in items]})
        meter._dynamodb_reads("Query", {}, {"Items": items})
        return meter._units["dynamodb:wru"], meter._units["dynamodb:rru"]

    # When the meter prices their items as stored now, and as they were stored before
    wru, rru = units([job_table._device_item(result) for result in results])
    plain_wru, plain_rru = units([_legacy_item(result) for result in results])
    # Then writes and reads cost at most half as many units (measured: about a third)
    assert wru <= plain_wru / 2 and rru <= plain_rru / 2
