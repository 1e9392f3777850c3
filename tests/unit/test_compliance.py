"""Compliance counters: counted once with each device's result, per platform, and reported by the status, the
results summary, the fleet report and summary.json."""

import io
import json
from typing import Any

import boto3
from rich.console import Console

from netremedy.dal import job_table
from netremedy.handlers import (
    create_job,
    fail_dead_letters,
    job_report,
    job_results,
    job_status,
    remediate_devices,
    write_back_results,
)
from netremedy.logic import lifecycle
from netremedy.logic.counting import record_results
from netremedy.models.items import DeviceResultItem, JobItem, job_counter_increments
from netremedy.models.settings import load_settings
from netremedy_cli import output
from tests.unit.events import context, drain_queue, http_event, sqs_records

# 2100-01-01: rows past their expiry read as gone.
LATER = 4_102_444_800


def _job(aws: dict[str, Any], job_id: str, total: int) -> None:
    job_table.put_new_job(
        aws["table"],
        JobItem(
            job_id=job_id,
            status="pending",
            total_devices=total,
            created_at="t",
            updated_at="t",
            expires_at=LATER,
        ),
    )


def _result(device_id: str, status: str, platform: str | None, compliant: bool | None) -> DeviceResultItem:
    return DeviceResultItem.model_validate(
        {
            "job_id": "j1",
            "device_id": device_id,
            "status": status,
            "platform": platform,
            "compliant": compliant,
            "remediation": "" if compliant else "no ip domain lookup",
            "error": "bad" if status == "failed" else None,
            "finished_at": "t",
            "expires_at": LATER,
        }
    )


# Two IOS devices compliant, one IOS and one EOS with changes, one EOS held, one EOS failure, and a dead
# letter whose platform is unknown.
FLEET = [
    _result("ios1", "success", "cisco_ios", True),
    _result("ios2", "success", "cisco_ios", True),
    _result("ios3", "success", "cisco_ios", False),
    _result("eos1", "success", "arista_eos", False),
    _result("eos2", "held", "arista_eos", False),
    _result("eos3", "failed", "arista_eos", None),
    _result("lost", "failed", None, None),
]


def _counters(job: JobItem) -> tuple[int, ...]:
    return (
        job.completed_devices,
        job.failed_devices,
        job.compliant_devices,
        job.non_compliant_devices,
        job.held_devices,
    )


def test_each_result_adds_to_one_compliance_counter_and_its_platforms() -> None:
    # When the fleet's results are turned into counter increments
    increments = job_counter_increments(FLEET)
    # Then held counts as completed and non-compliant, failures by platform (unknown when unreadable)
    assert increments == {
        "completed_devices": 5,
        "failed_devices": 2,
        "compliant_devices": 2,
        "non_compliant_devices": 3,
        "held_devices": 1,
        "platform#cisco_ios#compliant": 2,
        "platform#cisco_ios#non_compliant": 1,
        "platform#arista_eos#non_compliant": 2,
        "platform#arista_eos#held": 1,
        "platform#arista_eos#failed": 1,
        "platform#unknown#failed": 1,
    }


def test_counters_and_breakdown_are_counted_once_whatever_is_redelivered(aws: dict[str, Any]) -> None:
    # Given a job of the 7 devices, 4 of them already counted
    _job(aws, "j1", len(FLEET))
    record_results(load_settings(), FLEET[:4], {"j1"})
    # When the whole fleet is delivered (the 4 again, the first now a failure), and then once more
    record_results(load_settings(), [FLEET[0].model_copy(update={"status": "failed"}), *FLEET[1:]], {"j1"})
    record_results(load_settings(), FLEET, {"j1"})
    # Then every device counts once, as first recorded, and the counters add up to the total
    job = job_table.get_job(aws["table"], "j1")
    assert job is not None and job.status == "completed"
    assert _counters(job) == (5, 2, 2, 3, 1)
    assert job.compliant_devices + job.non_compliant_devices + job.failed_devices == job.total_devices
    assert job.platform_counts == {
        "cisco_ios": {"compliant": 2, "non_compliant": 1},
        "arista_eos": {"non_compliant": 2, "held": 1, "failed": 1},
        "unknown": {"failed": 1},
    }


