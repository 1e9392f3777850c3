"""infra/events/ holds a sample event for every function of template.yaml (`sam local invoke <LogicalId> -e
infra/events/<LogicalId>.json`); each one, fed to the handler the template names (in-process, moto), does the
real work, so the samples cannot drift from what the handlers accept."""

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest

from netremedy.models.messages import DeviceMessage
from netremedy.models.settings import load_settings
from netremedy_local.runtime import load_handler
from netremedy_local.template import RouteSpec, load_stack_model
from tests.conftest import PROJECT_ROOT
from tests.unit.events import context, drain_queue, sqs_records

EVENTS_DIR = PROJECT_ROOT / "infra" / "events"
MODEL = load_stack_model(PROJECT_ROOT / "template.yaml", "us-east-1", "x")
SAMPLES = sorted(path.name for path in EVENTS_DIR.glob("*.json"))
# Placeholders the sample files carry; each test puts a real job id and the mocked bucket in their place.
SAMPLE_JOB_ID = "0b5e0c2e-6f1a-4b7e-9c3d-2a1f5e8d7c64"
SAMPLE_BUCKET = "netremedy-resultbucket-1q2w3e4r5t6y"
NO_FAILURES: dict[str, list[Any]] = {"batchItemFailures": []}
SESSION_SAMPLES = ("CreateJobFunction.json", "JobStatusFunction.json")

Scenario = Callable[[dict[str, Any], pytest.MonkeyPatch], None]


def _function_of(sample: str) -> str:
    """`JobResultsFunction-bundle.json` -> `JobResultsFunction`: a suffix names one of several routes."""
    return sample.removesuffix(".json").split("-", 1)[0]


def _load(sample: str, job_id: str | None = None, bucket: str | None = None) -> dict[str, Any]:
    # Plain text replacement reaches every copy: path, requestContext.path, pathParameters and JSON-in-JSON
    # bodies.
    text = (EVENTS_DIR / sample).read_text(encoding="utf-8")
    if job_id is not None:
        text = text.replace(SAMPLE_JOB_ID, job_id)
    if bucket is not None:
        text = text.replace(SAMPLE_BUCKET, bucket)
    event: dict[str, Any] = json.loads(text)
    return event


def _invoke(sample: str, event: dict[str, Any]) -> Any:
    """Call the handler template.yaml names for the sample's function, as Lambda would import it."""
    logical_id = _function_of(sample)
    handler = load_handler(MODEL.functions[logical_id].handler)
    return handler(event, context(logical_id))


def _http(sample: str, job_id: str | None = None) -> tuple[int, dict[str, Any]]:
    response = _invoke(sample, _load(sample, job_id))
    body: dict[str, Any] = json.loads(response["body"])
    return int(response["statusCode"]), body


def _create_job() -> str:
    status, body = _http("CreateJobFunction.json")
    assert status == 202, body
    job_id: str = body["job_id"]
    return job_id


def _run_devices(aws: dict[str, Any], job_id: str) -> None:
    """Compute the job's queued devices with the worker, so the job completes (and is announced)."""
    result = _invoke("RemediateDevicesFunction.json", sqs_records(drain_queue(aws["queue_url"])))
    assert result == NO_FAILURES
    assert _http("JobStatusFunction.json", job_id)[1]["status"] == "completed"


def _completed_job(aws: dict[str, Any], *, written_back: bool = True) -> str:
    job_id = _create_job()
    _run_devices(aws, job_id)
    if written_back:  # the bundle exists only once the finalize message has been handled
        for body in drain_queue(aws["finalize_url"]):
            assert _invoke("WriteBackResultsFunction.json", sqs_records([body])) == NO_FAILURES
    return job_id


def _json_bodies(bodies: list[str]) -> list[Any]:
    # Compared parsed: the samples must carry the same document the code sends, whatever its spacing.
    return [json.loads(body) for body in bodies]


def _read_json(bucket: str, key: str) -> Any:
    return json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


