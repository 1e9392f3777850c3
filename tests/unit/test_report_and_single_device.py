"""The fleet report (equal to hier_config's RemediationReporter over the job's results), the synchronous
one-device endpoint (equal to a batch job's result for the same device and options) and /platforms."""

import json
from typing import Any

import pytest
from hier_config import Platform, RemediationReporter, get_hconfig
from netremedy.handlers import create_job, job_report, job_results, remediate_devices, single_device
from netremedy.models.platforms import PLATFORM_NAMES

from tests.unit.events import context, drain_queue, http_event, sqs_records

BASE = "hostname {name}\nntp server 10.0.0.1\ninterface Gi0/1\n description uplink\n"


def _fleet() -> list[dict[str, Any]]:
    """Five IOS devices: all need the NTP change, three the interface change, one is already right; one NX-OS
    device and one that fails (empty intended config)."""
    devices = []
    for index in range(5):
        name = f"ios-{index}"
        intended = BASE.format(name=name).replace("10.0.0.1", "10.0.0.2")
        if index < 3:
            intended = intended.replace("description uplink", "description uplink to core")
        devices.append(
            {
                "device_id": name,
                "platform": "cisco_ios",
                "running_config": BASE.format(name=name),
                "intended_config": intended,
            }
        )
    devices.append(
        {
            "device_id": "ios-same",
            "platform": "cisco_ios",
            "running_config": BASE.format(name="s"),
            "intended_config": BASE.format(name="s"),
        }
    )
    devices.append(
        {
            "device_id": "nx-1",
            "platform": "cisco_nxos",
            "running_config": "ntp server 10.0.0.1",
            "intended_config": "ntp server 10.0.0.2",
        }
    )
    devices.append(
        {
            "device_id": "broken",
            "platform": "cisco_ios",
            "running_config": "hostname x",
            "intended_config": "",
        }
    )
    return devices


def _run_job(aws: dict[str, Any], body: dict[str, Any]) -> str:
    response = create_job.handler(http_event("POST", "/api/v1/batch/remediation", body=body), context())
    assert response["statusCode"] == 202, response["body"]
    job_id: str = json.loads(response["body"])["job_id"]
    assert remediate_devices.handler(sqs_records(drain_queue(aws["queue_url"])), context()) == {
        "batchItemFailures": []
    }
    return job_id


def _report(job_id: str, **query: str) -> tuple[int, dict[str, Any]]:
    event = http_event(
        "GET",
        f"/api/v1/batch/jobs/{job_id}/report",
        route="/api/v1/batch/jobs/{job_id}/report",
        path_parameters={"job_id": job_id},
        query=query or None,
    )
    response = job_report.handler(event, context())
    return response["statusCode"], json.loads(response["body"])


def test_report_counts_and_devices_equal_hier_configs_remediation_reporter(aws: dict[str, Any]) -> None:
    devices = _fleet()
    job_id = _run_job(aws, {"device_configs": devices})
    status, report = _report(job_id)
    assert status == 200
    assert (
        report["total_devices"],
        report["devices_with_changes"],
        report["devices_without_changes"],
        report["failed_devices"],
        report["devices_without_remediation"],
    ) == (8, 6, 1, 1, 0)
    # hier_config's own reporter over the same remediations, per platform.
    expected = {}
    for platform in ("cisco_ios", "cisco_nxos"):
        members = [
            d for d in devices if d["platform"] == platform and d["device_id"] not in ("broken", "ios-same")
        ]
        configs = {}
        for device in members:
            results = job_results.handler(
                http_event(
                    "GET",
                    f"/api/v1/batch/jobs/{job_id}/results/{device['device_id']}",
                    route="/api/v1/batch/jobs/{job_id}/results/{device_id}",
                    path_parameters={"job_id": job_id, "device_id": device["device_id"]},
                ),
                context(),
            )
            remediation = json.loads(results["body"])["remediation"]
            configs[device["device_id"]] = get_hconfig(Platform[platform.upper()], remediation)
        reporter = RemediationReporter.from_remediations(configs.values())
        names = {id(config): name for name, config in configs.items()}
        for child in reporter.get_all_changes():
            if child.children:  # a section header is the context of its lines, not a change of its own
                continue
            expected[(platform, tuple(child.path()))] = sorted(names[i.id] for i in child.instances)
    got = {(c["platform"], tuple(c["path"])): c["device_ids"] for c in report["changes"]}
    assert got == expected
    assert report["unique_changes"] == len(expected)
    counts = [change["device_count"] for change in report["changes"]]
    assert counts == sorted(counts, reverse=True) and counts[0] == 5
    top = report["changes"][0]
    assert (top["line"], top["platform"], top["devices_covered"]) == (
        "no ntp server 10.0.0.1",
        "cisco_ios",
        5,
    )
    assert report["changes"][-1]["devices_covered"] == 6  # every device with changes is covered by all lines


