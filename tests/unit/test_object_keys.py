"""The S3 layout: every key the service writes, built in one module, under the prefixes that expire."""

import pytest

from netremedy.models import object_keys


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (object_keys.manifest_key("j"), "inputs/j/devices.json"),
        (object_keys.request_key("j"), "inputs/j/request.json"),
        (object_keys.payload_key("j", "d"), "inputs/j/d.json"),
        (object_keys.output_key("j", "d"), "outputs/j/d.json"),
        (object_keys.results_prefix("j"), "results/j/"),
        (object_keys.bundle_key("j"), "results/j/results.jsonl"),
        (object_keys.summary_key("j"), "results/j/summary.json"),
        (object_keys.devices_prefix("j"), "results/j/devices/"),
        (object_keys.device_key("j", "d"), "results/j/devices/d.json"),
        (object_keys.accepted_key("site a/fleet.json"), "accepted/site a/fleet.json"),
        (object_keys.errors_key("site a/fleet.json"), "errors/site a/fleet.json"),
    ],
)
def test_each_key_has_the_documented_layout(key: str, expected: str) -> None:
    # The layout is public: users read results/ and the markers, and the README documents them.
    assert key == expected


def test_every_key_is_under_a_service_prefix_and_every_prefix_is_used() -> None:
    keys = [
        object_keys.manifest_key("j"),
        object_keys.request_key("j"),
        object_keys.payload_key("j", "d"),
        object_keys.output_key("j", "d"),
        object_keys.bundle_key("j"),
        object_keys.summary_key("j"),
        object_keys.device_key("j", "d"),
        object_keys.accepted_key("x.json"),
        object_keys.errors_key("x.json"),
        object_keys.upload_key("u", "json"),
    ]
    prefixes = object_keys.SERVICE_PREFIXES
    assert all(sum(key.startswith(prefix) for prefix in prefixes) == 1 for key in keys), keys
    assert {prefix for prefix in prefixes if any(key.startswith(prefix) for key in keys)} == set(prefixes)
