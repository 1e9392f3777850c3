"""Drops never go silent: a redelivered event resumes a start that died at any step, duplicates are told apart
by the upload event (not by key and ETag), and each key has exactly one current outcome, the newest upload's."""

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from netremedy.dal import blob_store, device_queue, job_table
from netremedy.handlers import remediate_devices, start_dropped_jobs
from netremedy.logic.drops import DropOutcome, DropUpload, start_dropped_job
from netremedy.models.settings import load_settings
from tests.unit.events import context, drain_queue, sqs_records

KEY = "incoming/fleet.json"
DEVICES = [
    {
        "device_id": f"r{index:02d}",
        "platform": "cisco_ios",
        "running_config": f"hostname r{index:02d}",
        "intended_config": f"hostname r{index:02d}-new",
    }
    for index in range(25)
]


class Crash(BaseException):
    """The function dying (a timeout, out of memory): nothing of the code's own error handling runs."""


@pytest.fixture
def drops(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    # One device per message, so that 25 devices are three send batches (a crash can fall between them).
    monkeypatch.setenv("DEVICES_PER_MESSAGE", "1")
    load_settings.cache_clear()
    return aws


def _upload(bucket: str, manifest: Any, key: str = KEY) -> str:
    body = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    etag: str = boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body)["ETag"]
    return etag.strip('"')


def _deliver(bucket: str, etag: str, sequencer: str, key: str = KEY) -> DropOutcome:
    return start_dropped_job(load_settings(), bucket, key, etag, sequencer=sequencer)


def _marker(bucket: str, kind: str, name: str = "fleet.json") -> dict[str, Any] | None:
    try:
        return blob_store.get_json(bucket, f"{kind}/{name}")
    except Exception as exc:
        if blob_store.is_missing(exc):
            return None
        raise


def _job_ids(table: str) -> list[str]:
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    return sorted(
        item["pk"]["S"].removeprefix("JOB#")
        for page in pages
        for item in page["Items"]
        if item["sk"]["S"] == "JOB"
    )