def test_devices_with_the_same_remediation_share_one_parse(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fleet's remediations: three IOS devices with the NTP and interface changes, two with the NTP change
    # only, one NX-OS device (the same text as those two, on another platform); the report (checked against
    # hier_config's reporter above) parses each text once per platform.
    from netremedy.logic import fleet_report

    parsed: list[tuple[Platform, str]] = []

    def counting_get_hconfig(platform: Platform, text: str) -> Any:
        parsed.append((platform, text))
        return get_hconfig(platform, text)

    job_id = _run_job(aws, {"device_configs": _fleet()})
    monkeypatch.setattr(fleet_report, "get_hconfig", counting_get_hconfig)
    status, report = _report(job_id)
    assert status == 200 and report["devices_with_changes"] == 6
    assert len(parsed) == len(set(parsed)) == 3
    ntp = next(change for change in report["changes"] if change["line"] == "no ntp server 10.0.0.1")
    assert ntp["device_ids"] == [f"ios-{index}" for index in range(5)]


def test_report_filters_by_min_devices_and_limits(aws: dict[str, Any]) -> None:
    job_id = _run_job(aws, {"device_configs": _fleet()})
    _, common = _report(job_id, min_devices="3")
    assert common["changes"] and all(change["device_count"] >= 3 for change in common["changes"])
    assert {change["line"] for change in common["changes"]} >= {
        "ntp server 10.0.0.2",
        "description uplink to core",
    }
    _, two = _report(job_id, limit="2")
    assert len(two["changes"]) == 2 and two["truncated"] is True
    status, body = _report(job_id, limit="0")
    assert status == 422 and body["details"][0]["field"] == "query.limit"


def test_report_leaves_out_devices_whose_job_did_not_ask_for_remediation(aws: dict[str, Any]) -> None:
    job_id = _run_job(aws, {"device_configs": _fleet()[:2], "options": {"outputs": ["diff"]}})
    _, report = _report(job_id)
    assert (report["devices_with_changes"], report["devices_without_remediation"], report["changes"]) == (
        0,
        2,
        [],
    )


def test_report_of_another_callers_job_is_404(aws: dict[str, Any]) -> None:
    job_id = _run_job(aws, {"device_configs": _fleet()[:1]})
    event = http_event(
        "GET",
        f"/api/v1/batch/jobs/{job_id}/report",
        route="/api/v1/batch/jobs/{job_id}/report",
        path_parameters={"job_id": job_id},
    )
    event["requestContext"]["identity"]["userArn"] = "arn:aws:iam::1:user/someone-else"
    response = job_report.handler(event, context())
    assert response["statusCode"] == 404 and json.loads(response["body"])["error"] == "job_not_found"


def _single(body: Any) -> tuple[int, dict[str, Any]]:
    response = single_device.handler(http_event("POST", "/api/v1/remediation", body=body), context())
    return response["statusCode"], json.loads(response["body"])


def test_single_device_answers_what_a_batch_job_gives_for_the_same_device_and_options(
    aws: dict[str, Any],
) -> None:
    device = _fleet()[0]
    options = {
        "tag_rules": [{"match_rules": [{"startswith": ["ntp", "no ntp"]}], "apply_tags": ["ntp"]}],
        "exclude_tags": ["ntp"],
        "outputs": ["remediation", "rollback", "diff", "future"],
    }
    status, single = _single({**device, "options": options})
    job_id = _run_job(aws, {"device_configs": [device], "options": options})
    response = job_results.handler(
        http_event(
            "GET",
            f"/api/v1/batch/jobs/{job_id}/results",
            route="/api/v1/batch/jobs/{job_id}/results",
            path_parameters={"job_id": job_id},
        ),
        context(),
    )
    batch = json.loads(response["body"])["results"][0]
    assert status == 200 and single == batch
    assert set(single) == {
        *("device_id", "status", "remediation", "rollback", "diff", "future", "compliant", "risks")
    }
    assert "ntp" not in single["remediation"] and "description uplink to core" in single["remediation"]
    assert "ntp" in single["rollback"]


def test_single_device_defaults_equal_the_seed_output() -> None:
    status, body = _single(
        {
            "device_id": "router1",
            "platform": "cisco_ios",
            "running_config": "hostname router1",
            "intended_config": "hostname router1-new",
        }
    )
    assert (status, body) == (
        200,
        {
            "device_id": "router1",
            "status": "success",
            "remediation": "no hostname router1\nhostname router1-new",
            "rollback": "no hostname router1-new\nhostname router1",
            "compliant": False,
            "risks": [],
        },
    )


def test_single_device_that_cannot_be_processed_is_a_failed_result_with_an_actionable_error() -> None:
    status, body = _single(
        {
            "device_id": "r1",
            "platform": "cisco_ios",
            "running_config": "hostname a",
            "intended_config": "! nothing\nend",
        }
    )
    assert status == 200 and body["status"] == "failed" and "allow_empty_intended" in body["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"device_id": "r1", "platform": "ios", "running_config": "a", "intended_config": "b"}, "platform"),
        (
            {"device_id": "r/1", "platform": "cisco_ios", "running_config": "a", "intended_config": "b"},
            "device_id",
        ),
        ({"device_id": "r1", "platform": "cisco_ios", "running_config": "a"}, "intended_config"),
        (
            {
                "device_id": "r1",
                "platform": "cisco_ios",
                "running_config": "a",
                "intended_config": "b",
                "options": {"outputs": ["everything"]},
            },
            "options.outputs[0]",
        ),
    ],
)
def test_single_device_bad_input_is_422_naming_the_field(body: dict[str, Any], field: str) -> None:
    status, answer = _single(body)
    assert status == 422 and field in [detail["field"] for detail in answer["details"]]


def test_single_device_refuses_outputs_too_big_for_a_synchronous_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(single_device, "SYNC_OUTPUT_MAX_BYTES", 20)
    status, body = _single(
        {
            "device_id": "r1",
            "platform": "cisco_ios",
            "running_config": "hostname a",
            "intended_config": "hostname b",
        }
    )
    assert status == 200 and body["status"] == "failed" and "POST /api/v1/batch/remediation" in body["error"]


def test_platforms_lists_every_accepted_name_with_hier_configs_driver_facts() -> None:
    response = single_device.handler(http_event("GET", "/api/v1/platforms"), context())
    platforms = json.loads(response["body"])["platforms"]
    assert [platform["name"] for platform in platforms] == list(PLATFORM_NAMES)
    by_name = {platform["name"]: platform for platform in platforms}
    assert by_name["juniper_junos"]["negation_prefix"] == "delete "
    assert (
        by_name["cisco_ios"]["driver"] == "HConfigDriverCiscoIOS" and by_name["cisco_ios"]["rule_count"] > 0
    )
    assert by_name["generic"]["support"] == "generic driver"
    assert (
        by_name["cisco_xr"]["sectional_exiting"] is True
        and by_name["cisco_nxos"]["sectional_exiting"] is False
    )
