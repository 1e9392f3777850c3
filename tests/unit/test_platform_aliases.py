"""hier-config-api's platform spellings: accepted wherever `platform` is, normalised to hier_config's name,
and listed by GET /api/v1/platforms."""

import json
from typing import Any, get_args

import pytest
from hier_config import HConfig, Platform, WorkflowRemediation, get_hconfig
from pydantic import ValidationError

from netremedy.handlers import create_job, job_results, remediate_devices, single_device
from netremedy.models.api import BatchRemediationRequest, SingleDeviceRequest
from netremedy.models.drops import DroppedDevice
from netremedy.models.platforms import PLATFORM_ALIASES, PLATFORM_NAMES, PlatformAlias
from tests.unit.events import context, drain_queue, http_event, sqs_records

RUNNING = "hostname xr1\ninterface GigabitEthernet0/0/0/0\n description old\n"
INTENDED = "hostname xr1\ninterface GigabitEthernet0/0/0/0\n description uplink\n shutdown\n"
# A batch exactly as hier-config-api 0.1.0 takes it (POST /api/v1/batch/remediation, its PlatformService's
# "cisco_iosxr" spelling for IOS XR), and as bench/peer.py sends it.
HIER_CONFIG_API_BATCH = {
    "device_configs": [
        {
            "device_id": "xr1",
            "platform": "cisco_iosxr",
            "running_config": RUNNING,
            "intended_config": INTENDED,
        }
    ]
}


def _text(config: HConfig) -> str:
    return "\n".join(child.cisco_style_text() for child in config.all_children_sorted())


def test_every_alias_names_a_hier_config_platform_and_no_platform_is_an_alias() -> None:
    assert set(get_args(PlatformAlias)) == set(PLATFORM_ALIASES)
    assert set(PLATFORM_ALIASES.values()) <= set(PLATFORM_NAMES)
    assert not set(PLATFORM_ALIASES) & set(PLATFORM_NAMES)
    assert PLATFORM_ALIASES["cisco_iosxr"] == "cisco_xr"


def test_an_alias_is_validated_as_the_canonical_name_in_every_model_with_a_platform() -> None:
    # Given the same device spelled the hier-config-api way, when each input model validates it,
    # then the value kept is hier_config's name.
    device = HIER_CONFIG_API_BATCH["device_configs"][0]
    assert (
        BatchRemediationRequest.model_validate(HIER_CONFIG_API_BATCH).device_configs[0].platform == "cisco_xr"
    )
    assert SingleDeviceRequest.model_validate(device).platform == "cisco_xr"
    assert DroppedDevice.model_validate(device).platform == "cisco_xr"


@pytest.mark.parametrize("spelling", ["CISCO_IOSXR", "cisco_ios_xr", "iosxr", " cisco_iosxr"])
def test_only_the_exact_alias_is_accepted(spelling: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SingleDeviceRequest.model_validate(
            {**HIER_CONFIG_API_BATCH["device_configs"][0], "platform": spelling}
        )
    (error,) = caught.value.errors()
    assert error["loc"] == ("platform",) and "'cisco_xr'" in error["msg"]


def test_a_hier_config_api_batch_runs_unchanged_with_hier_configs_xr_driver(aws: dict[str, Any]) -> None:
    # Given hier-config-api's own batch body, when it is posted and its device computed,
    # then the job is accepted and the result is hier_config's for Platform.CISCO_XR.
    response = create_job.handler(
        http_event("POST", "/api/v1/batch/remediation", body=HIER_CONFIG_API_BATCH), context()
    )
    assert response["statusCode"] == 202, response["body"]
    job_id = json.loads(response["body"])["job_id"]
    messages = drain_queue(aws["queue_url"])
    queued = [device["payload"]["platform"] for body in messages for device in json.loads(body)["devices"]]
    assert queued == ["cisco_xr"]
    assert remediate_devices.handler(sqs_records(messages), context()) == {"batchItemFailures": []}

    results = job_results.handler(
        http_event(
            "GET",
            f"/api/v1/batch/jobs/{job_id}/results",
            route="/api/v1/batch/jobs/{job_id}/results",
            path_parameters={"job_id": job_id},
        ),
        context(),
    )
    (result,) = json.loads(results["body"])["results"]
    workflow = WorkflowRemediation(
        get_hconfig(Platform.CISCO_XR, RUNNING), get_hconfig(Platform.CISCO_XR, INTENDED)
    )
    assert result["status"] == "success"
    assert result["remediation"] == _text(workflow.remediation_config)
    assert result["rollback"] == _text(workflow.rollback_config)
    assert "shutdown" in result["remediation"]


def test_the_platforms_route_lists_each_platforms_aliases() -> None:
    response = single_device.handler(http_event("GET", "/api/v1/platforms"), context())
    platforms = {entry["name"]: entry for entry in json.loads(response["body"])["platforms"]}
    assert platforms["cisco_xr"]["aliases"] == ["cisco_iosxr"]
    assert platforms["cisco_ios"]["aliases"] == [] and set(platforms) == set(PLATFORM_NAMES)


def test_hier_config_apis_own_batch_test_body_is_accepted(aws: dict[str, Any]) -> None:
    # Given the body hier-config-api's tests post (tests/test_platforms.py::test_create_batch_job: two
    # cisco_ios devices, nothing but the four fields), with configs of our own
    device = {"platform": "cisco_ios", "running_config": "hostname r\n", "intended_config": "hostname r2\n"}
    body = {"device_configs": [{"device_id": "router1", **device}, {"device_id": "router2", **device}]}

    # When it is posted, then it is a job of two devices, as there (which answers 200 where we answer 202)
    response = create_job.handler(http_event("POST", "/api/v1/batch/remediation", body=body), context())
    assert response["statusCode"] == 202, response["body"]
    assert json.loads(response["body"])["total_devices"] == 2
