"""The spec's workflow over HTTP: POST a batch, poll the status, read every device's remediation and rollback
(the whole page, page by page, one device, the bundle), plus the OpenAPI document and idempotent retries."""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

R1_RUNNING = """\
hostname r1
!
interface GigabitEthernet0/1
 description uplink
 ip address 10.0.0.1 255.255.255.0
!
ntp server 10.0.0.10
!
end
"""
R1_INTENDED = """\
hostname r1-new
!
interface GigabitEthernet0/1
 description uplink to core
 ip address 10.0.0.1 255.255.255.0
!
ntp server 10.0.0.11
!
end
"""
SW1_RUNNING = "hostname sw1\nfeature lacp\nvlan 10\n  name users\n"
SW1_INTENDED = "hostname sw1\nfeature lacp\nvlan 10\n  name staff\nvlan 20\n  name voice\n"

DEVICES = [
    {
        "device_id": "r1",
        "platform": "cisco_ios",
        "running_config": R1_RUNNING,
        "intended_config": R1_INTENDED,
    },
    {
        "device_id": "r2",
        "platform": "cisco_ios",
        "running_config": "hostname r2\n",
        "intended_config": "hostname r2\n",
    },
    {
        "device_id": "sw1",
        "platform": "cisco_nxos",
        "running_config": SW1_RUNNING,
        "intended_config": SW1_INTENDED,
    },
]
# hier_config's answers, line by line (indentation aside): deletions first, then additions, per section.
EXPECTED = {
    "r1": (
        [
            "no hostname r1",
            "no ntp server 10.0.0.10",
            "hostname r1-new",
            "interface GigabitEthernet0/1",
            "description uplink to core",
            "ntp server 10.0.0.11",
        ],
        [
            "no hostname r1-new",
            "no ntp server 10.0.0.11",
            "hostname r1",
            "interface GigabitEthernet0/1",
            "description uplink",
            "ntp server 10.0.0.10",
        ],
    ),
    "r2": ([], []),  # already as intended: nothing to do, nothing to roll back
    "sw1": (
        ["vlan 10", "no name users", "name staff", "vlan 20", "name voice"],
        ["no vlan 20", "vlan 10", "no name staff", "name users"],
    ),
}


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def completed_job(api: Api, devices: list[dict[str, Any]], **options: Any) -> tuple[str, dict[str, Any]]:
    job_id = api.submit(devices, **options)
    return job_id, api.wait(job_id)


def test_openapi_document_describes_every_route(api: Api) -> None:
    response = api.get("/api/v1/openapi.json")
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "netremedy"
    # The batch API's routes at least (the document may describe more).
    expected = {
        "/api/v1/batch/remediation": {"post"},
        "/api/v1/batch/jobs/{job_id}": {"delete", "get"},
        "/api/v1/batch/jobs/{job_id}/results": {"get"},
        "/api/v1/batch/jobs/{job_id}/results/{device_id}": {"get"},
        "/api/v1/batch/jobs/{job_id}/bundle": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(document["paths"].get(path, {})), (path, sorted(document["paths"]))
    accepted = document["paths"]["/api/v1/batch/remediation"]["post"]["responses"]["202"]
    ref = accepted["content"]["application/json"]["schema"]["$ref"]  # "#/components/schemas/<name>"
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert {"job_id", "total_devices"} <= set(schema["properties"]), schema


def test_a_batch_goes_from_post_to_remediation_and_rollback(api: Api) -> None:
    job_id, status = completed_job(api, DEVICES)
    assert status == {
        "job_id": job_id,
        "status": "completed",
        "progress": 100.0,
        "total_devices": 3,
        "completed_devices": 3,
        "failed_devices": 0,
        "compliant_devices": 1,
        "non_compliant_devices": 2,
        "held_devices": 0,
        "by_platform": {
            "cisco_ios": {"total": 2, "compliant": 1, "non_compliant": 1, "failed": 0, "held": 0},
            "cisco_nxos": {"total": 1, "compliant": 0, "non_compliant": 1, "failed": 0, "held": 0},
        },
        "error": None,
    }

    body = api.results(job_id)
    assert body["job_id"] == job_id and body["status"] == "completed" and body["next_token"] is None
    assert body["summary"] == {
        "total_devices": 3,
        "completed_devices": 3,
        "failed_devices": 0,
        "compliant_devices": 1,
        "non_compliant_devices": 2,
        "held_devices": 0,
        "by_platform": {
            "cisco_ios": {"total": 2, "compliant": 1, "non_compliant": 1, "failed": 0, "held": 0},
            "cisco_nxos": {"total": 1, "compliant": 0, "non_compliant": 1, "failed": 0, "held": 0},
        },
        "status": "completed",
    }
    assert [result["device_id"] for result in body["results"]] == ["r1", "r2", "sw1"]  # ordered by id
    for result in body["results"]:
        remediation, rollback = EXPECTED[result["device_id"]]
        assert result["status"] == "success" and "error" not in result, result
        assert lines(result["remediation"]) == remediation, result
        assert lines(result["rollback"]) == rollback, result
    # Exactly hier_config's text, indentation included, for the simplest case.
    assert body["results"][0]["remediation"].startswith("no hostname r1\n")
    assert body["results"][1]["remediation"] == "" and body["results"][1]["rollback"] == ""


def test_one_device_page_by_page_and_the_bundle(api: Api) -> None:
    job_id, status = completed_job(api, DEVICES)
    assert status["status"] == "completed"
    everything = api.results(job_id)["results"]

    one = api.get(f"/api/v1/batch/jobs/{job_id}/results/sw1")
    assert one.status_code == 200, one.text
    assert one.json() == everything[2]
    missing = api.get(f"/api/v1/batch/jobs/{job_id}/results/no-such-device")
    assert missing.status_code == 404 and missing.json()["error"] == "device_not_found", missing.text

    paged: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(len(DEVICES) + 1):
        page = api.results(job_id, limit=1, **({"next_token": token} if token else {}))
        paged += page["results"]
        token = page["next_token"]
        if token is None:
            break
    assert paged == everything

    # The bundle is written just after the job completes: 409 bundle_not_ready until then.
    deadline = time.monotonic() + 30
    while (bundle := api.get(f"/api/v1/batch/jobs/{job_id}/bundle")).status_code == 409:
        assert bundle.json()["error"] == "bundle_not_ready", bundle.text
        assert time.monotonic() < deadline, "the results bundle was not written within 30 s"
        time.sleep(0.5)
    assert bundle.status_code == 200, bundle.text
    link = bundle.json()
    assert link["format"] == "jsonl" and link["expires_in"] > 0
    download = requests.get(link["url"], timeout=60)  # pre-signed: no auth of ours
    assert download.status_code == 200, download.text[:500]
    assert [json.loads(line) for line in download.text.splitlines() if line] == everything


def test_a_finished_job_cannot_be_cancelled(api: Api) -> None:
    job_id, _ = completed_job(api, DEVICES[1:2])
    response = api.request("DELETE", f"/api/v1/batch/jobs/{job_id}")
    assert response.status_code == 409 and response.json()["error"] == "job_finished", response.text
    assert api.status(job_id)["status"] == "completed"


def test_a_retried_post_with_its_idempotency_key_gets_the_same_job(api: Api) -> None:
    headers = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    body = {"device_configs": DEVICES[:1]}
    answers = [api.post_batch(body, headers=headers) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [202, 202], [answer.text for answer in answers]
    assert answers[0].json() == answers[1].json()
    assert api.wait(answers[0].json()["job_id"])["status"] == "completed"
