"""plan_fanout: devices packed into messages, claim checks for big payloads, SQS-sized send batches."""

from collections import Counter

import pytest

from netremedy.dal.device_queue import OutgoingMessage
from netremedy.logic.fanout import FanoutPlan, plan_fanout
from netremedy.models.devices import DeviceConfig
from netremedy.models.messages import DeviceMessage, QueuedDevice
from netremedy.models.object_keys import payload_key

JOB_ID = "job-1"


def _device(device_id: str, size: int = 20, char: str = "a") -> DeviceConfig:
    return DeviceConfig(
        device_id=device_id,
        platform="cisco_ios",
        running_config=f"hostname {device_id}\n" + char * size,
        intended_config=f"hostname {device_id}-new",
    )


def _packets(plan: FanoutPlan) -> list[DeviceMessage]:
    return [DeviceMessage.model_validate_json(m.body) for batch in plan.batches for m in batch]


def _messages(plan: FanoutPlan) -> list[QueuedDevice]:
    """Every queued device, whichever message it travels in."""
    return [device for packet in _packets(plan) for device in packet.devices]


def _body_bytes(batch: list[OutgoingMessage]) -> int:
    return sum(len(message.body.encode("utf-8")) for message in batch)


@pytest.mark.parametrize(
    ("count", "size", "limit"),
    [(1, 10, 262_144), (10, 10, 262_144), (11, 10, 262_144), (37, 10, 262_144), (25, 1_500, 8_192)],
)
def test_every_device_once_in_sqs_sized_batches(count: int, size: int, limit: int) -> None:
    """Given many devices, each is sent exactly once, in batches of <= 10 messages and <= limit bytes."""
    devices = [_device(f"d{i}", size) for i in range(count)]
    plan = plan_fanout(JOB_ID, devices, allow_empty_intended=False, message_max_bytes=limit)

    sent = Counter(message.device_id for message in _messages(plan))
    assert sent == Counter(d.device_id for d in devices)
    assert all(packet.job_id == JOB_ID for packet in _packets(plan))
    for batch in plan.batches:
        assert 1 <= len(batch) <= 10
        assert len({m.message_id for m in batch}) == len(batch)
        assert _body_bytes(batch) <= limit
    assert len(plan.batches) >= -(-count // 10)
    assert plan.claim_checks == []


def test_size_split_happens_before_ten_entries() -> None:
    """Given devices that fit one per message but not ten per batch, batches split on bytes."""
    limit = 8_192
    plan = plan_fanout(
        JOB_ID,
        [_device(f"d{i}", 2_000) for i in range(10)],
        allow_empty_intended=False,
        message_max_bytes=limit,
    )
    assert len(plan.batches) > 1
    assert all(_body_bytes(batch) <= limit for batch in plan.batches)
    assert plan.claim_checks == []


def test_oversized_device_becomes_a_claim_check() -> None:
    """Given one device bigger than the limit among small ones, only it travels by S3 key."""
    limit = 4_096
    big = _device("big", 10_000)
    devices = [_device("small1"), big, _device("small2")]
    plan = plan_fanout(JOB_ID, devices, allow_empty_intended=False, message_max_bytes=limit)

    by_id = {message.device_id: message for message in _messages(plan)}
    assert by_id["big"].payload is None
    assert by_id["big"].payload_key == payload_key(JOB_ID, "big")
    for small in ("small1", "small2"):
        assert by_id[small].payload_key is None
        assert by_id[small].payload is not None
        assert by_id[small].payload.running_config == f"hostname {small}\n" + "a" * 20

    assert [claim.key for claim in plan.claim_checks] == [payload_key(JOB_ID, "big")]
    assert plan.claim_checks[0].document == {
        "platform": "cisco_ios",
        "running_config": big.running_config,
        "intended_config": big.intended_config,
    }
    assert all(_body_bytes(batch) <= limit for batch in plan.batches)


def test_claim_check_threshold_counts_utf8_bytes() -> None:
    """Given a payload short in characters but over the limit in UTF-8 bytes, it becomes a claim check."""
    limit = 4_096
    device = _device("euro", 1_500, char="\u20ac")  # ~1.5k characters, ~4.5 kB
    assert len(device.model_dump_json()) < limit
    plan = plan_fanout(JOB_ID, [device], allow_empty_intended=False, message_max_bytes=limit)
    assert [claim.key for claim in plan.claim_checks] == [payload_key(JOB_ID, "euro")]
    assert all(_body_bytes(batch) <= limit for batch in plan.batches)


def test_inline_payload_round_trips_non_ascii() -> None:
    """Given non-ASCII text that fits, the inline payload carries it unchanged."""
    device = _device("r1", 10, char="\u00e9")
    plan = plan_fanout(JOB_ID, [device], allow_empty_intended=False, message_max_bytes=262_144)
    (message,) = _messages(plan)
    assert message.payload is not None
    assert message.payload.running_config == device.running_config


@pytest.mark.parametrize("allow", [True, False])
def test_allow_empty_intended_is_on_every_message(allow: bool) -> None:
    """Given allow_empty_intended, every message (inline or claim check) carries the same value."""
    devices = [_device(f"d{i}") for i in range(12)] + [_device("big", 10_000)]
    plan = plan_fanout(JOB_ID, devices, allow_empty_intended=allow, message_max_bytes=4_096)
    messages = _messages(plan)
    assert len(messages) == 13
    assert any(m.payload_key for m in messages)
    assert any(m.payload for m in messages)
    assert all(packet.allow_empty_intended is allow for packet in _packets(plan))


@pytest.mark.parametrize(("count", "per_message"), [(1, 25), (25, 25), (26, 25), (100, 7), (30, 1)])
def test_devices_are_packed_up_to_devices_per_message(count: int, per_message: int) -> None:
    devices = [_device(f"d{i:03d}") for i in range(count)]
    plan = plan_fanout(
        JOB_ID,
        devices,
        allow_empty_intended=False,
        message_max_bytes=262_144,
        devices_per_message=per_message,
    )
    packets = _packets(plan)
    assert [len(packet.devices) for packet in packets] == [
        min(per_message, count - start) for start in range(0, count, per_message)
    ]
    assert [d.device_id for d in _messages(plan)] == [d.device_id for d in devices]  # order kept, each once


def test_a_packet_stays_under_a_quarter_of_the_message_limit_so_batches_hold_several() -> None:
    limit = 262_144
    devices = [_device(f"d{i}", 10_000) for i in range(40)]
    plan = plan_fanout(
        JOB_ID, devices, allow_empty_intended=False, message_max_bytes=limit, devices_per_message=25
    )
    bodies = [message.body for batch in plan.batches for message in batch]
    assert all(len(body.encode()) <= limit // 4 for body in bodies)
    assert max(len(batch) for batch in plan.batches) >= 3
    assert sorted(d.device_id for d in _messages(plan)) == sorted(d.device_id for d in devices)


def test_options_travel_once_per_message_and_only_when_set() -> None:
    from netremedy.models.options import RemediationOptions

    devices = [_device(f"d{i}") for i in range(30)]
    plan = plan_fanout(
        JOB_ID,
        devices,
        allow_empty_intended=False,
        message_max_bytes=262_144,
        devices_per_message=25,
        options=RemediationOptions(outputs=["diff"]),
    )
    bodies = [message.body for batch in plan.batches for message in batch]
    assert [body.count('"outputs"') for body in bodies] == [1, 1]
    assert all(
        packet.remediation_options is not None and packet.remediation_options.outputs == ["diff"]
        for packet in _packets(plan)
    )


def test_a_one_device_message_of_the_earlier_format_is_still_read() -> None:
    """Messages queued before packets existed (device fields at the top) are read as one-device packets."""
    earlier = '{"job_id":"j","device_id":"r1","allow_empty_intended":true,"payload_key":"inputs/j/r1.json"}'
    packet = DeviceMessage.model_validate_json(earlier)
    assert packet.allow_empty_intended is True
    assert packet.devices == [QueuedDevice(device_id="r1", payload_key="inputs/j/r1.json")]
