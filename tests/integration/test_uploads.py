"""Big jobs through an upload on the real local stack: one `netremedy submit` of 1,000 medium corpus devices
is one job whose every result is hier_config's own; an upload is its caller's only; a malformed or refused
upload fails its job saying why."""

import contextlib
import io
import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from hier_config import Platform, WorkflowRemediation, get_hconfig

from netremedy_cli.main import main
from tests.conftest import corpus_pairs, require_corpus
from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration

ALICE = "alice"
BOB = "bob"
FLEET_SIZE = 1_000


def _medium_pairs() -> list[tuple[str, Path]]:
    """The corpus's medium pairs (100-1,500 running lines, bench/corpus.py's classes)."""
    return [
        (platform, case)
        for platform, case in corpus_pairs()
        if 100 <= len((case / "running.conf").read_text(encoding="utf-8").splitlines()) <= 1500
    ]


def _hier_config_direct(platform_name: str, running: str, intended: str) -> tuple[str, str] | None:
    """hier_config itself, as test_corpus_fidelity computes the reference; None where it refuses the pair."""
    try:
        workflow = WorkflowRemediation(
            get_hconfig(Platform[platform_name.upper()], running),
            get_hconfig(Platform[platform_name.upper()], intended),
        )
        remediation = "\n".join(
            c.cisco_style_text() for c in workflow.remediation_config.all_children_sorted()
        )
        rollback = "\n".join(c.cisco_style_text() for c in workflow.rollback_config.all_children_sorted())
    except Exception:  # noqa: BLE001 - hier_config refuses the pair: the service must fail that device
        return None
    return remediation, rollback


def _all_results(stack: LocalStack, job_id: str, caller: str) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        response = requests.get(
            f"{stack.api_url}/api/v1/batch/jobs/{job_id}/results",
            params={"next_token": token} if token else None,
            headers={"x-netremedy-caller": caller},
            timeout=120,
        )
        assert response.status_code == 200, response.text
        page = response.json()
        results += page["results"]
        token = page["next_token"]
        if token is None:
            return results


