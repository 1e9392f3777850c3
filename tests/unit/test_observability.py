"""Observability: EMF metrics counted once per device, a JobCompleted event on EventBridge for every ended job
(completed, cancelled, failed), and no configuration text in any log or metric line."""

import json
from typing import Any

import boto3
import pytest

from netremedy.handlers import cancel_job, create_job, remediate_devices, write_back_results
from tests.unit.events import context, drain_queue, http_event, sqs_records

SECRET = "enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0"


def _submit(devices: list[dict[str, str]]) -> str:
    response = create_job.handler(
        http_event("POST", "/api/v1/batch/remediation", body={"device_configs": devices}), context()
    )
    job_id: str = json.loads(response["body"])["job_id"]
    return job_id


def _emf(output: str) -> list[dict[str, Any]]:
    documents = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


@pytest.fixture
def job_events(aws: dict[str, Any]) -> str:
    """A rule on the default bus that copies netremedy's events to a queue, as a subscriber would."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="job-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events")
    events.put_rule(
        Name="jobs", EventPattern=json.dumps({"source": ["netremedy"], "detail-type": ["JobCompleted"]})
    )
    events.put_targets(Rule="jobs", Targets=[{"Id": "q", "Arn": arn}])
    return url


DEVICES = [
    {
        "device_id": "r1",
        "platform": "cisco_ios",
        "running_config": f"hostname r1\n{SECRET}",
        "intended_config": "hostname r1-new\nntp server 10.0.0.1",
    },
    {"device_id": "r2", "platform": "cisco_ios", "running_config": "hostname r2", "intended_config": ""},
]


def test_worker_emits_device_metrics_once_even_when_the_batch_is_delivered_twice(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _submit(DEVICES)
    bodies = drain_queue(aws["queue_url"])
    capsys.readouterr()
    remediate_devices.handler(sqs_records(bodies), context())
    first = capsys.readouterr().out
    remediate_devices.handler(sqs_records(bodies), context())  # the redelivery records nothing new
    second = capsys.readouterr().out
    (metrics,) = _emf(first)
    assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "netremedy"
    # r1: 4 remediation lines (no hostname, no enable secret, hostname, ntp server); r2 fails (empty intended)
    assert (metrics["DevicesSucceeded"], metrics["DevicesFailed"], metrics["RemediationLines"]) == (
        [1.0],
        [1.0],
        [4.0],
    )
    assert all("DevicesSucceeded" not in document for document in _emf(second))
    assert SECRET not in first + second and "$1$mERr$" not in first + second


def test_a_completed_job_is_announced_on_eventbridge_with_its_counts_and_duration(
    aws: dict[str, Any], job_events: str, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = _submit(DEVICES)
    remediate_devices.handler(sqs_records(drain_queue(aws["queue_url"])), context())
    capsys.readouterr()
    assert write_back_results.handler(sqs_records(drain_queue(aws["finalize_url"])), context()) == {
        "batchItemFailures": []
    }
    (event,) = [json.loads(body) for body in drain_queue(job_events)]
    assert (event["source"], event["detail-type"]) == ("netremedy", "JobCompleted")
    detail = event["detail"]
    assert {
        key: detail[key]
        for key in (
            "job_id",
            "status",
            "source",
            "total_devices",
            "completed_devices",
            "failed_devices",
            "results_prefix",
        )
    } == {
        "job_id": job_id,
        "status": "completed",
        "source": "api",
        "total_devices": 2,
        "completed_devices": 1,
        "failed_devices": 1,
        "results_prefix": f"results/{job_id}/",
    }
    assert detail["duration_seconds"] >= 0
    (metrics,) = _emf(capsys.readouterr().out)
    assert metrics["JobDuration"] == [detail["duration_seconds"]]


def test_a_cancelled_job_is_announced_too(aws: dict[str, Any], job_events: str) -> None:
    job_id = _submit(DEVICES)
    event = http_event(
        "DELETE",
        f"/api/v1/batch/jobs/{job_id}",
        route="/api/v1/batch/jobs/{job_id}",
        path_parameters={"job_id": job_id},
    )
    assert cancel_job.handler(event, context())["statusCode"] == 200
    write_back_results.handler(sqs_records(drain_queue(aws["finalize_url"])), context())
    (announced,) = [json.loads(body)["detail"] for body in drain_queue(job_events)]
    assert (announced["job_id"], announced["status"], announced["results_prefix"]) == (
        job_id,
        "cancelled",
        None,
    )


def test_a_job_that_could_not_be_fanned_out_is_announced_as_failed(
    aws: dict[str, Any], job_events: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netremedy.dal import device_queue

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("queue unavailable")

    monkeypatch.setattr(device_queue, "send_batches", refuse)
    response = create_job.handler(
        http_event("POST", "/api/v1/batch/remediation", body={"device_configs": DEVICES}), context()
    )
    assert response["statusCode"] == 503
    job_id = json.loads(response["body"])["job_id"]
    write_back_results.handler(sqs_records(drain_queue(aws["finalize_url"])), context())
    (announced,) = [json.loads(body)["detail"] for body in drain_queue(job_events)]
    assert (announced["job_id"], announced["status"]) == (job_id, "failed")
    assert "fan-out to the device queue failed" in announced["error"]


def test_a_failed_write_back_is_logged_by_type_and_place_never_by_its_message(
    aws: dict[str, Any], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netremedy.logic import finalize
    from netremedy.observability import logger

    def quoting_failure(*args: Any, **kwargs: Any) -> None:
        # An exception whose message quotes a device's text, as a parser's error can
        raise ValueError(f"cannot read {SECRET}")

    job_id = _submit(DEVICES)
    remediate_devices.handler(sqs_records(drain_queue(aws["queue_url"])), context())
    monkeypatch.setattr(finalize, "write_back_results", quoting_failure)
    records = sqs_records(drain_queue(aws["finalize_url"]))
    caplog.clear()
    # When the only record of the batch fails
    response = write_back_results.handler(records, context())
    # Then it is answered as a failure to retry (SQS redelivers it, then dead-letters it), not raised: Lambda
    # would log the raised error's message, which quotes the record's exception
    assert response == {"batchItemFailures": [{"itemIdentifier": records["Records"][0]["messageId"]}]}
    # And the failure is logged, as the service's formatter writes it, by job, type and place only
    lines = [json.loads(logger.registered_formatter.format(record)) for record in caplog.records]
    (logged,) = [line for line in lines if line["message"] == "record failed; it will be retried"]
    raise_line = quoting_failure.__code__.co_firstlineno + 2
    assert {key: logged[key] for key in ("job_id", "message_id", "error_type", "raised_at")} == {
        "job_id": job_id,
        "message_id": records["Records"][0]["messageId"],
        "error_type": "ValueError",
        "raised_at": f"test_observability.py:{raise_line} in quoting_failure",
    }
    assert not any(SECRET in line or "$1$mERr$" in line for line in map(json.dumps, lines))


def test_a_worker_record_that_fails_is_logged_by_type_and_place_never_by_its_message(
    aws: dict[str, Any], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netremedy.observability import logger

    def quoting_failure(*args: Any, **kwargs: Any) -> None:
        # An infrastructure error whose message quotes a device's text (the record comes back later)
        raise RuntimeError(f"cannot store {SECRET}")

    _submit(DEVICES)
    records = sqs_records(drain_queue(aws["queue_url"]))
    monkeypatch.setattr(remediate_devices, "remediate_device", quoting_failure)
    caplog.clear()
    response = remediate_devices.handler(records, context())
    assert response == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records["Records"]]}
    lines = [json.loads(logger.registered_formatter.format(record)) for record in caplog.records]
    logged = [line for line in lines if line["message"] == "record failed; it will be retried"]
    raise_line = quoting_failure.__code__.co_firstlineno + 2
    assert [{key: line[key] for key in ("message_id", "error_type", "raised_at")} for line in logged] == [
        {
            "message_id": record["messageId"],
            "error_type": "RuntimeError",
            "raised_at": f"test_observability.py:{raise_line} in quoting_failure",
        }
        for record in records["Records"]
    ]
    assert not any(SECRET in line or "$1$mERr$" in line for line in map(json.dumps, lines))
