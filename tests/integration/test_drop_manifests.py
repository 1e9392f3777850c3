"""Drop manifests on the real local stack (deployed with ConfigPrefixes set): a JSON Lines drop, a prefix-pair
drop whose results equal hier_config's own, and manifests that try to read another job's inputs/ and
results/ through a drop."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hier_config import Platform, WorkflowRemediation, get_hconfig

from tests.integration.conftest import LocalStack, running_stack

pytestmark = pytest.mark.integration

CONFIG_PREFIXES = "backups/,intended/,inventory/"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # A stack of its own: the ConfigPrefixes parameter is deployed, and the port is a free one.
    with running_stack(
        tmp_path_factory.mktemp("drop-manifests"), PARAMETER_OVERRIDES=f"ConfigPrefixes={CONFIG_PREFIXES}"
    ) as started:
        yield started


def _put(stack: LocalStack, key: str, body: str | bytes) -> None:
    data = body.encode() if isinstance(body, str) else body
    stack.client("s3").put_object(Bucket=stack.resources["ResultBucket"], Key=key, Body=data)


def _results(stack: LocalStack, job_id: str) -> dict[str, dict[str, Any]]:
    stack.wait(job_id)
    return {result["device_id"]: result for result in stack.results(job_id)["results"]}


def _hier_config(platform: Platform, running: str, intended: str) -> tuple[str, str]:
    workflow = WorkflowRemediation(get_hconfig(platform, running), get_hconfig(platform, intended))
    return (
        "\n".join(line.cisco_style_text() for line in workflow.remediation_config.all_children_sorted()),
        "\n".join(line.cisco_style_text() for line in workflow.rollback_config.all_children_sorted()),
    )


def _ios(hostname: str, vlan: int) -> str:
    return f"hostname {hostname}\nvlan {vlan}\n name users\ninterface Vlan{vlan}\n ip address 10.0.{vlan}.1 255.255.255.0\n"


def test_a_jsonl_drop_runs_its_devices_with_the_header_options(stack: LocalStack) -> None:
    # Given a JSON Lines manifest: options on the first line, inline devices and one by key
    _put(stack, "backups/jsonl/r3.cfg", _ios("r3", 30))
    lines = [
        {"options": {"outputs": ["remediation", "diff"]}},
        {
            "device_id": "r1",
            "platform": "cisco_ios",
            "running_config": _ios("r1", 10),
            "intended_config": _ios("r1", 11),
        },
        {
            "device_id": "r2",
            "platform": "cisco_iosxr",
            "running_config": "hostname r2",
            "intended_config": "hostname r2b",
        },
        {
            "device_id": "r3",
            "platform": "cisco_ios",
            "running_config_key": "backups/jsonl/r3.cfg",
            "intended_config": _ios("r3", 31),
        },
    ]
    _put(stack, "incoming/fleet.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")
    # When it is dropped
    accepted = stack.wait_for_json("accepted/fleet.jsonl")
    results = _results(stack, accepted["job_id"])
    # Then one job holds the three devices, each computed as hier_config does, with the header's outputs
    assert accepted["total_devices"] == 3
    assert results["r1"]["remediation"] == _hier_config(Platform.CISCO_IOS, _ios("r1", 10), _ios("r1", 11))[0]
    assert results["r2"]["remediation"] == _hier_config(Platform.CISCO_XR, "hostname r2", "hostname r2b")[0]
    assert results["r3"]["remediation"] == _hier_config(Platform.CISCO_IOS, _ios("r3", 30), _ios("r3", 31))[0]
    assert all("diff" in result and "rollback" not in result for result in results.values())


def test_a_jsonl_drop_with_a_bad_line_is_refused_naming_the_line(stack: LocalStack) -> None:
    good = {"device_id": "r1", "platform": "cisco_ios", "running_config": "a", "intended_config": "b"}
    _put(
        stack,
        "incoming/bad.jsonl",
        f"{json.dumps(good)}\n{json.dumps({**good, 'device_id': 'r2', 'platform': 'ios'})}\n",
    )
    refusal = stack.wait_for_json("errors/bad.jsonl")
    assert refusal["details"][0]["field"] == "line 2: platform"


def test_a_prefix_pair_drop_pairs_backups_with_intended_configs(stack: LocalStack, tmp_path: Path) -> None:
    # Given backup and intended trees with the same relative names (different suffixes), one device on one
    # side only, and an inventory that sets one device's platform
    expected: dict[str, tuple[str, str]] = {}
    for site in ("site1", "site2"):
        for number in range(3):
            hostname = f"{site}-sw{number}"
            running, intended = _ios(hostname, 10 + number), _ios(hostname, 20 + number)
            _put(stack, f"backups/pair/{site}/{hostname}.cfg", running)
            _put(stack, f"intended/pair/{site}/{hostname}.conf", intended)
            expected[f"{site}.{hostname}"] = (running, intended)
    _put(stack, "backups/pair/site3/lonely.cfg", "hostname lonely")
    _put(stack, "backups/pair/site2/edge.cfg", "set system host-name edge")
    _put(stack, "intended/pair/site2/edge.cfg", "set system host-name edge2")
    _put(stack, "inventory/pair.csv", "device,platform\nsite2/edge,vyos\n")
    manifest = {
        "running_prefix": "backups/pair/",
        "intended_prefix": "intended/pair/",
        "platform": "cisco_ios",
        "inventory_key": "inventory/pair.csv",
    }
    _put(stack, "incoming/pair.json", json.dumps(manifest))
    # When the manifest is dropped
    accepted = stack.wait_for_json("accepted/pair.json")
    results = _results(stack, accepted["job_id"])
    # Then every paired device is in the job, its result equal to hier_config's own output
    assert accepted["total_devices"] == 8
    for device_id, (running, intended) in expected.items():
        remediation, rollback = _hier_config(Platform.CISCO_IOS, running, intended)
        assert (results[device_id]["remediation"], results[device_id]["rollback"]) == (remediation, rollback)
    assert (
        results["site2.edge"]["remediation"]
        == _hier_config(Platform.VYOS, "set system host-name edge", "set system host-name edge2")[0]
    )
    # and the device with a backup but no intended config failed, saying so
    assert results["site3.lonely"] == {
        "device_id": "site3.lonely",
        "status": "failed",
        "error": "no intended config under intended/pair/ for site3.lonely (backups/pair/site3/lonely.cfg)",
    }
    assert stack.status(accepted["job_id"])["failed_devices"] == 1


def test_a_manifest_cannot_read_another_jobs_inputs_or_results(stack: LocalStack) -> None:
    # Given another caller's finished job: its inputs/ and results/ objects are in the bucket
    victim = stack.submit(
        [
            {
                "device_id": "secret",
                "platform": "cisco_ios",
                "running_config": "hostname secret-a",
                "intended_config": "hostname secret-b\nsnmp-server community s3cr3t RO",
            }
        ]
    )
    stack.wait(victim)
    stolen = {
        "inputs": f"inputs/{victim}/devices.json",
        "results": f"results/{victim}/results.jsonl",
        "dotdot": f"backups/../results/{victim}/results.jsonl",
        "outside": "elsewhere/r1.cfg",
    }
    stack.wait_for_json(f"results/{victim}/summary.json")  # the write-back has run: the results object exists
    _put(stack, "elsewhere/r1.cfg", "hostname elsewhere")
    lines = [
        {
            "device_id": name,
            "platform": "cisco_ios",
            "running_config": "hostname x",
            "intended_config_key": key,
        }
        for name, key in stolen.items()
    ]
    # When a manifest references them
    _put(stack, "incoming/steal.jsonl", "\n".join(json.dumps(line) for line in lines))
    accepted = stack.wait_for_json("accepted/steal.jsonl")
    results = _results(stack, accepted["job_id"])
    # Then each device fails with the key and the rule, and nothing of the other job shows
    assert {result["status"] for result in results.values()} == {"failed"}
    assert "is not allowed: it is under inputs/" in results["inputs"]["error"]
    assert "is not allowed: it is under results/" in results["results"]["error"]
    assert "'..' path segments" in results["dotdot"]["error"]
    assert (
        f"not under the allowed config prefixes ({CONFIG_PREFIXES.replace(',', ', ')})"
        in results["outside"]["error"]
    )
    assert all(stolen[name] in result["error"] for name, result in results.items())
    assert "s3cr3t" not in json.dumps(results) and "secret-b" not in json.dumps(results)
    # And a prefix-pair manifest aimed at the results/ prefix is refused whole
    _put(
        stack,
        "incoming/steal-pairs.json",
        json.dumps(
            {
                "running_prefix": f"results/{victim}/",
                "intended_prefix": "intended/pair/",
                "platform": "cisco_ios",
            }
        ),
    )
    refusal = stack.wait_for_json("errors/steal-pairs.json")
    assert refusal["details"][0]["field"] == "running_prefix"
    assert "under results/" in refusal["details"][0]["message"]
    # The other job's results are as they were, readable by the API only
    body = requests.get(f"{stack.api_url}/api/v1/batch/jobs/{victim}/results/secret", timeout=30).json()
    assert body["status"] == "success"