def _wait(stack: LocalStack, job_id: str, caller: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = _status(stack, job_id, caller)
        if status["status"] in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
            return status
        time.sleep(0.5)


def _status(stack: LocalStack, job_id: str, caller: str) -> dict[str, Any]:
    response = requests.get(
        f"{stack.api_url}/api/v1/batch/jobs/{job_id}", headers={"x-netremedy-caller": caller}, timeout=30
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _new_upload(stack: LocalStack, caller: str) -> dict[str, Any]:
    response = requests.post(
        f"{stack.api_url}/api/v1/batch/uploads", json={}, headers={"x-netremedy-caller": caller}, timeout=30
    )
    assert response.status_code == 201, response.text
    form: dict[str, Any] = response.json()
    return form


def _post_file(form: dict[str, Any], manifest: bytes) -> requests.Response:
    return requests.post(form["url"], data=form["fields"], files={"file": ("m.json", manifest)}, timeout=60)


def _start(stack: LocalStack, upload_id: str, caller: str) -> requests.Response:
    return requests.post(
        f"{stack.api_url}/api/v1/batch/remediation",
        json={"manifest_upload": upload_id},
        headers={"x-netremedy-caller": caller},
        timeout=60,
    )


@pytest.mark.corpus
def test_one_submit_of_1000_medium_devices_is_one_job_equal_to_hier_config(
    stack: LocalStack, tmp_path: Path
) -> None:
    # Given a fleet directory of 1,000 devices cycling the corpus's medium pairs: far over one request's 5 MiB
    require_corpus()
    pairs = _medium_pairs()
    assert pairs, "the corpus has no medium pairs"
    fleet = tmp_path / "fleet"
    cases: dict[str, tuple[str, Path]] = {}
    for index, (platform, case) in zip(range(FLEET_SIZE), itertools.cycle(pairs), strict=False):
        device = fleet / f"dev{index:04d}"
        device.mkdir(parents=True)
        for name in ("running.conf", "intended.conf"):
            (device / name).write_bytes((case / name).read_bytes())
        (device / "platform").write_text(platform)
        cases[device.name] = (platform, case)
    size = sum(path.stat().st_size for path in fleet.rglob("*.conf"))
    assert size > 5 * 1024 * 1024
    jobs_before = stack.job_count()
    # When it is submitted with one `netremedy submit`
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["submit", str(fleet), "--url", stack.api_url, "--caller", ALICE])
    assert code == 0, stderr.getvalue()
    job_id = stdout.getvalue().strip().splitlines()[-1].removeprefix("Job id: ")
    # Then the CLI said it uploaded, and exactly one job exists for the whole fleet
    assert f"Uploaded {FLEET_SIZE:,} devices" in stderr.getvalue()
    assert stack.job_count() == jobs_before + 1
    # (hier_config's own output for each pair is computed while the stack works on the job)
    expected = {case: _hier_config_direct(platform, *_texts(case)) for platform, case in pairs}
    status = _wait(stack, job_id, ALICE, timeout=1500)
    assert (status["status"], status["total_devices"]) == ("completed", FLEET_SIZE), status
    # And every device's result is hier_config's own output for its pair
    results = {result["device_id"]: result for result in _all_results(stack, job_id, ALICE)}
    assert sorted(results) == sorted(cases)
    for device_id, (_, case) in cases.items():
        result, reference = results[device_id], expected[case]
        if reference is None:
            assert result["status"] == "failed", device_id
            continue
        assert result["status"] == "success", (device_id, result.get("error"))
        assert (result["remediation"], result["rollback"]) == reference, device_id


def _texts(case: Path) -> tuple[str, str]:
    return (case / "running.conf").read_text(encoding="utf-8"), (case / "intended.conf").read_text(
        encoding="utf-8"
    )


def _manifest(device_id: str = "r1", **overrides: Any) -> bytes:
    device = {
        "device_id": device_id,
        "platform": "cisco_ios",
        "running_config": "hostname r1\nntp server 10.0.0.1",
        "intended_config": "hostname r1\nntp server 10.0.0.2",
    } | overrides
    return json.dumps({"device_configs": [device]}).encode()


def test_another_caller_cannot_start_a_job_from_my_upload(stack: LocalStack) -> None:
    # Given Alice's uploaded manifest
    form = _new_upload(stack, ALICE)
    assert _post_file(form, _manifest()).status_code == 204
    # When Bob starts a job from it, then there is no such upload for him
    refused = _start(stack, form["upload_id"], BOB)
    assert refused.status_code == 404
    assert refused.json()["details"] == [
        {"field": "manifest_upload", "message": "no such upload (or not the caller's)"}
    ]
    # And Alice's job from it is hers alone: it completes for her, Bob sees no such job
    started = _start(stack, form["upload_id"], ALICE)
    assert started.status_code == 202 and started.json()["total_devices"] is None
    job_id = started.json()["job_id"]
    status = _wait(stack, job_id, ALICE, timeout=120)
    assert (status["status"], status["total_devices"], status["completed_devices"]) == ("completed", 1, 1)
    other = requests.get(
        f"{stack.api_url}/api/v1/batch/jobs/{job_id}", headers={"x-netremedy-caller": BOB}, timeout=30
    )
    assert other.status_code == 404
    # And the upload starts one job only
    again = _start(stack, form["upload_id"], ALICE)
    assert again.status_code == 409 and again.json()["job_id"] == job_id


def test_a_malformed_upload_fails_its_job_with_field_paths(stack: LocalStack) -> None:
    # Given an uploaded manifest whose device has an unknown platform
    form = _new_upload(stack, ALICE)
    assert _post_file(form, _manifest(platform="cisco_nope")).status_code == 204
    # When a job is started from it
    started = _start(stack, form["upload_id"], ALICE)
    assert started.status_code == 202
    # Then the job fails, saying the manifest was refused and where
    status = _wait(stack, started.json()["job_id"], ALICE, timeout=120)
    assert status["status"] == "failed"
    assert status["error"].startswith("the uploaded manifest was refused: ")
    assert "device_configs[0].platform" in [detail["field"] for detail in status["error_details"]]


def test_a_file_outside_the_forms_size_range_is_refused_by_s3_and_its_job_says_so(stack: LocalStack) -> None:
    # Given an upload form (1 byte to 1 GiB), when a file outside its range is posted (here an empty one)
    form = _new_upload(stack, ALICE)
    refused = _post_file(form, b"")
    # Then S3 refuses it with its own error, and stores nothing
    assert refused.status_code == 400 and "<Code>EntityTooSmall</Code>" in refused.text
    # And a job started from that upload fails, saying nothing was uploaded and why that may be
    started = _start(stack, form["upload_id"], ALICE)
    status = _wait(stack, started.json()["job_id"], ALICE, timeout=120)
    assert status["status"] == "failed"
    assert "nothing was uploaded with this upload's form" in status["error"]
    assert "size limit" in status["error"]
