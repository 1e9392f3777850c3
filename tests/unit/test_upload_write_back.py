"""A job started from an uploaded manifest is an API job for the write-back: its caller reads devices from the
API, so it gets the bundle, the report and the summary, and no object (one PUT) per device."""

import json
from typing import Any

import boto3

from netremedy.dal import job_table
from netremedy.logic.finalize import write_back_results
from netremedy.models.items import DeviceResultItem, JobItem
from netremedy.models.settings import load_settings

LATER = 4_102_444_800  # 2100-01-01


def test_an_upload_job_is_written_back_without_an_object_per_device(aws: dict[str, Any]) -> None:
    # Given a completed job of two devices started from an upload
    job = JobItem(
        job_id="j1",
        status="running",
        total_devices=2,
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
        expires_at=LATER,
        source="upload:u1",
    )
    job_table.put_new_job(aws["table"], job)
    results = [
        DeviceResultItem(
            job_id="j1",
            device_id=device_id,
            status="success",
            platform="cisco_ios",
            remediation=f"hostname {device_id}",
            rollback="hostname old",
            remediation_lines=1,
            compliant=False,
            risks=[],
            finished_at="2026-01-01T00:00:01.000Z",
            expires_at=LATER,
        )
        for device_id in ("a", "b")
    ]
    job_table.commit_device_results(
        aws["table"], results, "2026-01-01T00:00:02.000Z", status="completed", from_states=("running",)
    )
    # When its results are written back
    summary = write_back_results(load_settings(), job.model_copy(update={"status": "completed"}))
    # Then the bundle holds both devices, and no object was written per device
    s3 = boto3.client("s3")
    bundle = s3.get_object(Bucket=aws["bucket"], Key="results/j1/results.jsonl")["Body"].read().decode()
    assert [json.loads(line)["remediation"] for line in bundle.splitlines()] == ["hostname a", "hostname b"]
    assert summary["devices_prefix"] is None
    assert "Contents" not in s3.list_objects_v2(Bucket=aws["bucket"], Prefix="results/j1/devices/")
