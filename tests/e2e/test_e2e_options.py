"""Remediation options, the one-device endpoint, /platforms and the fleet report, over plain HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

RUNNING = "hostname {name}\nntp server 10.0.0.1\nip access-list extended EDGE\n permit ip any any\n"
INTENDED = "hostname {name}\nntp server 10.0.0.2\nip access-list extended EDGE\n deny ip any any\n"
ACL_RULES = [
    {"match_rules": [{"startswith": ["ip access-list", "no ip access-list"]}], "apply_tags": ["acl"]}
]


def _device(name: str) -> dict[str, Any]:
    return {
        "device_id": name,
        "platform": "cisco_ios",
        "running_config": RUNNING.format(name=name),
        "intended_config": INTENDED.format(name=name),
    }


def test_batch_options_filter_by_tag_and_add_the_diff(api: Api) -> None:
    options = {"tag_rules": ACL_RULES, "exclude_tags": ["acl"], "outputs": ["remediation", "diff"]}
    job_id = api.submit([_device("e1"), _device("e2")], options=options)
    assert api.wait(job_id)["status"] == "completed"
    results = api.results(job_id)["results"]
    # The outputs asked for, plus compliance and risks, which every success result carries (issue 14)
    expected_fields = {"device_id", "status", "remediation", "diff", "compliant", "risks"}
    assert [set(result) for result in results] == [expected_fields] * 2
    first = results[0]
    # The filtered remediation is not empty, so the device is not compliant
    assert first["compliant"] is False
    assert (
        first["remediation"] == "no ntp server 10.0.0.1\nntp server 10.0.0.2"
    )  # the ACL change is filtered out
    # IOS numbers ACL entries (hier_config's cisco_ios driver), in the diff as in the remediation.
    assert "  - 10 permit ip any any" in first["diff"] and "  + 10 deny ip any any" in first["diff"]


def test_one_device_answers_synchronously_what_a_job_would(api: Api) -> None:
    response = api.request(
        "POST", "/api/v1/remediation", json={**_device("solo"), "options": {"outputs": ["rollback"]}}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "device_id": "solo",
        "status": "success",
        "rollback": (
            "no ntp server 10.0.0.2\nntp server 10.0.0.1\n"
            "ip access-list extended EDGE\n  no 10 deny ip any any\n  10 permit ip any any"
        ),
        "compliant": False,
        "risks": [],
    }
    refused = api.request("POST", "/api/v1/remediation", json={**_device("solo"), "options": {"outputs": []}})
    assert refused.status_code == 422 and refused.json()["details"][0]["field"] == "options.outputs"


def test_platforms_and_the_fleet_report(api: Api) -> None:
    platforms = api.get("/api/v1/platforms").json()["platforms"]
    assert "cisco_ios" in {platform["name"] for platform in platforms}
    job_id = api.submit([_device(f"f{index}") for index in range(3)])
    api.wait(job_id)
    response = api.get(f"/api/v1/batch/jobs/{job_id}/report", params={"min_devices": 3})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["devices_with_changes"] == 3
    lines = {change["line"]: change for change in report["changes"]}
    assert lines["ntp server 10.0.0.2"]["device_ids"] == ["f0", "f1", "f2"]
    assert all(change["device_count"] == 3 and change["devices_covered"] == 3 for change in report["changes"])