def _queued_device_ids(aws: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The device ids of every queued message (one device each), and the bodies, drained."""
    bodies = drain_queue(aws["queue_url"])
    return [json.loads(body)["devices"][0]["device_id"] for body in bodies], bodies


def _compute(bodies: list[str]) -> None:
    remediate_devices.handler(sqs_records(bodies), context())


def _crash_once(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, when: Callable[..., bool]) -> None:
    """Make ``owner.name`` die on its first call for which ``when(*args)`` holds; every other call is real."""
    original = getattr(owner, name)
    crashed = False

    def dying(*args: Any, **kwargs: Any) -> Any:
        nonlocal crashed
        if not crashed and when(*args, **kwargs):
            crashed = True
            raise Crash(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, dying)


def _always(*_: Any, **__: Any) -> bool:
    return True


CRASH_POINTS: dict[str, tuple[Any, str, Callable[..., bool]]] = {
    # claimed, nothing else: the job row was never written
    "after the claim": (job_table, "put_new_job", _always),
    # the job row is written, no device reached the queue
    "after the job row": (device_queue, "send_batches", _always),
    # every device queued, the claim not yet moved to "started"
    "after the fan-out": (job_table, "advance_drop", lambda *args: args[3] == "started"),
    # started, the accepted/ marker never written
    "before the marker": (blob_store, "put_json", lambda *args: str(args[1]).startswith("accepted/")),
    # the marker written, the claim not yet moved to "accepted"
    "after the marker": (job_table, "advance_drop", lambda *args: args[3] == "accepted"),
}


@pytest.mark.parametrize("point", sorted(CRASH_POINTS))
def test_a_redelivery_after_a_crash_ends_with_one_job_every_device_counted_once_and_one_marker(
    drops: dict[str, Any], monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    # Given a 25-device drop whose start dies at one point
    etag = _upload(drops["bucket"], {"device_configs": DEVICES})
    owner, name, when = CRASH_POINTS[point]
    _crash_once(monkeypatch, owner, name, when)
    with pytest.raises(Crash):
        _deliver(drops["bucket"], etag, "00A1")
    queued_first, bodies_first = _queued_device_ids(drops)
    # When SQS delivers the same event again
    outcome = _deliver(drops["bucket"], etag, "00A1")
    queued_again, bodies_again = _queued_device_ids(drops)
    # Then the redelivery finishes the start: one job, the claimed one
    assert outcome.outcome == "resumed"
    assert _job_ids(drops["table"]) == [outcome.job_id]
    # every device was queued, and a device queued twice is counted once
    assert set(queued_first + queued_again) == {device["device_id"] for device in DEVICES}
    _compute(bodies_first + bodies_again + bodies_first)
    job = job_table.get_job(drops["table"], outcome.job_id or "")
    assert job is not None
    assert (job.status, job.completed_devices, job.failed_devices) == ("completed", 25, 0)
    # and the upload has exactly one outcome, naming the job
    accepted = _marker(drops["bucket"], "accepted")
    assert accepted is not None and accepted["job_id"] == outcome.job_id and accepted["total_devices"] == 25
    assert _marker(drops["bucket"], "errors") is None
    # A third delivery changes nothing
    assert _deliver(drops["bucket"], etag, "00A1").outcome == "duplicate"
    assert drain_queue(drops["queue_url"]) == []


def test_a_fan_out_that_died_half_way_queues_only_the_devices_not_counted_yet(
    drops: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a start that died after its first send batch (10 of 25 devices queued), and those 10 computed
    etag = _upload(drops["bucket"], {"device_configs": DEVICES})
    original = device_queue.send_batches

    def first_batch_then_die(queue_url: str, batches: list[Any]) -> None:
        original(queue_url, batches[:1])
        raise Crash("send_batches")

    monkeypatch.setattr(device_queue, "send_batches", first_batch_then_die)
    with pytest.raises(Crash):
        _deliver(drops["bucket"], etag, "00B7")
    monkeypatch.setattr(device_queue, "send_batches", original)
    counted, bodies = _queued_device_ids(drops)
    assert len(counted) == 10
    _compute(bodies)
    # When the event is delivered again
    outcome = _deliver(drops["bucket"], etag, "00B7")
    # Then only the 15 devices not counted are queued, and the job completes with each device once
    queued, bodies = _queued_device_ids(drops)
    assert sorted(queued) == sorted({d["device_id"] for d in DEVICES} - set(counted))
    _compute(bodies)
    job = job_table.get_job(drops["table"], outcome.job_id or "")
    assert job is not None and (job.status, job.completed_devices) == ("completed", 25)


def test_the_same_event_twice_starts_one_job_and_the_same_bytes_uploaded_again_start_another(
    drops: dict[str, Any],
) -> None:
    # Given a drop accepted once
    etag = _upload(drops["bucket"], {"device_configs": DEVICES[:2]})
    first = _deliver(drops["bucket"], etag, "0055AED6DCD90281E5")
    # When its event is delivered again, it is a duplicate: no second job, nothing queued again
    drain_queue(drops["queue_url"])
    again = _deliver(drops["bucket"], etag, "0055AED6DCD90281E5")
    assert (first.outcome, again.outcome, again.job_id) == ("accepted", "duplicate", first.job_id)
    assert drain_queue(drops["queue_url"]) == []
    # When the very same bytes are uploaded again (same ETag, a new event with a greater sequencer)
    assert _upload(drops["bucket"], {"device_configs": DEVICES[:2]}) == etag
    second = _deliver(drops["bucket"], etag, "0055AED6DCD90281F0")
    # Then a second job starts, and accepted/ names it
    assert second.outcome == "accepted" and second.job_id != first.job_id
    assert _job_ids(drops["table"]) == sorted([first.job_id or "", second.job_id or ""])
    accepted = _marker(drops["bucket"], "accepted")
    assert accepted is not None
    assert (accepted["job_id"], accepted["etag"], accepted["sequencer"]) == (
        second.job_id,
        etag,
        "0055AED6DCD90281F0",
    )


def test_writing_one_outcome_removes_the_other(drops: dict[str, Any]) -> None:
    # Given a refused upload (an unknown platform)
    broken = {"device_configs": [{**DEVICES[0], "platform": "cisco_nope"}]}
    refused = _deliver(drops["bucket"], _upload(drops["bucket"], broken), "01")
    assert refused.outcome == "refused"
    errors = _marker(drops["bucket"], "errors")
    assert errors is not None and errors["sequencer"] == "01" and errors["details"]
    # When the fixed manifest is uploaded, accepted/ replaces errors/
    accepted = _deliver(drops["bucket"], _upload(drops["bucket"], {"device_configs": DEVICES[:1]}), "02")
    assert accepted.outcome == "accepted"
    assert _marker(drops["bucket"], "errors") is None
    assert (_marker(drops["bucket"], "accepted") or {})["job_id"] == accepted.job_id
    # And a broken upload after that replaces accepted/ with errors/
    assert _deliver(drops["bucket"], _upload(drops["bucket"], broken), "03").outcome == "refused"
    assert _marker(drops["bucket"], "accepted") is None
    assert (_marker(drops["bucket"], "errors") or {})["sequencer"] == "03"


def test_a_late_event_of_an_older_upload_never_overwrites_the_newer_outcome(drops: dict[str, Any]) -> None:
    # Given a newer upload (sequencer 0100) refused, whose older upload's event (FF) is handled only now
    broken = {"device_configs": [{**DEVICES[0], "platform": "cisco_nope"}]}
    etag = _upload(drops["bucket"], broken)
    assert _deliver(drops["bucket"], etag, "0100").outcome == "refused"
    # When the older event arrives (sequencers compare after left-padding: FF is before 0100)
    late = _deliver(drops["bucket"], etag, "FF")
    # Then it starts nothing and the newer outcome stands
    assert late.outcome == "superseded"
    assert _job_ids(drops["table"]) == []
    assert _marker(drops["bucket"], "accepted") is None
    assert (_marker(drops["bucket"], "errors") or {})["sequencer"] == "0100"


def test_an_older_upload_that_finishes_after_a_newer_one_began_writes_no_marker(
    drops: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an upload whose start dies before its marker
    etag = _upload(drops["bucket"], {"device_configs": DEVICES[:1]})
    _crash_once(monkeypatch, blob_store, "put_json", lambda *args: str(args[1]).startswith("accepted/"))
    with pytest.raises(Crash):
        _deliver(drops["bucket"], etag, "10")
    # and a newer upload of the key accepted meanwhile
    newer = _deliver(drops["bucket"], _upload(drops["bucket"], {"device_configs": DEVICES[1:2]}), "11")
    # When the older event is redelivered
    late = _deliver(drops["bucket"], etag, "10")
    # Then the newer upload's marker stays the current outcome
    assert late.outcome == "superseded"
    assert (_marker(drops["bucket"], "accepted") or {})["job_id"] == newer.job_id


def test_upload_identity_and_order() -> None:
    # A sequencer orders uploads of a key after left-padding, case aside
    assert DropUpload("e", sequencer="ff").order == ("sequencer", "FF".rjust(64, "0"))
    assert (DropUpload("e", sequencer="FF").order or ("", ""))[1] < (
        DropUpload("e", sequencer="0100").order or ("", "")
    )[1]
    # The version id (versioned buckets) is part of what names the upload
    assert (
        DropUpload("e", sequencer="A1", version_id="v1").claim_id != DropUpload("e", sequencer="A1").claim_id
    )
    # Without a sequencer (moto), eventTime orders and the ETag tells apart two uploads of one millisecond
    moto = DropUpload("e1", event_time="2026-12-01T09:43:45.123Z")
    assert moto.order == ("event-time", "2026-12-01T09:43:45.123Z")
    assert moto.claim_id != DropUpload("e2", event_time="2026-12-01T09:43:45.123Z").claim_id
    # An event with neither (written by hand) is named by its ETag and not ordered
    assert DropUpload("e1").order is None and DropUpload("e1").claim_id == DropUpload("e1").claim_id


def _notification(bucket: str, etag: str, sequencer: str) -> str:
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventTime": "2026-12-01T09:43:45.123Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": KEY, "size": 10, "eTag": etag, "versionId": "v7", "sequencer": sequencer},
        },
    }
    return json.dumps({"Records": [record]})


def test_the_handler_keys_duplicates_on_the_events_sequencer_and_version(drops: dict[str, Any]) -> None:
    # Given one S3 event, delivered twice, and an event of the same bytes uploaded again
    etag = _upload(drops["bucket"], {"device_configs": DEVICES[:1]})
    event = _notification(drops["bucket"], etag, "0065670A2C8D3F1B42")
    reupload = _notification(drops["bucket"], etag, "0065670A2C8D3F1B99")
    # When the drop function handles them
    for body in (event, event, reupload):
        assert start_dropped_jobs.handler(sqs_records([body]), context()) == {"batchItemFailures": []}
    # Then two jobs exist (one per upload), and the marker describes the newer upload's event
    assert len(_job_ids(drops["table"])) == 2
    accepted = _marker(drops["bucket"], "accepted")
    assert accepted is not None
    assert {key: accepted[key] for key in ("etag", "sequencer", "version_id", "event_time")} == {
        "etag": etag,
        "sequencer": "0065670A2C8D3F1B99",
        "version_id": "v7",
        "event_time": "2026-12-01T09:43:45.123Z",
    }


def test_a_retry_that_finds_the_manifest_no_longer_acceptable_fails_the_half_started_job(
    drops: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a start that died before queueing its devices, and the object then overwritten with a manifest
    # that does not parse (its own event not handled yet)
    etag = _upload(drops["bucket"], {"device_configs": DEVICES[:2]})
    _crash_once(monkeypatch, device_queue, "send_batches", _always)
    with pytest.raises(Crash):
        _deliver(drops["bucket"], etag, "20")
    _upload(drops["bucket"], b"{not json")
    # When the first event is delivered again
    outcome = _deliver(drops["bucket"], etag, "20")
    # Then the job it had recorded fails, saying why, and errors/ is the one outcome
    assert outcome.outcome == "refused"
    (job_id,) = _job_ids(drops["table"])
    job = job_table.get_job(drops["table"], job_id)
    assert job is not None and job.status == "failed"
    assert (job.error or "").startswith(
        "the dropped manifest was refused on a retry: the manifest is not valid"
    )
    assert _marker(drops["bucket"], "accepted") is None
    assert (_marker(drops["bucket"], "errors") or {})["sequencer"] == "20"
    # and a further delivery of that event changes nothing
    assert _deliver(drops["bucket"], etag, "20").outcome == "duplicate"
