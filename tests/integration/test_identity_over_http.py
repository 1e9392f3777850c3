"""Identity on the real local stack: the x-netremedy-caller header stands for the SigV4 principal, a job
belongs to the stable principal (the role of an assumed-role session), a header that names no principal is
refused as API Gateway refuses bad credentials, and Idempotency-Keys of different callers never meet."""

from typing import Any

import pytest
import requests

from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration

SESSION_A = "arn:aws:sts::123456789012:assumed-role/Ops/a"
SESSION_B = "arn:aws:sts::123456789012:assumed-role/Ops/b"
OTHER_ROLE = "arn:aws:sts::123456789012:assumed-role/Other/a"
DEVICE = {
    "device_id": "r1",
    "platform": "cisco_ios",
    "running_config": "hostname r1",
    "intended_config": "hostname r1-new",
}


def _post(stack: LocalStack, caller: str, key: str | None = None) -> requests.Response:
    headers = {"x-netremedy-caller": caller} | ({"Idempotency-Key": key} if key else {})
    return requests.post(
        f"{stack.api_url}/api/v1/batch/remediation",
        json={"device_configs": [DEVICE]},
        headers=headers,
        timeout=30,
    )


def _call(stack: LocalStack, method: str, path: str, caller: str) -> requests.Response:
    return requests.request(
        method, f"{stack.api_url}{path}", headers={"x-netremedy-caller": caller}, timeout=30
    )


def test_two_sessions_of_one_role_see_the_same_job_and_another_role_does_not(local_stack: LocalStack) -> None:
    # Given a job submitted from one session of the Ops role
    created = _post(local_stack, SESSION_A)
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]
    job = f"/api/v1/batch/jobs/{job_id}"
    # Then another session of Ops (the next CLI process) reads its status and results
    status = _call(local_stack, "GET", job, SESSION_B)
    assert status.status_code == 200 and status.json()["job_id"] == job_id
    results = _call(local_stack, "GET", f"{job}/results", SESSION_B)
    assert results.status_code == 200 and results.json()["job_id"] == job_id
    # And a session of another role finds no such job on any route, not even to cancel it
    for method, path in (("GET", job), ("GET", f"{job}/results"), ("DELETE", job)):
        other = _call(local_stack, method, path, OTHER_ROLE)
        assert other.status_code == 404 and other.json()["error"] == "job_not_found", (method, path)
    # While the role itself finds it from a third session: cancelled, or already finished (the job is small)
    cancel = _call(local_stack, "DELETE", job, "arn:aws:sts::123456789012:assumed-role/Ops/cli-3")
    answer = cancel.json()
    assert (cancel.status_code, answer.get("status") or answer.get("error")) in (
        (200, "cancelled"),
        (409, "job_finished"),
    ), cancel.text


def test_a_plain_caller_name_is_the_iam_user_of_the_local_account(local_stack: LocalStack) -> None:
    job_id = _post(local_stack, "alice").json()["job_id"]
    as_arn = _call(local_stack, "GET", f"/api/v1/batch/jobs/{job_id}", "arn:aws:iam::123456789012:user/alice")
    assert as_arn.status_code == 200 and as_arn.json()["job_id"] == job_id


@pytest.mark.parametrize(
    "caller", ["*", "arn:aws:iam::123456789012:user/*", "team#ci", "arn:aws:s3:::bucket", "x" * 65]
)
def test_a_caller_that_names_no_principal_is_refused_like_bad_credentials(
    local_stack: LocalStack, caller: str
) -> None:
    # Given the number of jobs before
    before = local_stack.job_count()
    # When a caller header names no IAM principal (the account-wide owner "*" among them)
    for response in (
        _post(local_stack, caller),
        _call(local_stack, "GET", "/api/v1/batch/jobs/00000000-0000-0000-0000-000000000000", caller),
    ):
        # Then API Gateway's answer to refused credentials: 403 with a message, nothing created or read
        assert response.status_code == 403, response.text
        body: dict[str, Any] = response.json()
        assert set(body) == {"message"} and "x-netremedy-caller" in body["message"]
    assert local_stack.job_count() == before


def test_idempotency_keys_that_joined_would_collide_give_two_jobs(local_stack: LocalStack) -> None:
    # Given two IAM users whose ARN and key, joined with "#", spell the same text (IAM paths may hold "#")
    first_caller, first_key = "arn:aws:iam::123456789012:user/ops", "ci/bot#42"
    second_caller, second_key = "arn:aws:iam::123456789012:user/ops#ci/bot", "42"
    assert f"{first_caller}#{first_key}" == f"{second_caller}#{second_key}"
    # When each posts with its own key
    first = _post(local_stack, first_caller, first_key)
    second = _post(local_stack, second_caller, second_key)
    # Then each gets its own job, and each retry its own job back
    assert first.status_code == second.status_code == 202
    assert first.json()["job_id"] != second.json()["job_id"]
    assert _post(local_stack, first_caller, first_key).json()["job_id"] == first.json()["job_id"]
    assert _post(local_stack, second_caller, second_key).json()["job_id"] == second.json()["job_id"]
    # And the second caller reads its own job, not the first one's
    job = _call(local_stack, "GET", f"/api/v1/batch/jobs/{first.json()['job_id']}", second_caller)
    assert job.status_code == 404