def test_a_job_row_from_before_the_counters_reads_as_zero_and_counts_on(aws: dict[str, Any]) -> None:
    # Given a job row written before the compliance counters existed, one device already counted
    boto3.client("dynamodb").put_item(
        TableName=aws["table"],
        Item={
            "pk": {"S": "JOB#old"},
            "sk": {"S": "JOB"},
            "job_id": {"S": "old"},
            "status": {"S": "running"},
            "total_devices": {"N": "3"},
            "completed_devices": {"N": "1"},
            "failed_devices": {"N": "0"},
            "created_at": {"S": "t"},
            "updated_at": {"S": "t"},
            "expires_at": {"N": str(LATER)},
        },
    )
    # When it is read, Then the new counters are 0 and the breakdown empty
    before = job_table.get_job(aws["table"], "old")
    assert before is not None and _counters(before) == (1, 0, 0, 0, 0) and before.platform_counts == {}
    status = _http(job_status.handler, "/api/v1/batch/jobs/{job_id}", "old")
    assert (status["compliant_devices"], status["non_compliant_devices"], status["by_platform"]) == (0, 0, {})
    # When two more devices are counted, Then ADD creates the attributes the row lacked
    job_table.commit_device_results(
        aws["table"],
        [
            FLEET[0].model_copy(update={"job_id": "old"}),
            FLEET[5].model_copy(update={"job_id": "old"}),
        ],
        "t",
        status=lifecycle.COUNTING_STATE,
        from_states=lifecycle.COUNTING_SOURCES,
    )
    after = job_table.get_job(aws["table"], "old")
    assert after is not None and _counters(after) == (2, 1, 1, 0, 0)
    assert after.platform_counts == {"cisco_ios": {"compliant": 1}, "arista_eos": {"failed": 1}}


def _http(handler: Any, route: str, job_id: str) -> dict[str, Any]:
    path = route.replace("{job_id}", job_id)
    event = http_event("GET", path, route=route, path_parameters={"job_id": job_id})
    response = handler(event, context())
    assert response["statusCode"] == 200, response["body"]
    body: dict[str, Any] = json.loads(response["body"])
    return body


def _device(device_id: str, platform: str, running: str, intended: str) -> dict[str, str]:
    return {
        "device_id": device_id,
        "platform": platform,
        "running_config": running,
        "intended_config": intended,
    }


def test_status_summary_report_and_summary_json_carry_the_same_numbers(aws: dict[str, Any]) -> None:
    # Given a job of two compliant devices, two with changes (IOS and NX-OS) and one that fails (NUL byte)
    devices = [
        _device("ios-ok", "cisco_ios", "hostname a\nip domain lookup", "hostname a\nip domain lookup"),
        _device("ios-change", "cisco_ios", "hostname b", "hostname b\nno ip domain lookup"),
        _device("nxos-ok", "cisco_nxos", "hostname c\nfeature ssh", "hostname c\nfeature ssh"),
        _device("nxos-change", "cisco_nxos", "hostname d", "hostname d2"),
        _device("nxos-bad", "cisco_nxos", "hostname e\x00", "hostname e"),
    ]
    created = create_job.handler(
        http_event("POST", "/api/v1/batch/remediation", body={"device_configs": devices}), context()
    )
    job_id = json.loads(created["body"])["job_id"]
    # When the workers process it and its completion is written back
    assert remediate_devices.handler(sqs_records(drain_queue(aws["queue_url"])), context()) == {
        "batchItemFailures": []
    }
    assert write_back_results.handler(sqs_records(drain_queue(aws["finalize_url"])), context()) == {
        "batchItemFailures": []
    }
    # Then the status, the results summary, the fleet report and summary.json all say the same
    expected = {
        "compliant_devices": 2,
        "non_compliant_devices": 2,
        "held_devices": 0,
        "by_platform": {
            "cisco_ios": {"total": 2, "compliant": 1, "non_compliant": 1, "failed": 0, "held": 0},
            "cisco_nxos": {"total": 3, "compliant": 1, "non_compliant": 1, "failed": 1, "held": 0},
        },
    }
    status = _http(job_status.handler, "/api/v1/batch/jobs/{job_id}", job_id)
    summary = _http(job_results.handler, "/api/v1/batch/jobs/{job_id}/results", job_id)["summary"]
    report = _http(job_report.handler, "/api/v1/batch/jobs/{job_id}/report", job_id)
    stored = boto3.client("s3").get_object(Bucket=aws["bucket"], Key=f"results/{job_id}/summary.json")
    written = json.loads(stored["Body"].read())
    for body in (status, summary, report, written):
        assert {key: body[key] for key in expected} == expected
    assert (status["completed_devices"], status["failed_devices"]) == (4, 1)
    # And the counters agree with the devices' own compliant flags
    results = _http(job_results.handler, "/api/v1/batch/jobs/{job_id}/results", job_id)["results"]
    flags = {result["device_id"]: result.get("compliant") for result in results}
    assert flags == {
        "ios-ok": True,
        "ios-change": False,
        "nxos-ok": True,
        "nxos-change": False,
        "nxos-bad": None,
    }
    assert (report["devices_without_changes"], report["devices_with_changes"]) == (2, 2)


STATUS = {
    "job_id": "job-1",
    "status": "completed",
    "progress": 100.0,
    "total_devices": 7,
    "completed_devices": 6,
    "failed_devices": 1,
    "compliant_devices": 3,
    "non_compliant_devices": 3,
    "held_devices": 1,
    "by_platform": {
        "arista_eos": {"total": 3, "compliant": 0, "non_compliant": 2, "failed": 1, "held": 1},
        "cisco_ios": {"total": 4, "compliant": 3, "non_compliant": 1, "failed": 0, "held": 0},
    },
    "error": None,
}


