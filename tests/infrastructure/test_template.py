"""template.yaml is the whole deployed system: it lints, SAM accepts it, and it matches the code."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from netremedy_local.template import load_stack_model, load_yaml
from tests.conftest import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "template.yaml"
SAM = PROJECT_ROOT / ".venv-sam" / "bin" / "sam"
MODEL = load_stack_model(TEMPLATE, "us-east-1", "infra-test")


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
        ("GET", "/api/v1/batch/jobs/{job_id}"): "JobStatusFunction",
        ("GET", "/api/v1/batch/jobs/{job_id}/results"): "JobResultsFunction",
        ("GET", "/api/v1/batch/jobs/{job_id}/results/{device_id}"): "JobResultsFunction",
        ("GET", "/api/v1/batch/jobs/{job_id}/bundle"): "JobResultsFunction",
        ("DELETE", "/api/v1/batch/jobs/{job_id}"): "CancelJobFunction",
        ("GET", "/api/v1/openapi.json"): "ApiDocsFunction",
        ("GET", "/api/v1/batch/jobs/{job_id}/report"): "JobReportFunction",
        ("POST", "/api/v1/remediation"): "SingleDeviceFunction",
        ("GET", "/api/v1/platforms"): "SingleDeviceFunction",
    }


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
    source = (PROJECT_ROOT / "functions" / "netremedy" / "models" / "settings.py").read_text()
    required = set(re.findall(r'env\.get\("([A-Z_]+)", ""\)', source))
    assert required, "settings.py should read its required variables with env.get(NAME, '')"
    for function in MODEL.functions.values():
        assert required <= set(function.environment), function.logical_id


def test_policies_use_scoped_sam_policy_templates_only() -> None:
    sam = load_yaml(TEMPLATE)
    for logical_id, resource in sam["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for policy in resource["Properties"].get("Policies", []):
            assert isinstance(policy, dict) and len(policy) == 1, f"{logical_id}: {policy!r}"
            ((name, scope),) = policy.items()
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
