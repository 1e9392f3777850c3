"""template.yaml is the whole deployed system: it lints, SAM accepts it, and it matches the code."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from netremedy.models.settings import required_variables
from netremedy_local.template import load_stack_model, load_yaml, translate
from tests.conftest import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "template.yaml"
SAM = PROJECT_ROOT / ".venv-sam" / "bin" / "sam"
MODEL = load_stack_model(TEMPLATE, "us-east-1", "infra-test")
VPC_ENDPOINTS = ["vpce-0a1b2c3d4e5f60718", "vpce-0f9e8d7c6b5a40312"]
NO_VALUE = object()


class _Deployed:
    """The translated template as CloudFormation would deploy it with these parameter values: parameters,
    conditions, Fn::If, Fn::Equals/Not/Contains and AWS::NoValue resolved (the rest left as it is)."""

    def __init__(self, **values: str) -> None:
        self.cfn = translate(TEMPLATE, "us-east-1", "infra-test", parameter_values=dict(values))
        self.parameters: dict[str, Any] = {}
        for name, spec in self.cfn["Parameters"].items():
            value = str(values.get(name, spec.get("Default", "")))
            self.parameters[name] = value.split(",") if spec["Type"] == "CommaDelimitedList" else value
        self.conditions = {name: self.resolve(rule) for name, rule in self.cfn.get("Conditions", {}).items()}

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [value for value in (self.resolve(item) for item in node) if value is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Ref"}:
            if node["Ref"] == "AWS::NoValue":
                return NO_VALUE
            return self.parameters.get(node["Ref"], node)
        if set(node) == {"Fn::If"}:
            condition, if_true, if_false = node["Fn::If"]
            return self.resolve(if_true if self.conditions[condition] else if_false)
        if set(node) == {"Fn::Equals"}:
            left, right = self.resolve(node["Fn::Equals"])
            return left == right
        if set(node) == {"Fn::Not"}:
            return not self.resolve(node["Fn::Not"][0])
        if set(node) == {"Fn::Contains"}:
            values, value = self.resolve(node["Fn::Contains"])
            return value in values
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: self.resolve(resource)
            for logical_id, resource in self.cfn["Resources"].items()
            if resource["Type"] == kind
        }

    def rules_hold(self) -> bool:
        return all(
            self.resolve(assertion["Assert"])
            for rule in self.cfn.get("Rules", {}).values()
            if self.resolve(rule.get("RuleCondition", True))
            for assertion in rule["Assertions"]
        )


def test_cfn_lint_passes() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    run = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


def test_sam_validate_lint_passes() -> None:
    sam = str(SAM) if SAM.exists() else shutil.which("sam")
    if sam is None:
        pytest.skip("the SAM CLI is not installed (`make test` installs it into .venv-sam/)")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    run = subprocess.run(
        [sam, "validate", "--lint", "--template", str(TEMPLATE), "--region", "us-east-1"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=PROJECT_ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "is a valid SAM Template" in run.stdout + run.stderr


@pytest.mark.parametrize("logical_id", sorted(MODEL.functions))
def test_every_handler_resolves_to_a_callable_in_the_package(logical_id: str) -> None:
    handler = MODEL.functions[logical_id].handler
    module_name, _, attribute = handler.rpartition(".")
    # In a fresh interpreter, as Lambda imports it, with only the template's variables set
    code = f"import importlib; f = getattr(importlib.import_module({module_name!r}), {attribute!r}); assert callable(f)"
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT / "functions",
    )
    assert run.returncode == 0, run.stderr


def test_the_api_routes_are_the_contracts_paths() -> None:
    routes = {(route.method, route.path): route.function_id for route in MODEL.routes}
    assert routes == {
        ("POST", "/api/v1/batch/remediation"): "CreateJobFunction",
        ("POST", "/api/v1/batch/uploads"): "CreateUploadFunction",
        ("GET", "/api/v1/batch/jobs/{job_id}"): "JobStatusFunction",
        ("GET", "/api/v1/batch/jobs"): "ListJobsFunction",
        ("GET", "/api/v1/batch/jobs/{job_id}/results"): "JobResultsFunction",
        ("GET", "/api/v1/batch/jobs/{job_id}/results/{device_id}"): "JobResultsFunction",
        ("GET", "/api/v1/batch/jobs/{job_id}/bundle"): "JobResultsFunction",
        ("GET", "/api/v1/batch/jobs/{job_id}/report.html"): "JobResultsFunction",
        ("DELETE", "/api/v1/batch/jobs/{job_id}"): "CancelJobFunction",
        ("GET", "/api/v1/openapi.json"): "ApiDocsFunction",
        ("GET", "/api/v1/batch/jobs/{job_id}/report"): "JobReportFunction",
        ("POST", "/api/v1/remediation"): "SingleDeviceFunction",
        ("GET", "/api/v1/platforms"): "SingleDeviceFunction",
    }


def test_the_api_is_one_rest_api_with_iam_auth_on_every_method_and_no_http_api() -> None:
    deployed = _Deployed()
    assert not [
        kind for kind in {r["Type"] for r in deployed.cfn["Resources"].values()} if "ApiGatewayV2" in kind
    ]
    ((api_id, api),) = deployed.resources("AWS::ApiGateway::RestApi").items()
    body = api["Properties"]["Body"]
    methods = [(path, method, op) for path, ops in body["paths"].items() for method, op in ops.items()]
    assert len(methods) == len(MODEL.routes)
    assert body["components"]["securitySchemes"]["AWS_IAM"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    for path, method, operation in methods:
        assert operation["security"] == [{"AWS_IAM": []}], f"{method} {path}"
        integration = operation["x-amazon-apigateway-integration"]
        # Lambda proxy (payload 1.0), invoked under the function's resource policy, not the caller's rights
        assert (integration["type"], integration["httpMethod"]) == ("aws_proxy", "POST")
        assert "credentials" not in integration, f"{method} {path} invokes with the caller's credentials"
    # A regional endpoint without a resource policy: SigV4 callers of this account with execute-api:Invoke
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert "Policy" not in api["Properties"]
    ((stage_id, stage),) = deployed.resources("AWS::ApiGateway::Stage").items()
    assert stage["Properties"]["StageName"] == "v1" and stage["Properties"]["TracingEnabled"] is True
    assert stage["Properties"]["AccessLogSetting"]["DestinationArn"] == {
        "Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]
    }
    (throttling,) = stage["Properties"]["MethodSettings"]
    assert (throttling["ResourcePath"], throttling["HttpMethod"]) == ("/*", "*")
    assert (throttling["ThrottlingRateLimit"], throttling["ThrottlingBurstLimit"]) == ("50", "100")
    # Clients append /api/v1/... to ApiUrl: it carries the stage
    url = deployed.cfn["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]
    assert url == f"https://${{{api_id}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/${{{stage_id}}}"
    # Access logging needs the account's API Gateway CloudWatch role, kept when the stack goes
    (account,) = deployed.resources("AWS::ApiGateway::Account").values()
    assert account["DeletionPolicy"] == "Retain" and api["DependsOn"] == "ApiGatewayAccount"


def test_a_private_api_admits_only_its_vpc_endpoints() -> None:
    # Given the template deployed with EndpointType=PRIVATE and two VPC endpoints
    deployed = _Deployed(EndpointType="PRIVATE", VpcEndpointIds=",".join(VPC_ENDPOINTS))
    (api,) = deployed.resources("AWS::ApiGateway::RestApi").values()
    properties = api["Properties"]
    # Then the API is private, associated with those endpoints
    assert properties["EndpointConfiguration"] == {"Types": ["PRIVATE"], "VpcEndpointIds": VPC_ENDPOINTS}
    # And its resource policy denies every other source and allows only this account's principals
    statements = properties["Policy"]["Statement"]
    denies = [s for s in statements if s["Effect"] == "Deny"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert denies == [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": "execute-api:/*",
            "Condition": {"StringNotEquals": {"aws:SourceVpce": VPC_ENDPOINTS}},
        }
    ]
    (allow,) = allows
    assert allow["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert (allow["Action"], allow["Resource"], allow.get("Condition")) == (
        "execute-api:Invoke",
        "execute-api:/*",
        None,
    )
    assert deployed.rules_hold()


def test_a_private_api_without_vpc_endpoints_is_refused_before_deploying() -> None:
    assert not _Deployed(EndpointType="PRIVATE").rules_hold()
    assert _Deployed().rules_hold()


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_the_architecture_parameter_reaches_every_function(architecture: str) -> None:
    functions = _Deployed(Architecture=architecture).resources("AWS::Lambda::Function")
    assert len(functions) == len(MODEL.functions)
    for logical_id, function in functions.items():
        assert function["Properties"]["Architectures"] == [architecture], logical_id


def test_the_architecture_defaults_to_arm64() -> None:
    assert _Deployed().parameters["Architecture"] == "arm64"


def test_each_queue_has_its_consumer_with_partial_batch_failures() -> None:
    sources = {source.queue_id: source for source in MODEL.event_sources}
    assert {queue: source.function_id for queue, source in sources.items()} == {
        "DeviceQueue": "RemediateDevicesFunction",
        "DeviceDeadLetterQueue": "DeadLetterFunction",
        "FinalizeQueue": "WriteBackResultsFunction",
        "DropQueue": "StartDroppedJobsFunction",
        "FanoutQueue": "FanOutJobsFunction",
    }
    assert all(source.report_batch_item_failures for source in sources.values())
    assert sources["DeviceQueue"].batch_size == 10  # one counting transaction per 10 devices


def test_the_sweeper_runs_on_a_schedule_shorter_than_any_sensible_deadline() -> None:
    (schedule,) = MODEL.schedules
    assert schedule.function_id == "SweepJobsFunction" and schedule.interval_seconds <= 600


def test_the_device_queue_redrives_to_a_dead_letter_queue_and_outlasts_the_worker() -> None:
    queue = MODEL.resources["DeviceQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeviceDeadLetterQueue", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 3
    assert queue["VisibilityTimeout"] >= 6 * MODEL.functions["RemediateDevicesFunction"].timeout


def test_every_environment_variable_the_code_reads_is_set_by_the_template() -> None:
    required = set(required_variables())
    assert required, "the settings name no required variables"
    for function in MODEL.functions.values():
        assert required <= set(function.environment), function.logical_id


def test_policies_are_scoped_sam_policy_templates_or_inline_statements() -> None:
    sam = load_yaml(TEMPLATE)
    for logical_id, resource in sam["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for policy in resource["Properties"].get("Policies", []):
            assert isinstance(policy, dict) and len(policy) == 1, f"{logical_id}: {policy!r}"
            ((name, scope),) = policy.items()
            if name == "Statement":  # each action and resource: test_permissions.py
                continue
            assert name.endswith("Policy") and "FullAccess" not in name, f"{logical_id}: {name}"
            # The one literal scope: the account's default event bus, by name.
            scoped = any(isinstance(value, dict) for value in scope.values()) or scope == {
                "EventBusName": "default"
            }
            assert scoped, f"{logical_id}: {name} not scoped"


def test_lambda_requirements_match_the_runtime_dependencies() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    runtime = {dep for dep in project["dependencies"] if not dep.startswith("boto3")}
    lines = (PROJECT_ROOT / "functions" / "requirements.txt").read_text().splitlines()
    packaged = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert packaged == runtime


def test_only_the_worker_imports_hier_config() -> None:
    # The API, dead-letter and sweeper functions must start fast: only the worker needs hier_config at load.
    # The one-device and report functions load it on their first request, so their OpenAPI routes (served
    # by ApiDocsFunction) cost it nothing.
    for logical_id, function in MODEL.functions.items():
        module_name = function.handler.rpartition(".")[0]
        code = f"import sys, {module_name}; print('hier_config' in sys.modules)"
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        needs_it = logical_id == "RemediateDevicesFunction"  # the only function that computes remediation
        assert run.stdout.strip() == str(needs_it), logical_id
