"""Configs a drop names by key are read by the worker, not by the start of the drop, on the real local stack.

The stack's device workers are paused (LOCAL_PAUSED_FUNCTIONS), so that this test plays the worker through
the same handler and queue, and can change the bucket between the start and the compute.
"""

import json
import time
from collections.abc import Iterator

import pytest
from hier_config import Platform, WorkflowRemediation, get_hconfig

from netremedy.handlers import remediate_devices
from netremedy_local.pollers import PollerConfig, poll_once
from tests.integration.conftest import LocalStack, paused_worker, running_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def paused_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(
        tmp_path_factory.mktemp("drop-references"), LOCAL_PAUSED_FUNCTIONS="RemediateDevicesFunction"
    ) as stack:
        yield stack


@pytest.fixture
def worker(paused_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[PollerConfig]:
    yield from paused_worker(
        paused_stack, monkeypatch, FINALIZE_QUEUE_URL=paused_stack.resources["FinalizeQueue"]
    )


def _ios(hostname: str, vlan: int) -> str:
    return f"hostname {hostname}\nvlan {vlan}\n name users\ninterface Vlan{vlan}\n shutdown\n"


def _hier_config(running: str, intended: str) -> str:
    workflow = WorkflowRemediation(
        get_hconfig(Platform.CISCO_IOS, running), get_hconfig(Platform.CISCO_IOS, intended)
    )
    return "\n".join(line.cisco_style_text() for line in workflow.remediation_config.all_children_sorted())


def test_a_running_config_deleted_between_start_and_compute_fails_that_device_alone(
    paused_stack: LocalStack, worker: PollerConfig
) -> None:
    # Given backup and intended trees of three devices, dropped as a prefix-pair manifest
    bucket = paused_stack.resources["ResultBucket"]
    s3 = paused_stack.client("s3")
    configs = {name: (_ios(name, 10), _ios(name, 20)) for name in ("r1", "r2", "r3")}
    for name, (running, intended) in configs.items():
        s3.put_object(Bucket=bucket, Key=f"backups/refs/{name}.cfg", Body=running.encode())
        s3.put_object(Bucket=bucket, Key=f"intended/refs/{name}.cfg", Body=intended.encode())
    manifest = {
        "running_prefix": "backups/refs/",
        "intended_prefix": "intended/refs/",
        "platform": "cisco_ios",
    }
    s3.put_object(Bucket=bucket, Key="incoming/refs.json", Body=json.dumps(manifest).encode())
    # When the drop has started its job (every device queued)
    job_id = paused_stack.wait_for_json("accepted/refs.json")["job_id"]
    # Then the queued devices carry their keys, not their configs: the start read none of them
    sqs = paused_stack.client("sqs")
    peeked = sqs.receive_message(
        QueueUrl=worker.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1
    )["Messages"]
    bodies = "".join(message["Body"] for message in peeked)
    assert "backups/refs/r2.cfg" in bodies and "vlan 10" not in bodies
    # When one running config is deleted before the worker reads it, and the worker computes the job
    s3.delete_object(Bucket=bucket, Key="backups/refs/r2.cfg")
    deadline = time.monotonic() + 120
    while paused_stack.status(job_id)["status"] != "completed":
        assert time.monotonic() < deadline, paused_stack.status(job_id)
        if not poll_once(worker, sqs, remediate_devices.handler, wait_seconds=0):
            time.sleep(0.2)
    # Then that device alone failed, naming the device and the key; the others equal hier_config's output
    status = paused_stack.status(job_id)
    assert (status["total_devices"], status["completed_devices"], status["failed_devices"]) == (3, 2, 1)
    results = {result["device_id"]: result for result in paused_stack.results(job_id)["results"]}
    assert results["r2"]["status"] == "failed"
    assert (
        results["r2"]["error"]
        == "device r2: running_config_key 'backups/refs/r2.cfg' names no object in the bucket"
    )
    for name in ("r1", "r3"):
        assert results[name]["remediation"] == _hier_config(*configs[name])
