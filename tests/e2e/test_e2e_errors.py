"""What goes wrong, over HTTP: a failing device next to good ones, refused requests (nothing stored) and
unknown jobs."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

GOOD = {
    "device_id": "edge1",
    "platform": "cisco_ios",
    "running_config": "hostname edge1\n",
    "intended_config": "hostname edge1-new\n",
}
EMPTY_INTENDED = {
    "device_id": "edge2",
    "platform": "cisco_ios",
    "running_config": "hostname edge2\n",
    "intended_config": "",
}


def test_a_failing_device_does_not_stop_the_others(api: Api) -> None:
    job_id = api.submit([GOOD, EMPTY_INTENDED])
    status = api.wait(job_id)
    assert status["status"] == "completed" and status["progress"] == 100.0, status
    assert (status["completed_devices"], status["failed_devices"]) == (1, 1), status

    body = api.results(job_id)
    assert body["summary"] == {
        "total_devices": 2,
        "completed_devices": 1,
        "failed_devices": 1,
        "compliant_devices": 0,
        "non_compliant_devices": 1,
        "held_devices": 0,
        "by_platform": {
            "cisco_ios": {"total": 2, "compliant": 0, "non_compliant": 1, "failed": 1, "held": 0},
        },
        "status": "completed",
    }
    good, bad = body["results"]
    assert good == {
        "device_id": "edge1",
        "status": "success",
        "remediation": "no hostname edge1\nhostname edge1-new",
        "rollback": "no hostname edge1-new\nhostname edge1",
        "compliant": False,
        "risks": [],
    }
    assert bad["device_id"] == "edge2" and bad["status"] == "failed", bad
    assert "allow_empty_intended" in bad["error"] and "remediation" not in bad, bad


def test_allow_empty_intended_lets_an_empty_config_through(api: Api) -> None:
    job_id = api.submit([EMPTY_INTENDED], allow_empty_intended=True)
    assert api.wait(job_id)["failed_devices"] == 0
    (result,) = api.results(job_id)["results"]
    assert result == {
        "device_id": "edge2",
        "status": "success",
        "remediation": "no hostname edge2",
        "rollback": "hostname edge2",
        "compliant": False,
        "risks": [],
    }


def test_an_unknown_platform_is_a_422_naming_the_field_and_stores_nothing(api: Api) -> None:
    key = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    refused = api.post_batch({"device_configs": [dict(GOOD, platform="cisco_iosx")]}, headers=key)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "validation_error" and "job_id" not in body, body
    assert [detail["field"] for detail in body["details"]] == ["device_configs[0].platform"], body
    assert "cisco_ios" in body["details"][0]["message"]  # the valid names are listed

    # Plain HTTP cannot list jobs, but the idempotency key shows it: had the refused request been recorded,
    # the same key with another body would be refused as reused. It is not, and then it is.
    accepted = api.post_batch({"device_configs": [GOOD]}, headers=key)
    assert accepted.status_code == 202, accepted.text
    reused = api.post_batch({"device_configs": [EMPTY_INTENDED]}, headers=key)
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_key_reused", reused.text


def test_bad_bodies_are_clear_4xx(api: Api) -> None:
    truncated = api.request(
        "POST",
        "/api/v1/batch/remediation",
        data=b'{"device_configs": [',
        headers={"Content-Type": "application/json"},
    )
    assert truncated.status_code == 400 and truncated.json()["error"] == "invalid_json", truncated.text
    form = api.request(
        "POST",
        "/api/v1/batch/remediation",
        data=b"device_configs=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415 and form.json()["error"] == "unsupported_media_type", form.text
    empty = api.post_batch({"device_configs": []})
    assert empty.status_code == 422 and empty.json()["details"][0]["field"] == "device_configs", empty.text


def test_an_unknown_job_is_a_404(api: Api) -> None:
    job_id = str(uuid.uuid4())
    for method, path in (("GET", ""), ("GET", "/results"), ("GET", "/results/edge1"), ("DELETE", "")):
        response = api.request(method, f"/api/v1/batch/jobs/{job_id}{path}")
        assert response.status_code == 404, (method, path, response.text)
        body = response.json()
        assert body["error"] == "job_not_found" and job_id in body["message"], (method, path, body)
