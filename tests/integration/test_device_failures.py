"""One bad device never stops a job: it is failed with an error a human can act on; the rest succeed."""

import pytest

from tests.conftest import CORPUS_DIR
from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration

DUPLICATE_SECTION_CONFIG = (
    "interface GigabitEthernet0/1\n description a\ninterface GigabitEthernet0/1\n description b\n"
)


def test_failing_devices_are_reported_and_the_others_succeed(local_stack: LocalStack) -> None:
    duplicate = CORPUS_DIR / "cisco_ios" / "ciscoconfparse_sample_02.conf"
    duplicate_text = duplicate.read_text() if duplicate.is_file() else DUPLICATE_SECTION_CONFIG
    devices = [
        {
            "device_id": "good1",
            "platform": "cisco_ios",
            "running_config": "hostname a",
            "intended_config": "hostname b",
        },
        {
            "device_id": "dup",
            "platform": "cisco_ios",
            "running_config": duplicate_text,
            "intended_config": "hostname b",
        },
        {
            "device_id": "binary",
            "platform": "cisco_ios",
            "running_config": "hostname a\n\x00\x01\x02",
            "intended_config": "hostname b",
        },
        {
            "device_id": "empty",
            "platform": "arista_eos",
            "running_config": "hostname a",
            "intended_config": " \n",
        },
        {
            "device_id": "good2",
            "platform": "juniper_junos",
            "running_config": "set system host-name a",
            "intended_config": "set system host-name b",
        },
    ]
    job_id = local_stack.submit(devices)
    status = local_stack.wait(job_id)
    assert (status["status"], status["completed_devices"], status["failed_devices"]) == ("completed", 2, 3)
    by_id = {result["device_id"]: result for result in local_stack.results(job_id)["results"]}
    assert by_id["good1"]["status"] == by_id["good2"]["status"] == "success"
    assert by_id["dup"]["status"] == "failed"
    assert "running_config" in by_id["dup"]["error"] and "DuplicateChildError" in by_id["dup"]["error"]
    assert by_id["binary"]["status"] == "failed" and "NUL byte at line 2" in by_id["binary"]["error"]
    assert by_id["empty"]["status"] == "failed" and "allow_empty_intended" in by_id["empty"]["error"]
    assert set(by_id["binary"]) == {"device_id", "status", "error"}


def test_allow_empty_intended_lets_an_empty_intended_through(local_stack: LocalStack) -> None:
    job_id = local_stack.submit(
        [
            {
                "device_id": "wipe",
                "platform": "cisco_ios",
                "running_config": "hostname a\nip domain-name x",
                "intended_config": "",
            }
        ],
        allow_empty_intended=True,
    )
    local_stack.wait(job_id)
    result = local_stack.results(job_id)["results"][0]
    assert result["status"] == "success"
    assert result["remediation"] == "no hostname a\nno ip domain-name x"
