"""Compliance counters on the real local stack, with corpus devices: the status, the results summary, the
fleet report and summary.json count compliant, non-compliant and failed devices per platform exactly as the
devices' own ``compliant`` flags say, and a duplicate delivery of every message changes none of it."""

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from netremedy.models.messages import DeviceMessage, DevicePayload
from tests.conftest import corpus_pairs, require_corpus
from tests.integration.conftest import LocalStack

pytestmark = [pytest.mark.integration, pytest.mark.corpus]

PLATFORMS = ("cisco_ios", "arista_eos", "juniper_junos")
PER_PLATFORM = 2
COUNTERS = ("compliant_devices", "non_compliant_devices", "held_devices", "by_platform")


def _size(case: Path) -> int:
    return sum((case / name).stat().st_size for name in ("running.conf", "intended.conf"))


def _fleet() -> list[dict[str, str]]:
    """Per platform, the smallest corpus pairs twice: as they are (changes, mostly) and with the running
    config as intended (compliant); one IOS device whose running config holds a NUL byte (it fails), and one
    whose change removes AAA (a lock-out risk: held, as the job holds risky devices)."""
    require_corpus()
    devices: list[dict[str, str]] = []
    for platform in PLATFORMS:
        # The smallest pairs: a copy of a device's message (below) must fit in one SQS message.
        cases = sorted((case for name, case in corpus_pairs() if name == platform), key=_size)[:PER_PLATFORM]
        assert len(cases) == PER_PLATFORM, f"the corpus has too few {platform} pairs"
        for case in cases:
            running = (case / "running.conf").read_text()
            intended = (case / "intended.conf").read_text()
            base = {"platform": platform, "running_config": running}
            devices.append(base | {"device_id": f"{platform}.{case.name}"[:120], "intended_config": intended})
            devices.append(
                base | {"device_id": f"same.{platform}.{case.name}"[:120], "intended_config": running}
            )
    devices.append(
        {
            "device_id": "broken",
            "platform": "cisco_ios",
            "running_config": "hostname a\n\x00",
            "intended_config": "hostname b",
        }
    )
    devices.append(
        {
            "device_id": "risky",
            "platform": "cisco_ios",
            "running_config": "hostname r\naaa new-model\n",
            "intended_config": "hostname r\n",
        }
    )
    return devices


def _get(stack: LocalStack, path: str) -> dict[str, Any]:
    response = requests.get(f"{stack.api_url}{path}", timeout=120)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _summary_json(stack: LocalStack, job_id: str, timeout: float = 60) -> dict[str, Any]:
    s3 = stack.client("s3")
    deadline = time.monotonic() + timeout
    while True:
        try:
            body = s3.get_object(Bucket=stack.resources["ResultBucket"], Key=f"results/{job_id}/summary.json")
            document: dict[str, Any] = json.loads(body["Body"].read())
            return document
        except s3.exceptions.NoSuchKey:
            assert time.monotonic() < deadline, "summary.json never appeared"
            time.sleep(0.3)


def _expected(devices: list[dict[str, str]], results: list[dict[str, Any]]) -> dict[str, Any]:
    """The counters as the per-device results say, grouped by the platform each device was sent with."""
    platform_of = {device["device_id"]: device["platform"] for device in devices}
    kinds: Counter[tuple[str, str]] = Counter()
    for result in results:
        platform = platform_of[result["device_id"]]
        if result["status"] == "failed":
            kind = "failed"
        else:
            kind = "compliant" if result["compliant"] else "non_compliant"
        kinds[(platform, kind)] += 1
        if result["status"] == "held":  # held is a part of non-compliant
            kinds[(platform, "held")] += 1
    by_platform = {
        platform: {
            "total": sum(kinds[(platform, kind)] for kind in ("compliant", "non_compliant", "failed")),
            "compliant": kinds[(platform, "compliant")],
            "non_compliant": kinds[(platform, "non_compliant")],
            "failed": kinds[(platform, "failed")],
            "held": kinds[(platform, "held")],
        }
        for platform in sorted(PLATFORMS)
    }
    return {
        "compliant_devices": sum(counts["compliant"] for counts in by_platform.values()),
        "non_compliant_devices": sum(counts["non_compliant"] for counts in by_platform.values()),
        "held_devices": sum(counts["held"] for counts in by_platform.values()),
        "by_platform": by_platform,
    }


def _copies(job_id: str, devices: list[dict[str, str]]) -> list[str]:
    return [
        DeviceMessage(
            job_id=job_id,
            devices=[
                {
                    "device_id": device["device_id"],
                    "payload": DevicePayload(
                        platform=device["platform"],
                        running_config=device["running_config"],
                        intended_config=device["intended_config"],
                    ),
                }
            ],
        ).model_dump_json(exclude_none=True)
        for device in devices
    ]


def test_compliance_counters_match_the_devices_and_survive_duplicate_delivery(stack: LocalStack) -> None:
    # Given a fleet of corpus devices: compliant ones, ones with changes, and one that fails
    devices = _fleet()
    job_id = stack.submit(devices, options={"on_risk": "hold"})
    # When the job completes
    status = stack.wait(job_id)
    assert status["status"] == "completed"
    # Then the counters are those of the devices' own compliant flags, per platform, and add up to the total
    results = stack.results(job_id)
    expected = _expected(devices, results["results"])
    assert {key: status[key] for key in COUNTERS} == expected
    assert (status["failed_devices"], expected["by_platform"]["cisco_ios"]["failed"]) == (1, 1)
    assert expected["compliant_devices"] >= len(PLATFORMS) * PER_PLATFORM  # every running-as-intended copy
    assert expected["non_compliant_devices"] > expected["held_devices"] >= 1  # "risky" at least is held
    assert {result["device_id"]: result["status"] for result in results["results"]}["risky"] == "held"
    assert (
        status["compliant_devices"] + status["non_compliant_devices"] + status["failed_devices"]
        == status["total_devices"]
        == len(devices)
    )
    assert status["completed_devices"] == status["compliant_devices"] + status["non_compliant_devices"]
    # And the results summary, the fleet report and summary.json say the same
    report = _get(stack, f"/api/v1/batch/jobs/{job_id}/report")
    written = _summary_json(stack, job_id)
    for body in (results["summary"], report, written):
        assert {key: body[key] for key in COUNTERS} == expected
    assert report["devices_without_changes"] == expected["compliant_devices"]

    # When every device's message is delivered again (SQS delivers at least once)
    sqs = stack.client("sqs")
    for body in _copies(job_id, devices):
        sqs.send_message(QueueUrl=stack.resources["DeviceQueue"], MessageBody=body)
    deadline = time.monotonic() + 120
    while stack.queue_depth() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert stack.queue_depth() == 0
    # Then nothing changes: the status, counters and breakdown included
    assert stack.status(job_id) == status
