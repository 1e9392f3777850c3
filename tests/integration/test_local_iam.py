"""IAM on the local stack bites: each function runs as its own role, created from the template, so a policy
that lacks an action the code needs fails locally with AccessDenied, in that function only."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from netremedy_local.iam import role_name, versioned
from netremedy_local.launcher import StackLauncher
from netremedy_local.provision import ResolvedStack
from netremedy_local.template import load_stack_model, load_yaml
from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import LocalStack

DEVICE = {
    "device_id": "r1",
    "platform": "cisco_ios",
    "running_config": "hostname r1",
    "intended_config": "hostname r1-new",
}


def _without(template: dict[str, Any], function_id: str, action: str) -> None:
    """Drop ``action`` from the inline statements of ``function_id``'s policies (and what it leaves empty)."""
    properties = template["Resources"][function_id]["Properties"]
    before = json.dumps(properties["Policies"])
    for policy in properties["Policies"]:
        if isinstance(policy, dict) and "Statement" in policy:
            for statement in policy["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                statement["Action"] = [name for name in actions if name != action]
            policy["Statement"] = [statement for statement in policy["Statement"] if statement["Action"]]
    properties["Policies"] = [policy for policy in properties["Policies"] if policy.get("Statement") != []]
    assert json.dumps(properties["Policies"]) != before, f"{function_id} has no {action} to remove"


@pytest.fixture(scope="module")
def narrowed_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of template.yaml in which the worker may not put items and the status function may not read
    them (JSON is YAML: the intrinsics are in their long form already)."""
    root = tmp_path_factory.mktemp("narrowed")
    template = load_yaml(PROJECT_ROOT / "template.yaml")
    _without(template, "RemediateDevicesFunction", "dynamodb:PutItem")
    _without(template, "JobStatusFunction", "dynamodb:GetItem")
    (root / "template.yaml").write_text(json.dumps(template))
    return root


def _stack(launcher: StackLauncher) -> LocalStack:
    description = launcher.start()
    return LocalStack(
        api_url=description.api_url,
        aws_endpoint=description.aws_endpoint,
        region=description.region,
        resources=description.resources,
        log_path=launcher.log_path,
    )


@pytest.fixture
def narrowed_stack(
    narrowed_project: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[LocalStack]:
    launcher = StackLauncher(
        tmp_path / "state",
        {"LOCAL_WORKERS": "1", **getattr(request, "param", {})},
        project_root=narrowed_project,
        start_timeout=90,
    )
    try:
        yield _stack(launcher)
    finally:
        launcher.stop()


def _wait_for_log(stack: LocalStack, text: str, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = stack.log_path.read_text(errors="replace")
        if text in log:
            return log
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not in the stack's log:\n{stack.log_path.read_text()[-3000:]}")


def test_a_missing_permission_fails_that_function_with_access_denied(narrowed_stack: LocalStack) -> None:
    # Given the stack on a template whose worker lacks dynamodb:PutItem and status function dynamodb:GetItem
    # When a job is submitted (the create function's own policy is intact)
    job_id = narrowed_stack.submit([DEVICE])
    # Then the worker's batch fails with AccessDenied, naming its role, the action and the table
    log = _wait_for_log(narrowed_stack, "RemediateDevicesFunction failed on a batch of 1: ClientError")
    worker_role = role_name("netremedy-local", "RemediateDevicesFunctionRole")
    assert (
        f"AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/{worker_role}/"
        "RemediateDevicesFunction is not authorized to perform: dynamodb:PutItem on resource: "
        "arn:aws:dynamodb:us-east-1:123456789012:table/"
    ) in log
    # And the device is not counted: its message stays queued for a retry, as Lambda would leave it
    results = requests.get(f"{narrowed_stack.api_url}/api/v1/batch/jobs/{job_id}/results", timeout=30)
    assert results.status_code == 200, results.text
    assert results.json()["summary"]["completed_devices"] == 0
    assert results.json()["results"] == []
    assert narrowed_stack.queue_depth() == 1
    # And in the API process, shared by every API function, only the status function is refused: the
    # results function above read the same job row under its own role
    status = requests.get(f"{narrowed_stack.api_url}/api/v1/batch/jobs/{job_id}", timeout=30)
    assert status.status_code >= 500, status.text


@pytest.mark.parametrize("narrowed_stack", [{"LOCAL_IAM": "off"}], indirect=True)
def test_local_iam_off_lets_the_same_template_pass(narrowed_stack: LocalStack) -> None:
    # Given the same narrowed template with enforcement off (for debugging)
    # When a job is submitted
    job_id = narrowed_stack.submit([DEVICE])
    # Then every function may do anything: the job completes and its status reads
    assert narrowed_stack.wait(job_id, timeout=120)["completed_devices"] == 1
    assert "IAM not enforced" in narrowed_stack.log_path.read_text()


def _resolver(stack: LocalStack) -> ResolvedStack:
    """The intrinsics of the template, resolved from the running stack's resources (as provision did)."""
    resolved = ResolvedStack(region=stack.region, stack_name="netremedy-local", parameters={})
    model = load_stack_model(PROJECT_ROOT / "template.yaml", stack.region, "netremedy-local")
    resolved.parameters.update(model.parameters)
    sqs = stack.client("sqs")
    for logical_id, resource in model.resources.items():
        physical = stack.resources.get(logical_id)
        if physical is None:
            continue
        resolved.refs[logical_id] = physical
        if resource["Type"] == "AWS::SQS::Queue":
            arn = sqs.get_queue_attributes(QueueUrl=physical, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            resolved.attributes[(logical_id, "Arn")] = arn
            resolved.attributes[(logical_id, "QueueName")] = physical.rsplit("/", 1)[-1]
        elif resource["Type"] == "AWS::DynamoDB::Table":
            table = stack.client("dynamodb").describe_table(TableName=physical)["Table"]
            resolved.attributes[(logical_id, "Arn")] = table["TableArn"]
        elif resource["Type"] == "AWS::S3::Bucket":
            resolved.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{physical}"
    return resolved


def test_each_function_runs_with_exactly_its_template_role(local_stack: LocalStack) -> None:
    # Given the stack on the unchanged template, which runs the whole suite with enforcement on
    assert "each function as its own role" in local_stack.log_path.read_text()
    model = load_stack_model(PROJECT_ROOT / "template.yaml", local_stack.region, "netremedy-local")
    resolver = _resolver(local_stack)
    iam = local_stack.client("iam")
    for function_id in model.functions:
        role_id = model.resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        expected = resolver.resolve(model.resources[role_id]["Properties"])
        name = role_name("netremedy-local", role_id)
        # Then its role's inline policies are the template's, SAM's policy templates expanded
        actual = {
            policy_name: iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
            for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]
        }
        assert actual == {
            policy["PolicyName"]: versioned(policy["PolicyDocument"])
            for policy in expected.get("Policies", [])
        }, function_id
        # And its managed policies and trust policy are the template's
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        assert sorted(policy["PolicyArn"] for policy in attached) == sorted(
            expected.get("ManagedPolicyArns", [])
        )
        assert (
            iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
            == expected["AssumeRolePolicyDocument"]
        )
