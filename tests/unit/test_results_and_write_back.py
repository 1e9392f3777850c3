"""Paged results, page tokens, completion announcements and the write-back to S3 (moto in-process)."""

import json
from typing import Any

import boto3
import pytest

from netremedy.handlers import create_job, remediate_devices, write_back_results
from netremedy.logic.results import InvalidPageTokenError, decode_page_token, encode_page_token, job_results
from netremedy.models.settings import load_settings
from tests.unit.events import context, drain_queue, http_event, sqs_records


@pytest.mark.parametrize("token", ["\u00e9", "[Filtered]", "====", "AAAA", "x" * 401])
def test_tokens_the_api_did_not_issue_are_refused(token: str) -> None:
    with pytest.raises(InvalidPageTokenError):
        decode_page_token(token)


def test_issued_tokens_round_trip() -> None:
    assert decode_page_token(encode_page_token("core-sw.01_a")) == "core-sw.01_a"


def _run_job(aws: dict[str, Any], count: int) -> str:
    devices = [
        {
            "device_id": f"d{i:02d}",
            "platform": "cisco_ios",
            "running_config": f"hostname d{i}",
            "intended_config": f"hostname n{i}",
        }
        for i in range(count)
    ]
    response = create_job.handler(
        http_event("POST", "/api/v1/batch/remediation", body={"device_configs": devices}), context()
    )
    job_id: str = json.loads(response["body"])["job_id"]
    sqs = boto3.client("sqs")
    while messages := sqs.receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        remediate_devices.handler(sqs_records([m["Body"] for m in messages]), context())
        sqs.delete_message_batch(
            QueueUrl=aws["queue_url"],
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return job_id


def test_pages_cover_every_device_once_in_order(aws: dict[str, Any]) -> None:
    job_id = _run_job(aws, 25)
    seen, token = [], None
    while True:
        page = job_results(load_settings(), job_id, "anonymous", limit=7, next_token=token)
        seen += [r.device_id for r in page.results]
        token = page.next_token
        if token is None:
            break
    assert seen == [f"d{i:02d}" for i in range(25)]


def test_completion_is_announced_once_and_written_back(aws: dict[str, Any]) -> None:
    job_id = _run_job(aws, 12)
    sqs = boto3.client("sqs")
    announced = sqs.receive_message(QueueUrl=aws["finalize_url"], MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in announced] == [{"job_id": job_id}]
    # When the finalize message is handled
    assert write_back_results.handler(sqs_records([announced[0]["Body"]]), context()) == {
        "batchItemFailures": []
    }
    # Then S3 holds the JSONL bundle and the summary, matching the API's results (an API job's caller reads
    # devices from the API: no object per device)
    s3 = boto3.client("s3")
    read = lambda key: s3.get_object(Bucket=aws["bucket"], Key=key)["Body"].read()  # noqa: E731
    summary = json.loads(read(f"results/{job_id}/summary.json"))
    assert (summary["status"], summary["completed_devices"], summary["total_devices"]) == (
        "completed",
        12,
        12,
    )
    lines = [json.loads(line) for line in read(f"results/{job_id}/results.jsonl").decode().splitlines()]
    api = job_results(load_settings(), job_id, "anonymous").results
    assert lines == [result.model_dump() for result in api]
    assert summary["devices_prefix"] is None
    assert "Contents" not in s3.list_objects_v2(Bucket=aws["bucket"], Prefix=f"results/{job_id}/devices/")


def test_a_second_announcement_of_the_same_completion_writes_nothing_again(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from netremedy.logic import finalize

    job_id = _run_job(aws, 3)
    body = json.dumps({"job_id": job_id})
    assert write_back_results.handler(sqs_records([body]), context()) == {"batchItemFailures": []}
    calls: list[str] = []
    monkeypatch.setattr(finalize, "write_back_results", lambda *args: calls.append("again"))
    assert write_back_results.handler(sqs_records([body]), context()) == {"batchItemFailures": []}
    assert calls == []


def test_a_job_counted_but_not_closed_is_written_back_once_its_redelivered_batch_closes_it(
    aws: dict[str, Any],
) -> None:
    from netremedy.dal import job_table
    from netremedy.logic import lifecycle
    from netremedy.logic.counting import record_results
    from netremedy.logic.finalize import finish_ended_job
    from netremedy.models.items import DeviceResultItem, JobItem

    # Given a job whose device is counted while its close has not happened (the worker died in between)
    job_table.put_new_job(
        aws["table"],
        JobItem(
            job_id="j1",
            status="pending",
            total_devices=1,
            created_at="2026-01-01T00:00:00.000Z",
            updated_at="2026-01-01T00:00:00.000Z",
            expires_at=4_102_444_800,  # 2100: a row past its expiry reads as gone
        ),
    )
    result = DeviceResultItem(
        job_id="j1",
        device_id="a",
        status="success",
        remediation="r",
        rollback="b",
        finished_at="t",
        expires_at=4_102_444_800,
    )
    job_table.commit_device_results(
        aws["table"],
        [result],
        "t",
        status=lifecycle.COUNTING_STATE,
        from_states=lifecycle.COUNTING_SOURCES,
    )
    # When a finalize message for it arrives before the close, the finalizer leaves it alone
    assert finish_ended_job(load_settings(), "j1") is None
    assert drain_queue(aws["finalize_url"]) == []
    # When the batch is delivered again, it closes the job and announces it once
    assert record_results(load_settings(), [result], {"j1"}).jobs_completed == ["j1"]
    announced = drain_queue(aws["finalize_url"])
    assert [json.loads(body) for body in announced] == [{"job_id": "j1"}]
    # Then the write-back writes the job's results as a completed job's
    assert write_back_results.handler(sqs_records(announced), context()) == {"batchItemFailures": []}
    summary = json.loads(
        boto3.client("s3").get_object(Bucket=aws["bucket"], Key="results/j1/summary.json")["Body"].read()
    )
    assert (summary["status"], summary["completed_devices"]) == ("completed", 1)
