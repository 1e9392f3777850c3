"""template.yaml passes checkov's CloudFormation checks, every skip says why, and the data is locked down."""

import json
import subprocess
from typing import Any

import pytest

from netremedy_local.template import load_yaml
from tests.conftest import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "template.yaml"
CHECKOV = PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov"
MIN_SKIP_COMMENT = 15


def _resources() -> dict[str, Any]:
    resources: dict[str, Any] = load_yaml(TEMPLATE)["Resources"]
    return resources


def _of_type(kind: str) -> dict[str, Any]:
    return {lid: res for lid, res in _resources().items() if res["Type"] == kind}


def test_checkov_finds_no_failed_checks() -> None:
    if not CHECKOV.exists():
        pytest.skip(f"checkov is not installed at {CHECKOV} (`make test` installs it into .venv-checkov/)")
    # --skip-download: offline, no call to the vendor's platform for guideline links.
    run = subprocess.run(
        [str(CHECKOV), "-f", str(TEMPLATE), "--framework", "cloudformation", "-o", "json", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
    )
    assert run.stdout.strip(), f"checkov printed nothing (exit {run.returncode}): {run.stderr}"
    report = json.loads(run.stdout)
    # One framework gives one report object; several give a list of them.
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for rep in reports
        for check in rep["results"]["failed_checks"]
    ]
    assert not failed, "checkov findings (fix them in template.yaml or skip with a reason):\n" + "\n".join(
        failed
    )
    assert sum(rep["summary"]["passed"] for rep in reports) > 0, "checkov ran no checks on the template"
    assert all(rep["summary"]["parsing_errors"] == 0 for rep in reports)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]


def test_every_checkov_skip_in_the_template_gives_a_reason() -> None:
    skips = 0
    for logical_id, resource in _resources().items():
        checkov = (resource.get("Metadata") or {}).get("checkov") or {}
        for skip in checkov.get("skip", []):
            skips += 1
            assert str(skip.get("id", "")).startswith("CKV"), (
                f"{logical_id}: skip without a check id: {skip!r}"
            )
            comment = str(skip.get("comment") or "").strip()
            assert len(comment) >= MIN_SKIP_COMMENT, (
                f"{logical_id}: skip of {skip['id']} needs a written reason"
            )
    assert skips, "no checkov skips found: the template's Metadata was not read"


def test_the_bucket_table_and_queues_are_encrypted_and_the_bucket_is_private_and_tls_only() -> None:
    ((bucket_id, bucket),) = _of_type("AWS::S3::Bucket").items()
    properties = bucket["Properties"]
    block = properties["PublicAccessBlockConfiguration"]
    for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
        assert block.get(flag) is True, f"{bucket_id}: {flag} must be true"
    rules = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rules and all(rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for rule in rules)

    policies = [
        res["Properties"]
        for res in _of_type("AWS::S3::BucketPolicy").values()
        if res["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert policies, f"no bucket policy on {bucket_id}"
    tls_only = [
        statement
        for policy in policies
        for statement in policy["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement.get("Principal") in ("*", {"AWS": "*"})
        and str(statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false"
    ]
    assert tls_only, f"{bucket_id}: no statement denies requests without TLS (aws:SecureTransport false)"

    queues = _of_type("AWS::SQS::Queue")
    assert queues
    for queue_id, queue in queues.items():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True, f"{queue_id} is not encrypted"

    tables = _of_type("AWS::DynamoDB::Table")
    assert tables
    for table_id, table in tables.items():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True, f"{table_id} is not encrypted"


def test_every_api_route_requires_iam_and_no_stage_logs_bodies() -> None:
    ((api_id, api),) = _of_type("AWS::Serverless::Api").items()
    properties = api["Properties"]
    assert properties["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    routes = [
        (function_id, name, event["Properties"])
        for function_id, function in _of_type("AWS::Serverless::Function").items()
        for name, event in function["Properties"].get("Events", {}).items()
        if event["Type"] == "Api"
    ]
    assert routes
    for function_id, name, route in routes:
        assert route["RestApiId"] == {"Ref": api_id}, f"{function_id}.{name} is not on {api_id}"
        # An event-level Authorizer (NONE above all) would take the route out of the default IAM auth.
        assert "Authorizer" not in route.get("Auth", {}), f"{function_id}.{name} overrides the IAM authorizer"
    # Execution logs with data tracing write whole request and response bodies: configurations and secrets.
    for setting in properties.get("MethodSettings", []):
        assert setting.get("DataTraceEnabled") is not True, setting
