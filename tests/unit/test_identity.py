"""A job belongs to a stable principal: the role behind an assumed-role session, else the caller's ARN; and an
Idempotency-Key is scoped to that principal without any way for two (principal, key) pairs to meet."""

import json
from typing import Any

import pytest

from netremedy.handlers import create_job, job_status
from netremedy.handlers.api import stable_principal
from tests.unit.events import context, http_event

DEVICES = [
    {
        "device_id": "r1",
        "platform": "cisco_ios",
        "running_config": "hostname r1",
        "intended_config": "hostname r1-new",
    }
]


def _post(caller: str | None, key: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Idempotency-Key": key} if key else None
    event = http_event(
        "POST", "/api/v1/batch/remediation", body={"device_configs": DEVICES}, headers=headers, caller=caller
    )
    response = create_job.handler(event, context("CreateJobFunction"))
    return response["statusCode"], json.loads(response["body"])


def _status(job_id: str, caller: str | None) -> int:
    event = http_event(
        "GET",
        f"/api/v1/batch/jobs/{job_id}",
        route="/api/v1/batch/jobs/{job_id}",
        path_parameters={"job_id": job_id},
        caller=caller,
    )
    status: int = job_status.handler(event, context("JobStatusFunction"))["statusCode"]
    return status


@pytest.mark.parametrize(
    ("user_arn", "owner"),
    [
        # Sessions of a role: the role (its path is not in the session ARN; role names are unique anyway).
        (
            "arn:aws:sts::123456789012:assumed-role/NetOps/botocore-session-1",
            "arn:aws:iam::123456789012:role/NetOps",
        ),
        (
            "arn:aws-cn:sts::123456789012:assumed-role/ops.ci/i-0abc",
            "arn:aws-cn:iam::123456789012:role/ops.ci",
        ),
        # Principals that are already stable stay as they are.
        ("arn:aws:iam::123456789012:user/netops", "arn:aws:iam::123456789012:user/netops"),
        ("arn:aws:iam::123456789012:user/division/netops", "arn:aws:iam::123456789012:user/division/netops"),
        ("arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root"),
        ("arn:aws:sts::123456789012:federated-user/bob", "arn:aws:sts::123456789012:federated-user/bob"),
    ],
)
def test_the_owner_is_the_stable_principal(user_arn: str, owner: str) -> None:
    assert stable_principal(user_arn) == owner


def test_two_sessions_of_one_role_share_its_jobs_and_other_callers_do_not_see_them(
    aws: dict[str, Any],
) -> None:
    # Given a job created from one session of the NetOps role
    status, created = _post("arn:aws:sts::123456789012:assumed-role/NetOps/botocore-session-1")
    assert status == 202
    job_id = created["job_id"]
    # Then another session of the same role (the next CLI command) reads it
    assert _status(job_id, "arn:aws:sts::123456789012:assumed-role/NetOps/botocore-session-2") == 200
    # And a session of another role, a user of the same name, and an unsigned request do not
    assert _status(job_id, "arn:aws:sts::123456789012:assumed-role/Other/botocore-session-1") == 404
    assert _status(job_id, "arn:aws:iam::123456789012:user/NetOps") == 404
    assert _status(job_id, None) == 404


def test_idempotency_keys_of_different_callers_never_meet(aws: dict[str, Any]) -> None:
    # Given two callers whose owner and key joined with "#" spell the same text
    _, first = _post("team", key="ci#42")
    _, second = _post("team#ci", key="42")
    # Then each has its own job, and a retry of either still finds its own
    assert first["job_id"] != second["job_id"]
    assert _post("team", key="ci#42")[1]["job_id"] == first["job_id"]
    assert _post("team#ci", key="42")[1]["job_id"] == second["job_id"]


def test_a_retry_from_another_session_of_the_role_gets_the_same_job(aws: dict[str, Any]) -> None:
    _, first = _post("arn:aws:sts::123456789012:assumed-role/NetOps/a", key="nightly-1")
    _, retry = _post("arn:aws:sts::123456789012:assumed-role/NetOps/b", key="nightly-1")
    assert retry["job_id"] == first["job_id"]
