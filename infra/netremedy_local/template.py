"""Reading template.yaml: the SAM translator turns it into CloudFormation offline, and this module pulls out
what the local stack needs (data resources, functions, routes, event sources)."""

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

# The translator warns about each feature toggle it has no config for; offline there is none, and SAM then
# does what it does by default, as on deploy. The warnings would only clutter `make serve`.
logging.getLogger("samtranslator.feature_toggle.feature_toggle").setLevel(logging.ERROR)

# Pseudo parameters and fixed values the local stack uses where AWS would supply its own.
LOCAL_ACCOUNT_ID = "123456789012"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that understands CloudFormation's short-form tags (!Ref, !GetAtt, !Sub, ...)."""


def _construct_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_yaml(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)
    return document


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    timeout: int
    memory_mb: int
    environment: dict[str, Any]


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    function_id: str
    # The REST API stage the route is deployed in: on AWS its name is the first segment of the URL path.
    stage: str


@dataclass(frozen=True)
class EventSourceSpec:
    function_id: str
    queue_id: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass(frozen=True)
class ScheduleSpec:
    function_id: str
    interval_seconds: int


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int | None:
    """Seconds between runs of an EventBridge ``rate(...)`` expression; None for cron expressions."""
    match = _RATE.match(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


@dataclass
class StackModel:
    resources: dict[str, dict[str, Any]]
    parameters: dict[str, Any]
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    routes: list[RouteSpec] = field(default_factory=list)
    event_sources: list[EventSourceSpec] = field(default_factory=list)
    schedules: list[ScheduleSpec] = field(default_factory=list)


_FUNCTION_IN_URI = re.compile(r"\$\{(\w+)\.Arn\}")


def _ref_target(value: Any) -> str:
    """Logical id behind a Ref / GetAtt / Sub pointing at a resource."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
        if "Fn::Sub" in value:
            match = _FUNCTION_IN_URI.search(str(value["Fn::Sub"]))
            if match:
                return match.group(1)
    raise ValueError(f"cannot tell which resource {value!r} points at")


def _point_code_at_placeholder(sam: dict[str, Any]) -> None:
    """The translator only takes packaged templates (CodeUri in S3); locally the code is the checkout."""
    placeholder = "s3://local-stack-code/functions.zip"
    function_globals = sam.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = placeholder
    for resource in sam.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function" and "CodeUri" in resource.get(
            "Properties", {}
        ):
            resource["Properties"]["CodeUri"] = placeholder


def translate(
    template_path: Path, region: str, stack_name: str, parameter_values: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The template as CloudFormation. ``parameter_values`` reach only what SAM resolves itself (it leaves
    conditions and most references to CloudFormation)."""
    sam = load_yaml(template_path)
    _point_code_at_placeholder(sam)
    parameters = {
        **(parameter_values or {}),
        "AWS::Region": region,
        "AWS::AccountId": LOCAL_ACCOUNT_ID,
        "AWS::StackName": stack_name,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    # No managed-policy map: offline, the translator cannot ask IAM, and the template only uses SAM policy
    # templates, which the translator expands itself.
    translator = Translator({}, Parser(), boto_session=boto3.session.Session(region_name=region))
    cfn: dict[str, Any] = translator.translate(sam, parameter_values=parameters, get_managed_policy_map=dict)
    return cfn


_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


def _stage_of(api_id: str, resources: dict[str, dict[str, Any]]) -> str:
    stages = [
        resource["Properties"]["StageName"]
        for resource in resources.values()
        if resource["Type"] == "AWS::ApiGateway::Stage"
        and resource["Properties"].get("RestApiId") == {"Ref": api_id}
    ]
    if len(stages) != 1:
        raise ValueError(f"{api_id}: the local stack serves a REST API with exactly one stage, not {stages}")
    return str(stages[0])


def _rest_api_routes(
    api_id: str, properties: dict[str, Any], resources: dict[str, dict[str, Any]]
) -> list[RouteSpec]:
    """Each method of the API's OpenAPI body whose Lambda proxy integration names a template function."""
    stage = _stage_of(api_id, resources)
    routes = []
    for path, operations in properties.get("Body", {}).get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _HTTP_METHODS:
                raise ValueError(f"{api_id}: {method} on {path} is not served by the local stack")
            integration = operation.get("x-amazon-apigateway-integration", {})
            if integration.get("type") != "aws_proxy":
                raise ValueError(f"{api_id}: {method} {path} is not a Lambda proxy integration")
            routes.append(RouteSpec(method.upper(), path, _ref_target(integration["uri"]), stage))
    return routes


def load_stack_model(template_path: Path, region: str, stack_name: str) -> StackModel:
    cfn = translate(template_path, region, stack_name)
    parameters = {name: spec.get("Default") for name, spec in cfn.get("Parameters", {}).items()}
    model = StackModel(resources=cfn["Resources"], parameters=parameters)
    for logical_id, resource in cfn["Resources"].items():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::Lambda::Function":
            model.functions[logical_id] = FunctionSpec(
                logical_id=logical_id,
                handler=properties["Handler"],
                timeout=int(properties.get("Timeout", 3)),
                memory_mb=int(properties.get("MemorySize", 128)),
                environment=properties.get("Environment", {}).get("Variables", {}),
            )
        elif kind == "AWS::Lambda::EventSourceMapping":
            model.event_sources.append(
                EventSourceSpec(
                    function_id=_ref_target(properties["FunctionName"]),
                    queue_id=_ref_target(properties["EventSourceArn"]),
                    batch_size=int(properties.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in properties.get("FunctionResponseTypes", []),
                )
            )
        elif kind == "AWS::Events::Rule" and "ScheduleExpression" in properties:
            interval = rate_seconds(properties["ScheduleExpression"])
            if interval is None:
                raise ValueError(f"{logical_id}: the local stack runs rate(...) schedules only")
            for target in properties.get("Targets", []):
                model.schedules.append(
                    ScheduleSpec(function_id=_ref_target(target["Arn"]), interval_seconds=interval)
                )
        elif kind == "AWS::ApiGateway::RestApi":
            model.routes += _rest_api_routes(logical_id, properties, cfn["Resources"])
    return model
