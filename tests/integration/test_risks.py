"""Lock-out risk on the real local stack with corpus devices: ``on_risk: hold`` end to end (the job
completes, the risky device is held with its risky lines on every read path, the others are computed) and
custom ``risk_rules`` added per request."""

import json
import time
from typing import Any

import pytest
import requests

from tests.conftest import CORPUS_DIR, require_corpus
from tests.integration.conftest import LocalStack

pytestmark = [pytest.mark.integration, pytest.mark.corpus]

IOS = "cisco_ios/ciscoconfparse_sample_01.conf"
EOS = "arista_eos/scrapli_cfg_eos_veos.conf"
NTP_RULE = {
    "id": "site.ntp",
    "why": "the clock source: certificates and logs depend on it",
    "match_rules": [{"re_search": "^(no )?ntp server "}],
}


def _read(name: str) -> str:
    require_corpus()
    return (CORPUS_DIR / name).read_text()


def _device(device_id: str, name: str, old: str = "", new: str = "") -> dict[str, str]:
    running = _read(name)
    assert old in running
    platform = name.split("/")[0]
    intended = running.replace(old, new, 1) if old else running
    return {
        "device_id": device_id,
        "platform": platform,
        "running_config": running,
        "intended_config": intended,
    }


def _fleet() -> list[dict[str, str]]:
    return [
        # Removes AAA: risky
        _device("edge1", IOS, "aaa new-model\n", ""),
        # Changes an NTP server: no built-in rule is about it
        _device("edge2", IOS, "ntp server 1.1.1.1\n", "ntp server 1.1.1.2\n"),
        # Nothing to change
        _device("leaf1", EOS),
    ]


def _get(stack: LocalStack, path: str) -> dict[str, Any]:
    response = requests.get(f"{stack.api_url}{path}", timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _bundle(stack: LocalStack, job_id: str) -> dict[str, Any]:
    """The bundle link, once the write-back that follows completion has written it."""
    deadline = time.monotonic() + 60
    while True:
        response = requests.get(f"{stack.api_url}/api/v1/batch/jobs/{job_id}/bundle", timeout=60)
        if response.status_code != 409 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body
        time.sleep(0.5)


def test_hold_withholds_the_risky_device_and_the_job_still_completes(stack: LocalStack) -> None:
    # Given three corpus devices (one risky, one with a harmless change, one compliant), submitted with hold
    job_id = stack.submit(_fleet(), options={"on_risk": "hold"})
    # When the job finishes
    status = stack.wait(job_id)
    # Then it completed, no device failed, and the held device is counted as held and non-compliant
    assert (status["status"], status["completed_devices"], status["failed_devices"]) == ("completed", 3, 0)
    if "held_devices" in status:  # the compliance counters
        assert (status["held_devices"], status["compliant_devices"], status["non_compliant_devices"]) == (
            1,
            1,
            2,
        )
    by_id = {result["device_id"]: result for result in stack.results(job_id)["results"]}
    held = by_id["edge1"]
    assert set(held) == {"device_id", "status", "compliant", "risks", "message"}
    assert (held["status"], held["compliant"]) == ("held", False)
    assert held["risks"] == [
        {
            "line": "no aaa new-model",
            "path": [],
            "rule": "ios.aaa.new-model",
            "why": held["risks"][0]["why"],
        }
    ]
    assert "withheld" in held["message"]
    # The others are computed as without hold
    assert by_id["edge2"]["status"] == "success" and by_id["edge2"]["risks"] == []
    assert by_id["edge2"]["remediation"] == "no ntp server 1.1.1.1\nntp server 1.1.1.2"
    assert (by_id["leaf1"]["status"], by_id["leaf1"]["compliant"], by_id["leaf1"]["remediation"]) == (
        "success",
        True,
        "",
    )
    # And the one-device route and the bundle say the same of the held device
    assert _get(stack, f"/api/v1/batch/jobs/{job_id}/results/edge1") == held
    bundle = _bundle(stack, job_id)
    lines = [json.loads(line) for line in requests.get(bundle["url"], timeout=60).text.splitlines()]
    assert next(line for line in lines if line["device_id"] == "edge1") == held


def test_flag_lists_the_risks_and_keeps_the_remediation(stack: LocalStack) -> None:
    job_id = stack.submit(_fleet()[:1])
    assert stack.wait(job_id)["status"] == "completed"
    (result,) = stack.results(job_id)["results"]
    assert result["status"] == "success" and result["compliant"] is False
    assert "no aaa new-model" in result["remediation"].splitlines()
    assert [risk["rule"] for risk in result["risks"]] == ["ios.aaa.new-model"]


def test_custom_risk_rules_flag_their_lines_and_can_hold_a_device(stack: LocalStack) -> None:
    # Given the NTP change, which no built-in rule flags, and a rule of the user's that does
    options = {"risk_rules": [NTP_RULE], "on_risk": "hold"}
    job_id = stack.submit(_fleet()[1:], options=options)
    assert stack.wait(job_id)["status"] == "completed"
    by_id = {result["device_id"]: result for result in stack.results(job_id)["results"]}
    # Then the NTP device is held on the user's rule, with both its lines; the compliant one is not
    assert by_id["edge2"]["status"] == "held"
    assert [(risk["rule"], risk["line"], risk["why"]) for risk in by_id["edge2"]["risks"]] == [
        ("site.ntp", "no ntp server 1.1.1.1", NTP_RULE["why"]),
        ("site.ntp", "ntp server 1.1.1.2", NTP_RULE["why"]),
    ]
    assert (by_id["leaf1"]["status"], by_id["leaf1"]["risks"]) == ("success", [])


def test_an_invalid_risk_rule_is_a_422_naming_the_field(stack: LocalStack) -> None:
    bad = NTP_RULE | {"match_rules": [{"re_search": "(unclosed"}]}
    response = requests.post(
        f"{stack.api_url}/api/v1/batch/remediation",
        json={"device_configs": _fleet()[1:2], "options": {"risk_rules": [bad]}},
        timeout=60,
    )
    assert response.status_code == 422, response.text
    fields = [detail["field"] for detail in response.json()["details"]]
    assert fields == ["options.risk_rules[0].match_rules[0].re_search"]


def test_the_platforms_route_lists_the_built_in_rules(stack: LocalStack) -> None:
    rules = _get(stack, "/api/v1/platforms")["risk_rules"]
    by_id = {rule["id"]: rule for rule in rules}
    assert {"ios.aaa.new-model", "nxos.mgmt-vrf.route", "xr.vty.access-class", "eos.management-api"} <= set(
        by_id
    )
    assert by_id["junos.services"]["platforms"] == ["juniper_junos"]
    assert by_id["ios.vty.transport-input"]["match_rules"][1]["re_search"] == r"^(no )?transport input\b"
