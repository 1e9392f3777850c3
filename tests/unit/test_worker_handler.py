"""The SQS worker handler in-process (moto): results, partial batch failures, redelivery."""

import json
from typing import Any

from netremedy.dal import job_table
from netremedy.handlers import create_job, job_results, remediate_devices
from tests.unit.events import context, http_event, sqs_records


def _submit(devices: list[dict[str, str]]) -> str:
    event = http_event("POST", "/api/v1/batch/remediation", body={"device_configs": devices})
    response = create_job.handler(event, context())
    job_id: str = json.loads(response["body"])["job_id"]
    return job_id


def _queued_bodies(aws: dict[str, Any]) -> list[str]:
    import boto3

    sqs = boto3.client("sqs")
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        bodies.extend(message["Body"] for message in messages)


def _results(job_id: str) -> dict[str, Any]:
    event = http_event(
        "GET",
        f"/api/v1/batch/jobs/{job_id}/results",
        route="/api/v1/batch/jobs/{job_id}/results",
        path_parameters={"job_id": job_id},
    )
    body: dict[str, Any] = json.loads(job_results.handler(event, context())["body"])
    return body


def test_worker_computes_counts_and_completes_the_job(aws: dict[str, Any]) -> None:
    job_id = _submit(
        [
            {
                "device_id": "r1",
                "platform": "cisco_ios",
                "running_config": "hostname r1",
                "intended_config": "hostname r2",
            },
            {
                "device_id": "r2",
                "platform": "cisco_ios",
                "running_config": "hostname r1\x00",
                "intended_config": "x",
            },
        ]
    )
    response = remediate_devices.handler(sqs_records(_queued_bodies(aws)), context())
    assert response == {"batchItemFailures": []}
    results = _results(job_id)
    assert results["status"] == "completed"
    assert results["summary"] == {
        "total_devices": 2,
        "completed_devices": 1,
        "failed_devices": 1,
        "compliant_devices": 0,
        "non_compliant_devices": 1,
        "held_devices": 0,
        "by_platform": {
            "cisco_ios": {"total": 2, "compliant": 0, "non_compliant": 1, "failed": 1, "held": 0}
        },
        "status": "completed",
    }
    by_id = {result["device_id"]: result for result in results["results"]}
    assert by_id["r1"] == {
        "device_id": "r1",
        "status": "success",
        "remediation": "no hostname r1\nhostname r2",
        "rollback": "no hostname r2\nhostname r1",
        "compliant": False,
        "risks": [],
    }
    assert by_id["r2"]["status"] == "failed" and "NUL" in by_id["r2"]["error"]


def test_an_unreadable_message_is_reported_as_a_batch_item_failure(aws: dict[str, Any]) -> None:
    job_id = _submit(
        [
            {
                "device_id": "r1",
                "platform": "cisco_ios",
                "running_config": "hostname r1",
                "intended_config": "hostname r2",
            },
        ]
    )
    bodies = _queued_bodies(aws) + ["not json"]
    response = remediate_devices.handler(sqs_records(bodies), context())
    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    job = job_table.get_job(aws["table"], job_id)
    assert job is not None and (job.completed_devices, job.status) == (1, "completed")


def test_delivering_the_batch_twice_counts_each_device_once(aws: dict[str, Any]) -> None:
    devices = [
        {
            "device_id": f"r{i}",
            "platform": "cisco_ios",
            "running_config": f"hostname r{i}",
            "intended_config": f"hostname n{i}",
        }
        for i in range(5)
    ]
    job_id = _submit(devices)
    bodies = _queued_bodies(aws)
    first = bodies[:3]
    # Duplicates inside one batch, and the whole job delivered again later
    remediate_devices.handler(sqs_records(first + first[:2]), context())
    remediate_devices.handler(sqs_records(bodies), context())
    remediate_devices.handler(sqs_records(bodies), context())
    job = job_table.get_job(aws["table"], job_id)
    assert job is not None
    assert (job.status, job.completed_devices, job.failed_devices) == ("completed", 5, 0)
    assert sorted(result["device_id"] for result in _results(job_id)["results"]) == [
        f"r{i}" for i in range(5)
    ]


def test_a_large_result_goes_to_s3_and_comes_back_whole(aws: dict[str, Any], monkeypatch: Any) -> None:
    # Given a device whose remediation is larger than the inline limit
    monkeypatch.setenv("RESULT_INLINE_LIMIT_BYTES", "200")
    from netremedy.models.settings import load_settings

    load_settings.cache_clear()
    intended = "\n".join(f"interface Gi0/{i}\n description port {i}" for i in range(50))
    job_id = _submit(
        [
            {
                "device_id": "big",
                "platform": "cisco_ios",
                "running_config": "hostname a",
                "intended_config": intended,
            }
        ]
    )
    remediate_devices.handler(sqs_records(_queued_bodies(aws)), context())
    # Then the item only holds an S3 key, and the API returns the full text
    item = next(job_table.query_device_results(aws["table"], job_id))
    assert item.output_key == f"outputs/{job_id}/big.json" and item.remediation is None
    result = _results(job_id)["results"][0]
    assert result["remediation"].count("description port") == 50
