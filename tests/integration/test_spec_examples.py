"""The contract as our users were promised it (shared/spec/batch-operations.md), on the real local stack."""

import re
import subprocess
import sys

import pytest

from tests.conftest import SPEC_FILE
from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration

SPEC_DEVICES = [
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


def test_the_three_device_example(local_stack: LocalStack) -> None:
    job_id = local_stack.submit(SPEC_DEVICES)
    status = local_stack.wait(job_id)
    assert status == {
        "job_id": job_id,
        "status": "completed",
        "progress": 100.0,
        "total_devices": 3,
        "completed_devices": 3,
        "failed_devices": 0,
        "compliant_devices": 0,
        "non_compliant_devices": 3,
        "held_devices": 0,
        "by_platform": {
            "cisco_ios": {"total": 2, "compliant": 0, "non_compliant": 2, "failed": 0, "held": 0},
            "cisco_nxos": {"total": 1, "compliant": 0, "non_compliant": 1, "failed": 0, "held": 0},
        },
        "error": None,
    }
    results = local_stack.results(job_id)
    assert results["summary"] == {
        "total_devices": 3,
        "completed_devices": 3,
        "failed_devices": 0,
        "compliant_devices": 0,
        "non_compliant_devices": 3,
        "held_devices": 0,
        "by_platform": {
            "cisco_ios": {"total": 2, "compliant": 0, "non_compliant": 2, "failed": 0, "held": 0},
            "cisco_nxos": {"total": 1, "compliant": 0, "non_compliant": 1, "failed": 0, "held": 0},
        },
        "status": "completed",
    }
    by_id = {result["device_id"]: result for result in results["results"]}
    assert by_id["router1"] == {
        "device_id": "router1",
        "status": "success",
        "remediation": "no hostname router1\nhostname router1-new",
        "rollback": "no hostname router1-new\nhostname router1",
        "compliant": False,
        "risks": [],
    }
    assert by_id["router2"]["remediation"] == "no hostname router2\nhostname router2-new"
    # NX-OS replaces the hostname in place: hier_config emits no negation for it.
    assert by_id["switch1"]["remediation"] == "hostname switch1-new"
    assert by_id["switch1"]["rollback"] == "hostname switch1"


def test_the_spec_workflow_script_runs_unchanged(local_stack: LocalStack) -> None:
    if not SPEC_FILE.is_file():
        pytest.skip(f"the spec is not here ({SPEC_FILE}); it exists beside the project in CI only")
    # Given the spec's own three Python blocks, joined into one script
    script = "\n".join(re.findall(r"```python\n(.*?)```", SPEC_FILE.read_text(), re.S))
    assert "http://localhost:8000" in script
    if not local_stack.api_url.endswith(":8000"):
        # Port 8000 was taken on this machine; point the script at the test stack instead.
        script = script.replace("http://localhost:8000", local_stack.api_url)
    # When it runs as a user would run it
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    # Then it ends with all 100 routers ready and nothing failed
    assert run.returncode == 0, run.stderr
    assert "Progress: 100.0% (100/100)" in run.stdout
    ready = re.findall(r"^router(\d+): Ready for deployment$", run.stdout, re.M)
    assert sorted(map(int, ready)) == list(range(100))
    assert "FAILED" not in run.stdout
    for i in (0, 57, 99):
        assert f"no hostname router{i}\nhostname router{i}-new" in run.stdout
