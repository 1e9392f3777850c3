"""GET /api/v1/batch/jobs and `netremedy jobs` on the real local stack (its own free port): each caller's
jobs newest first, paged and filtered; and a hier-config-api payload (its platform spellings) run unchanged."""

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hier_config import Platform, WorkflowRemediation, get_hconfig

from tests.integration.conftest import LocalStack, running_stack

pytestmark = pytest.mark.integration

NETREMEDY = Path(sys.executable).with_name("netremedy")
CALLER_HEADER = "x-netremedy-caller"
XR_RUNNING = "hostname xr1\ninterface GigabitEthernet0/0/0/0\n description old\n"
XR_INTENDED = "hostname xr1\ninterface GigabitEthernet0/0/0/0\n description uplink\n shutdown\n"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(tmp_path_factory.mktemp("listing-stack")) as started:
        yield started


def _device(device_id: str, platform: str = "cisco_ios") -> dict[str, str]:
    return {
        "device_id": device_id,
        "platform": platform,
        "running_config": f"hostname {device_id}\nntp server 10.0.0.1\n",
        "intended_config": f"hostname {device_id}\nntp server 10.0.0.2\n",
    }


def _submit(stack: LocalStack, caller: str, body: dict[str, Any]) -> str:
    response = requests.post(
        f"{stack.api_url}/api/v1/batch/remediation", json=body, headers={CALLER_HEADER: caller}, timeout=60
    )
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


def _list(stack: LocalStack, caller: str, **query: str) -> dict[str, Any]:
    response = requests.get(
        f"{stack.api_url}/api/v1/batch/jobs", params=query, headers={CALLER_HEADER: caller}, timeout=30
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _wait(stack: LocalStack, caller: str, job_id: str) -> None:
    for _ in range(600):
        jobs = {job["job_id"]: job for job in _list(stack, caller)["jobs"]}
        if jobs[job_id]["status"] == "completed":
            return
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not complete")


def test_each_caller_lists_its_own_jobs_newest_first_paged_and_filtered(stack: LocalStack) -> None:
    # Given two jobs of alice (the second of two devices) and one of bob, all run to their end
    first = _submit(stack, "alice", {"device_configs": [_device("r1")]})
    second = _submit(stack, "alice", {"device_configs": [_device("r1"), _device("r2")]})
    bobs = _submit(stack, "bob", {"device_configs": [_device("r9")]})
    for job_id in (first, second):
        _wait(stack, "alice", job_id)
    _wait(stack, "bob", bobs)

    # When alice lists her jobs
    listed = _list(stack, "alice")

    # Then she sees her two, newest first, completed with their counters, times and source
    assert [job["job_id"] for job in listed["jobs"]] == [second, first]
    newest = listed["jobs"][0]
    assert (newest["status"], newest["total_devices"], newest["completed_devices"], newest["source"]) == (
        "completed",
        2,
        2,
        "api",
    )
    assert newest["finished_at"] >= newest["created_at"] and listed["next_token"] is None
    assert [job["job_id"] for job in _list(stack, "bob")["jobs"]] == [bobs]

    # And one at a time, the token leads from the newest to the oldest and then ends
    page = _list(stack, "alice", limit="1")
    assert [job["job_id"] for job in page["jobs"]] == [second] and page["next_token"]
    rest = _list(stack, "alice", limit="1", next_token=page["next_token"])
    assert [job["job_id"] for job in rest["jobs"]] == [first]
    assert _list(stack, "alice", status="running")["jobs"] == []
    assert len(_list(stack, "alice", status="completed")["jobs"]) == 2


def test_bad_listing_parameters_name_the_parameter(stack: LocalStack) -> None:
    response = requests.get(
        f"{stack.api_url}/api/v1/batch/jobs",
        params={"status": "finished"},
        headers={CALLER_HEADER: "alice"},
        timeout=30,
    )
    assert response.status_code == 422
    assert [detail["field"] for detail in response.json()["details"]] == ["query.status"]
    tampered = requests.get(
        f"{stack.api_url}/api/v1/batch/jobs",
        params={"next_token": "cm91dGVyMQ"},
        headers={CALLER_HEADER: "a"},
        timeout=30,
    )
    assert tampered.status_code == 400 and tampered.json()["error"] == "invalid_next_token"


def test_netremedy_jobs_prints_the_callers_jobs(stack: LocalStack, tmp_path: Path) -> None:
    job_id = _submit(stack, "carol", {"device_configs": [_device("c1")]})
    _wait(stack, "carol", job_id)

    run = subprocess.run(
        [str(NETREMEDY), "jobs", "--all", "--caller", "carol", "--url", stack.api_url],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    (row,) = [line for line in run.stdout.splitlines() if job_id in line]
    assert "completed" in row and "api" in row
    assert "1 job" in run.stdout


def test_a_hier_config_api_batch_runs_unchanged(stack: LocalStack) -> None:
    # Given a batch exactly as hier-config-api takes it, IOS XR spelled its way ("cisco_iosxr")
    body = {
        "device_configs": [
            {
                "device_id": "xr1",
                "platform": "cisco_iosxr",
                "running_config": XR_RUNNING,
                "intended_config": XR_INTENDED,
            }
        ]
    }

    # When it is posted and run
    job_id = _submit(stack, "dave", body)
    _wait(stack, "dave", job_id)
    results = requests.get(
        f"{stack.api_url}/api/v1/batch/jobs/{job_id}/results", headers={CALLER_HEADER: "dave"}, timeout=60
    ).json()

    # Then the device is computed with hier_config's XR driver, and the platforms route names the alias
    workflow = WorkflowRemediation(
        get_hconfig(Platform.CISCO_XR, XR_RUNNING), get_hconfig(Platform.CISCO_XR, XR_INTENDED)
    )
    expected = "\n".join(
        line.cisco_style_text() for line in workflow.remediation_config.all_children_sorted()
    )
    assert results["results"][0]["remediation"] == expected
    platforms = requests.get(f"{stack.api_url}/api/v1/platforms", timeout=30).json()["platforms"]
    assert {entry["name"]: entry["aliases"] for entry in platforms}["cisco_xr"] == ["cisco_iosxr"]