# ---- one scenario per sample file: set up what the event refers to, invoke, check the effect ----


def _create(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    status, body = _http("CreateJobFunction.json")
    assert status == 202 and set(body) == {"job_id", "total_devices"} and body["total_devices"] == 2
    queued = [DeviceMessage.model_validate_json(message) for message in drain_queue(aws["queue_url"])]
    assert sorted(d.device_id for m in queued for d in m.devices) == ["router1", "router2"]
    assert {m.job_id for m in queued} == {body["job_id"]}


def _status(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # The samples create and read the job from two sessions of one role: the role owns the job.
    sessions = {_load(sample)["requestContext"]["identity"]["userArn"] for sample in SESSION_SAMPLES}
    assert len(sessions) == 2 and len({arn.rsplit("/", 1)[0] for arn in sessions}) == 1
    job_id = _create_job()
    status, body = _http("JobStatusFunction.json", job_id)
    assert status == 200
    counters = {"progress", "total_devices", "completed_devices", "failed_devices"}
    assert {"job_id", "status"} | counters <= body.keys()
    assert (body["job_id"], body["status"], body["total_devices"]) == (job_id, "pending", 2)


def _results(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _completed_job(aws, written_back=False)
    status, body = _http("JobResultsFunction.json", job_id)
    assert status == 200 and {"job_id", "status", "results", "summary", "next_token"} <= set(body)
    assert (body["status"], body["next_token"]) == ("completed", None)
    assert [(r["device_id"], r["status"]) for r in body["results"]] == [
        ("router1", "success"),
        ("router2", "success"),
    ]


def _device(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _completed_job(aws, written_back=False)
    status, body = _http("JobResultsFunction-device.json", job_id)
    assert status == 200
    assert set(body) == {"device_id", "status", "remediation", "rollback", "compliant", "risks"}
    assert (body["device_id"], body["status"]) == ("router1", "success")
    assert "hostname router1-new" in body["remediation"]


def _bundle(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _completed_job(aws)
    status, body = _http("JobResultsFunction-bundle.json", job_id)
    assert status == 200 and {"url", "expires_in", "format"} <= set(body)
    assert body["format"] == "jsonl" and body["url"].startswith("https://") and body["expires_in"] > 0


def _cancel(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _create_job()
    status, body = _http("CancelJobFunction.json", job_id)
    assert status == 200 and (body["job_id"], body["status"]) == (job_id, "cancelled")


def _api_docs(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    status, body = _http("ApiDocsFunction.json")
    assert status == 200 and body["openapi"].startswith("3.")
    assert "/api/v1/batch/remediation" in body["paths"]


def _report(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _completed_job(aws, written_back=False)
    status, body = _http("JobReportFunction.json", job_id)
    assert status == 200 and (body["job_id"], body["devices_with_changes"], body["truncated"]) == (
        job_id,
        2,
        False,
    )
    by_line = {change["line"]: change for change in body["changes"]}
    assert by_line["hostname router1-new"]["device_ids"] == ["router1"]
    assert by_line["no hostname router2"]["device_count"] == 1


def _single_device(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    status, body = _http("SingleDeviceFunction.json")
    assert status == 200
    assert set(body) == {"device_id", "status", "remediation", "rollback", "diff", "compliant", "risks"}
    assert body["remediation"] == "interface GigabitEthernet0/1\n  description uplink to core"
    assert body["diff"] == (
        "interface GigabitEthernet0/1\n  - description uplink\n  + description uplink to core"
    )


def _platforms(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    status, body = _http("SingleDeviceFunction-platforms.json")
    assert status == 200
    platforms = {platform["name"]: platform for platform in body["platforms"]}
    assert (
        platforms["cisco_ios"]["support"] == "platform driver"
        and platforms["hp_comware5"]["negation_prefix"] == "undo "
    )


def _worker(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _create_job()
    event = _load("RemediateDevicesFunction.json", job_id)
    # The sample's body is exactly what the create handler queues: one message holding both devices.
    assert [event["Records"][0]["body"]] == drain_queue(aws["queue_url"])
    assert _invoke("RemediateDevicesFunction.json", event) == NO_FAILURES
    status = _http("JobStatusFunction.json", job_id)[1]
    assert (status["status"], status["completed_devices"], status["failed_devices"]) == ("completed", 2, 0)


def _dead_letter(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _create_job()
    assert _invoke("DeadLetterFunction.json", _load("DeadLetterFunction.json", job_id)) == NO_FAILURES
    status = _http("JobStatusFunction.json", job_id)[1]
    assert (status["completed_devices"], status["failed_devices"]) == (0, 2)  # every device of the message
    code, device = _http("JobResultsFunction-device.json", job_id)
    assert code == 200 and device["status"] == "failed" and "after 5 attempts" in device["error"]


def _drop(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    event = _load("StartDroppedJobsFunction.json", bucket=aws["bucket"])
    notification = json.loads(event["Records"][0]["body"])["Records"][0]["s3"]
    key = unquote_plus(notification["object"]["key"])
    assert key == "incoming/nightly fleet.json"  # '+' in the event is a space in the key, as AWS encodes it
    manifest = json.loads(_load("CreateJobFunction.json")["body"])  # the same two devices, inline
    s3 = boto3.client("s3")
    s3.put_object(Bucket=aws["bucket"], Key=key, Body=json.dumps(manifest).encode())
    assert _invoke("StartDroppedJobsFunction.json", event) == NO_FAILURES
    accepted = _read_json(aws["bucket"], "accepted/nightly fleet.json")
    assert accepted["total_devices"] == 2 and accepted["source"] == f"s3://{aws['bucket']}/{key}"
    queued = [DeviceMessage.model_validate_json(body) for body in drain_queue(aws["queue_url"])]
    assert sorted(d.device_id for m in queued for d in m.devices) == ["router1", "router2"]
    assert {m.job_id for m in queued} == {accepted["job_id"]}


def _write_back(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _completed_job(aws, written_back=False)
    event = _load("WriteBackResultsFunction.json", job_id)
    # The sample's body is the announcement the worker sent when the job completed.
    assert _json_bodies(drain_queue(aws["finalize_url"])) == _json_bodies([event["Records"][0]["body"]])
    assert _invoke("WriteBackResultsFunction.json", event) == NO_FAILURES
    summary = _read_json(aws["bucket"], f"results/{job_id}/summary.json")
    assert (summary["status"], summary["total_devices"], summary["completed_devices"]) == ("completed", 2, 2)


def _fan_out(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # A POST above this many devices is stored and fanned out asynchronously, through the fan-out queue.
    monkeypatch.setenv("INLINE_FANOUT_MAX_DEVICES", "1")
    load_settings.cache_clear()
    job_id = _create_job()
    assert drain_queue(aws["queue_url"]) == []
    event = _load("FanOutJobsFunction.json", job_id)
    assert _json_bodies(drain_queue(aws["fanout_url"])) == _json_bodies([event["Records"][0]["body"]])
    assert _invoke("FanOutJobsFunction.json", event) == NO_FAILURES
    queued = [DeviceMessage.model_validate_json(body) for body in drain_queue(aws["queue_url"])]
    assert sorted(d.device_id for m in queued for d in m.devices) == ["router1", "router2"]
    assert {m.job_id for m in queued} == {job_id}


def _sweep(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # A deadline of 0 s makes the new job overdue at once, so the sweeper has a job to finish.
    monkeypatch.setenv("JOB_DEADLINE_SECONDS", "0")
    load_settings.cache_clear()
    job_id = _create_job()
    report = _invoke("SweepJobsFunction.json", _load("SweepJobsFunction.json"))
    assert report == {"jobs_finished": [job_id], "jobs_failed": [], "devices_failed": 2}
    assert _http("JobStatusFunction.json", job_id)[1]["status"] == "completed"


def _create_upload(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    status, body = _http("CreateUploadFunction.json")
    assert status == 201, body
    # The form is for one exact key under uploads/, in the format asked for, bound to the role that asked
    assert body["fields"]["key"] == f"uploads/{body['upload_id']}.jsonl"
    assert body["url"].endswith(aws["bucket"]) or aws["bucket"] in body["url"]
    row = boto3.client("dynamodb").get_item(
        TableName=aws["table"], Key={"pk": {"S": f"UPLOAD#{body['upload_id']}"}, "sk": {"S": "UPLOAD"}}
    )["Item"]
    assert row["owner"]["S"] == "arn:aws:iam::123456789012:role/NetOps"


def _list_jobs(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Another session of the role that created the job lists it: its pending jobs, newest first.
    job_id = _create_job()
    status, body = _http("ListJobsFunction.json")
    assert status == 200 and body["next_token"] is None
    listed = [(job["job_id"], job["status"], job["total_devices"]) for job in body["jobs"]]
    assert listed == [(job_id, "pending", 2)]


SCENARIOS: dict[str, Scenario] = {
    "CreateJobFunction.json": _create,
    "CreateUploadFunction.json": _create_upload,
    "JobStatusFunction.json": _status,
    "ListJobsFunction.json": _list_jobs,
    "JobResultsFunction.json": _results,
    "JobResultsFunction-device.json": _device,
    "JobResultsFunction-bundle.json": _bundle,
    "CancelJobFunction.json": _cancel,
    "ApiDocsFunction.json": _api_docs,
    "JobReportFunction.json": _report,
    "SingleDeviceFunction.json": _single_device,
    "SingleDeviceFunction-platforms.json": _platforms,
    "RemediateDevicesFunction.json": _worker,
    "DeadLetterFunction.json": _dead_letter,
    "StartDroppedJobsFunction.json": _drop,
    "WriteBackResultsFunction.json": _write_back,
    "FanOutJobsFunction.json": _fan_out,
    "SweepJobsFunction.json": _sweep,
}


def _check_wiring(logical_id: str, event: dict[str, Any]) -> None:
    """The sample is the kind of event the template wires to this function (route, queue or schedule)."""
    if "httpMethod" in event:
        # A REST API Lambda proxy event (payload 1.0): the route is the resource, the stage is in the path.
        method, resource, context = event["httpMethod"], event["resource"], event["requestContext"]
        stage = context["stage"]
        assert RouteSpec(method, resource, logical_id, stage) in MODEL.routes, (
            f"{logical_id}: {method} {resource}"
        )
        assert (context["httpMethod"], context["resourcePath"]) == (method, resource)
        assert context["path"] == f"/{stage}{event['path']}"
        assert event["multiValueHeaders"] == {name: [value] for name, value in event["headers"].items()}
        assert context["identity"]["userArn"].startswith("arn:aws:"), "API Gateway verified a SigV4 principal"
    elif "Records" in event:
        queues = {source.queue_id for source in MODEL.event_sources if source.function_id == logical_id}
        for record in event["Records"]:
            assert record["eventSource"] == "aws:sqs"
            # CloudFormation names a queue <stack>-<LogicalId>-<suffix>.
            assert any(f"-{queue}-" in record["eventSourceARN"] for queue in queues), record["eventSourceARN"]
    else:
        assert any(schedule.function_id == logical_id for schedule in MODEL.schedules)
        assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")


@pytest.mark.parametrize("logical_id", sorted(MODEL.functions))
def test_every_function_has_a_sample_event(logical_id: str) -> None:
    assert any(_function_of(sample) == logical_id for sample in SAMPLES), (
        f"no sample event for {logical_id}: add infra/events/{logical_id}.json"
    )


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_sample_event_drives_its_handler(
    sample: str, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    logical_id = _function_of(sample)
    assert logical_id in MODEL.functions, f"{sample} names no function of template.yaml"
    assert sample in SCENARIOS, f"{sample} has no scenario in this test: add one"
    _check_wiring(logical_id, _load(sample))
    SCENARIOS[sample](aws, monkeypatch)
