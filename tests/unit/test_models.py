"""BatchRemediationRequest: the public request body and its limits."""

from typing import Any

import pytest
from pydantic import ValidationError

from netremedy.models.api import MAX_DEVICES_PER_JOB, BatchRemediationRequest
from netremedy.models.devices import MAX_CONFIG_BYTES

SPEC_EXAMPLE: dict[str, Any] = {
    "device_configs": [
        {
            "device_id": "router1",
            "platform": "cisco_ios",
            "running_config": "hostname router1",
            "intended_config": "hostname router1-new",
        },
        {
            "device_id": "router2",
            "platform": "cisco_ios",
            "running_config": "hostname router2",
            "intended_config": "hostname router2-new",
        },
        {
            "device_id": "switch1",
            "platform": "cisco_nxos",
            "running_config": "hostname switch1",
            "intended_config": "hostname switch1-new",
        },
    ]
}


def _device(device_id: str = "r1", **overrides: Any) -> dict[str, Any]:
    device = {"device_id": device_id, "platform": "cisco_ios", "running_config": "a", "intended_config": "b"}
    device.update(overrides)
    return device


def _errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        BatchRemediationRequest.model_validate(body)
    return list(caught.value.errors())


def test_spec_example_validates() -> None:
    """Given the spec's three-device example, it validates with its values kept."""
    request = BatchRemediationRequest.model_validate(SPEC_EXAMPLE)
    assert [d.device_id for d in request.device_configs] == ["router1", "router2", "switch1"]
    assert request.device_configs[2].platform == "cisco_nxos"
    assert request.allow_empty_intended is False


def test_unknown_platform_is_located_and_lists_valid_names() -> None:
    """Given an unknown platform on the first device, the error points at it and lists valid names."""
    errors = _errors({"device_configs": [_device(platform="cisco_catos")]})
    assert [e["loc"] for e in errors] == [("device_configs", 0, "platform")]
    assert "'cisco_ios'" in errors[0]["msg"]


def test_empty_device_list_is_rejected() -> None:
    """Given no devices, the request is rejected on device_configs."""
    errors = _errors({"device_configs": []})
    assert errors[0]["loc"] == ("device_configs",)


def test_too_many_devices_is_rejected() -> None:
    """Given one device more than the limit, the request is rejected on device_configs."""
    devices = [_device(f"d{i}") for i in range(MAX_DEVICES_PER_JOB + 1)]
    errors = _errors({"device_configs": devices})
    assert errors[0]["loc"] == ("device_configs",)
    assert errors[0]["type"] == "too_long"


def test_duplicate_device_id_is_rejected_and_named() -> None:
    """Given two devices with the same id, the error is on device_configs and names the id."""
    errors = _errors({"device_configs": [_device("r1"), _device("r2"), _device("r1")]})
    assert [e["loc"] for e in errors] == [("device_configs",)]
    assert "'r1'" in errors[0]["msg"]


@pytest.mark.parametrize("device_id", ["a/b", "a b", "a" * 129, "", "-a", "router1\n"])
def test_bad_device_ids_are_rejected(device_id: str) -> None:
    """Given a device id that is not a safe key segment, it is rejected at its location."""
    errors = _errors({"device_configs": [_device(device_id)]})
    assert [e["loc"] for e in errors] == [("device_configs", 0, "device_id")]


def test_device_id_of_128_characters_is_accepted() -> None:
    """Given a device id at the 128-character limit, it validates."""
    request = BatchRemediationRequest.model_validate({"device_configs": [_device("a" * 128)]})
    assert request.device_configs[0].device_id == "a" * 128


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"device_configs": [_device()], "priority": 1}, ("priority",)),
        ({"device_configs": [_device(vendor="cisco")]}, ("device_configs", 0, "vendor")),
    ],
)
def test_unknown_fields_are_rejected(body: dict[str, Any], loc: tuple[Any, ...]) -> None:
    """Given an extra field at either level, it is rejected as extra."""
    errors = _errors(body)
    assert [(e["loc"], e["type"]) for e in errors] == [(loc, "extra_forbidden")]


@pytest.mark.parametrize("field", ["running_config", "intended_config"])
def test_config_over_size_limit_is_rejected(field: str) -> None:
    """Given a config one byte over MAX_CONFIG_BYTES, it is rejected on that field."""
    errors = _errors({"device_configs": [_device(**{field: "a" * (MAX_CONFIG_BYTES + 1)})]})
    assert [e["loc"] for e in errors] == [("device_configs", 0, field)]
    assert str(MAX_CONFIG_BYTES) in errors[0]["msg"]


def test_size_limit_counts_utf8_bytes() -> None:
    """Given a config under the limit in characters but over it in UTF-8 bytes, it is rejected."""
    text = "\u20ac" * (MAX_CONFIG_BYTES // 3 + 1)  # 3 bytes each
    errors = _errors({"device_configs": [_device(running_config=text)]})
    assert [e["loc"] for e in errors] == [("device_configs", 0, "running_config")]


def test_config_at_size_limit_is_accepted() -> None:
    """Given configs of exactly MAX_CONFIG_BYTES, the request validates."""
    text = "a" * MAX_CONFIG_BYTES
    request = BatchRemediationRequest.model_validate(
        {"device_configs": [_device(running_config=text, intended_config=text)]}
    )
    assert len(request.device_configs[0].running_config) == MAX_CONFIG_BYTES


def test_missing_intended_config_is_rejected() -> None:
    """Given a device without intended_config, the error is 'missing' at that field."""
    device = _device()
    del device["intended_config"]
    errors = _errors({"device_configs": [device]})
    assert [(e["loc"], e["type"]) for e in errors] == [(("device_configs", 0, "intended_config"), "missing")]


def test_wrong_type_for_running_config_is_rejected() -> None:
    """Given an int as running_config, it is not coerced to text."""
    errors = _errors({"device_configs": [_device(running_config=42)]})
    assert [(e["loc"], e["type"]) for e in errors] == [
        (("device_configs", 0, "running_config"), "string_type")
    ]


def test_a_lone_surrogate_in_a_config_is_refused_at_validation() -> None:
    body = {
        "device_configs": [
            {
                "device_id": "r1",
                "platform": "cisco_ios",
                "running_config": "hostname \udc80",
                "intended_config": "hostname b",
            }
        ]
    }
    with pytest.raises(ValidationError) as refused:
        BatchRemediationRequest.model_validate(body)
    (error,) = refused.value.errors()
    assert error["loc"] == ("device_configs", 0, "running_config") and "UTF-8" in error["msg"]