def _printed(render: Any, body: dict[str, Any]) -> str:
    buffer = io.StringIO()
    render(Console(file=buffer, width=120, color_system=None), body)
    return buffer.getvalue()


def _rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line[1:-1].split("│")] for line in text.splitlines() if line.startswith("│")
    ]


def test_netremedy_status_shows_compliant_changes_held_and_each_platform() -> None:
    # When the CLI renders a status with the counters
    text = _printed(output.render_status, STATUS)
    # Then the grid splits the completed devices into compliant, changes (held left out) and held
    grid = [line.split() for line in text.splitlines()[:10]]
    assert ["completed", "6"] in grid and ["compliant", "3"] in grid
    assert ["changes", "2"] in grid and ["held", "1"] in grid and ["failed", "1"] in grid
    # And one table row per platform
    assert _rows(text) == [
        ["arista_eos", "3", "0", "1", "1", "1"],
        ["cisco_ios", "4", "3", "1", "0", "0"],
    ]


def test_a_server_without_the_counters_shows_the_status_as_before() -> None:
    old = {key: STATUS[key] for key in ("job_id", "status", "progress", "total_devices")} | {
        "completed_devices": 6,
        "failed_devices": 1,
        "error": None,
    }
    text = _printed(output.render_status, old)
    assert "compliant" not in text and "held" not in text and _rows(text) == []
    assert output.compliance_caption(old) == ""


def test_wait_shows_the_counters_in_the_bar_and_the_results_caption() -> None:
    # Given a job that is running, then completed
    running = STATUS | {"status": "running", "completed_devices": 2, "compliant_devices": 2}
    answers = iter([running, STATUS])
    buffer = io.StringIO()
    # When --wait follows it
    final = output.watch_job(
        lambda: next(answers), Console(file=buffer, width=160, color_system=None), interval=0
    )
    # Then the bar's last state counts compliant, changes, held and failed
    assert final == STATUS
    assert "3 compliant 2 changes 1 held 1 failed" in buffer.getvalue().splitlines()[-1]
    # And the results caption below the table says the same
    summary = {key: STATUS[key] for key in STATUS if key.endswith("_devices")} | {"status": "completed"}
    text = _printed(
        output.render_results, {"job_id": "job-1", "status": "completed", "summary": summary, "results": []}
    )
    caption = " ".join(text.split("┘")[-1].split())  # rich wraps a caption to the table's width
    assert caption == "7 devices: 6 succeeded (3 compliant, 2 with changes, 1 held), 1 failed"


def test_a_remediation_hier_config_cannot_read_back_is_counted_not_a_failed_report(
    aws: dict[str, Any],
) -> None:
    # Given a job whose one device changes a banner whose body repeats a line (the negation repeats it at the
    # top level, which hier_config refuses to parse back), and a device with an ordinary change
    banner = "hostname a\nbanner login ^C\n*****\n TEST\n*****\n^C\n"
    devices = [
        _device("banner", "cisco_ios", banner, banner.replace("^C", "^") + "snmp-server location SFO"),
        _device("plain", "cisco_ios", "hostname b", "hostname b2"),
    ]
    created = create_job.handler(
        http_event("POST", "/api/v1/batch/remediation", body={"device_configs": devices}), context()
    )
    job_id = json.loads(created["body"])["job_id"]
    remediate_devices.handler(sqs_records(drain_queue(aws["queue_url"])), context())
    # When its fleet report is asked for
    report = _http(job_report.handler, "/api/v1/batch/jobs/{job_id}/report", job_id)
    # Then both devices have changes, the banner one is said to be left out of the lines, the other's are in
    assert (report["devices_with_changes"], report["devices_not_analysed"]) == (2, 1)
    assert report["non_compliant_devices"] == 2
    assert {change["line"] for change in report["changes"]} >= {"hostname b2"}
    assert all(change["device_ids"] == ["plain"] for change in report["changes"])
    caption = output.report_caption(report)
    assert "1 device with changes hier_config cannot read back (not in the table)" in caption


def test_dead_letters_count_under_their_platform_when_the_message_names_it(aws: dict[str, Any]) -> None:
    # Given a job of two devices: one queued with its payload inline, one claim-checked to S3
    _job(aws, "j1", 2)
    inline = {
        "job_id": "j1",
        "devices": [
            {
                "device_id": "eos1",
                "payload": {"platform": "arista_eos", "running_config": "a", "intended_config": "b"},
            }
        ],
    }
    claimed = {"job_id": "j1", "devices": [{"device_id": "big", "payload_key": "payloads/j1/big.json"}]}
    # When both messages end in the dead-letter queue
    bodies = [json.dumps(inline), json.dumps(claimed)]
    response = fail_dead_letters.handler(sqs_records(bodies, receive_count=5), context())
    # Then both devices fail, the inline one under its platform and the other under "unknown"
    assert response == {"batchItemFailures": []}
    job = job_table.get_job(aws["table"], "j1")
    assert job is not None and (job.status, job.failed_devices) == ("completed", 2)
    assert job.platform_counts == {"arista_eos": {"failed": 1}, "unknown": {"failed": 1}}
