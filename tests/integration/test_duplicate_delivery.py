"""SQS delivers at least once: copies of device messages must not change the counters or the results."""

import json
import time

import pytest

from netremedy.models.messages import DeviceMessage, DevicePayload
from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration


def _devices(count: int) -> list[dict[str, str]]:
    return [
        {
            "device_id": f"dev{i:03d}",
            "platform": "cisco_ios",
            "running_config": f"hostname dev{i}",
            "intended_config": f"hostname dev{i}-new",
        }
        for i in range(count)
    ]


def _copy_of(job_id: str, device: dict[str, str]) -> str:
    payload = DevicePayload(
        platform=device["platform"],
        running_config=device["running_config"],  # type: ignore[arg-type]
        intended_config=device["intended_config"],
    )
    return DeviceMessage(job_id=job_id, device_id=device["device_id"], payload=payload).model_dump_json()


def test_duplicate_messages_do_not_change_counters(local_stack: LocalStack) -> None:
    # Given a job of 40 devices, and every one of its device messages injected twice more into the queue
    devices = _devices(40)
    job_id = local_stack.submit(devices)
    sqs = local_stack.client("sqs")
    for copy in range(2):
        for start in range(0, len(devices), 10):
            sqs.send_message_batch(
                QueueUrl=local_stack.resources["DeviceQueue"],
                Entries=[
                    {"Id": f"c{copy}-{i}", "MessageBody": _copy_of(job_id, device)}
                    for i, device in enumerate(devices[start : start + 10])
                ],
            )
    # When the job finishes and every copy has been consumed
    status = local_stack.wait(job_id)
    deadline = time.monotonic() + 60
    while local_stack.queue_depth() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert local_stack.queue_depth() == 0
    # Then each device was counted once and has exactly one result
    final = local_stack.status(job_id)
    assert final == status
    assert (final["completed_devices"], final["failed_devices"], final["progress"]) == (40, 0, 100.0)
    results = local_stack.results(job_id)["results"]
    assert [result["device_id"] for result in results] == [device["device_id"] for device in devices]
    table = local_stack.client("dynamodb")
    item = table.get_item(
        TableName=local_stack.resources["JobTable"], Key={"pk": {"S": f"JOB#{job_id}"}, "sk": {"S": "JOB"}}
    )["Item"]
    assert json.loads(json.dumps(item["completed_devices"])) == {"N": "40"}
