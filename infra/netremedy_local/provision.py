"""Creating template.yaml's data resources (tables, queues, buckets) in the emulator, and resolving the
intrinsic functions (Ref, GetAtt, Sub, Join) that point at them."""

import json
import re
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from netremedy_local.template import LOCAL_ACCOUNT_ID, StackModel

DATA_RESOURCE_TYPES = (
    "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
)


class Unresolved(Exception):
    """A reference to a resource that does not exist yet."""


@dataclass
class ResolvedStack:
    region: str
    stack_name: str
    parameters: dict[str, Any]
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": LOCAL_ACCOUNT_ID,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def _ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo():
            return self.pseudo()[name]
        if name in self.refs:
            return self.refs[name]
        raise Unresolved(name)

    def _getatt(self, logical_id: str, attribute: str) -> str:
        if (logical_id, attribute) not in self.attributes:
            raise Unresolved(f"{logical_id}.{attribute}")
        return self.attributes[(logical_id, attribute)]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Fn::GetAtt":
                parts = argument if isinstance(argument, list) else str(argument).split(".", 1)
                return self._getatt(parts[0], parts[1])
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(item) for item in self.resolve(items))
        return {key: self.resolve(item) for key, item in value.items()}

    def _sub(self, argument: Any) -> str:
        template, variables = (argument, {}) if isinstance(argument, str) else argument

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self._getatt(logical_id, attribute)
            return str(self._ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, template)


def _physical_name(stack_name: str, logical_id: str) -> str:
    return f"{stack_name}-{logical_id}"


def _create_queue(stack: ResolvedStack, logical_id: str, properties: dict[str, Any]) -> None:
    sqs = boto3.client("sqs", region_name=stack.region)
    attributes: dict[str, str] = {}
    for name in (
        "VisibilityTimeout",
        "MessageRetentionPeriod",
        "DelaySeconds",
        "MaximumMessageSize",
        "ReceiveMessageWaitTimeSeconds",
    ):
        if name in properties:
            attributes[name] = str(properties[name])
    if "RedrivePolicy" in properties:
        attributes["RedrivePolicy"] = json.dumps(properties["RedrivePolicy"])
    name = properties.get("QueueName") or _physical_name(stack.stack_name, logical_id)
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.refs[logical_id] = url
    stack.attributes[(logical_id, "Arn")] = arn
    stack.attributes[(logical_id, "QueueName")] = name
    stack.attributes[(logical_id, "QueueUrl")] = url


def _create_table(stack: ResolvedStack, logical_id: str, properties: dict[str, Any]) -> None:
    dynamodb = boto3.client("dynamodb", region_name=stack.region)
    name = properties.get("TableName") or _physical_name(stack.stack_name, logical_id)
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    for optional in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
        if optional in properties:
            request[optional] = properties[optional]
    if "SSESpecification" in properties:  # CloudFormation spells the API's "Enabled" as "SSEEnabled"
        request["SSESpecification"] = {"Enabled": bool(properties["SSESpecification"].get("SSEEnabled"))}
    try:
        description = dynamodb.create_table(**request)["TableDescription"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        description = dynamodb.describe_table(TableName=name)["Table"]
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        try:
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        except ClientError as exc:  # already enabled on a reused emulator
            if exc.response["Error"]["Code"] != "ValidationException":
                raise
    stack.refs[logical_id] = name
    stack.attributes[(logical_id, "Arn")] = description["TableArn"]


def _create_bucket(stack: ResolvedStack, logical_id: str, properties: dict[str, Any]) -> None:
    s3 = boto3.client("s3", region_name=stack.region)
    name = properties.get("BucketName") or _physical_name(stack.stack_name, logical_id).lower()
    request: dict[str, Any] = {"Bucket": name}
    if stack.region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": stack.region}
    try:
        s3.create_bucket(**request)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
    if "BucketEncryption" in properties:
        # CloudFormation's "ServerSideEncryptionByDefault" is the API's "ApplyServerSideEncryptionByDefault".
        rules = [
            {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
            for rule in properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in properties:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"]
        )
    rules = properties.get("LifecycleConfiguration", {}).get("Rules", [])
    if rules:
        s3.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": rule.get("Id", f"rule{index}"),
                        "Status": rule["Status"],
                        "Filter": {"Prefix": rule.get("Prefix", "")},
                        "Expiration": {"Days": int(rule["ExpirationInDays"])},
                    }
                    for index, rule in enumerate(rules)
                    if "ExpirationInDays" in rule
                ]
            },
        )
    notifications = properties.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
    if notifications:
        # CloudFormation's shape (Event, Queue, Filter.S3Key.Rules) in the API's (Events, QueueArn, ...).
        s3.put_bucket_notification_configuration(
            Bucket=name,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": entry["Queue"],
                        "Events": [entry["Event"]],
                        **(
                            {"Filter": {"Key": {"FilterRules": entry["Filter"]["S3Key"]["Rules"]}}}
                            if "Filter" in entry
                            else {}
                        ),
                    }
                    for entry in notifications
                ]
            },
        )
    stack.refs[logical_id] = name
    stack.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"


def _needs_tls(statement: dict[str, Any]) -> bool:
    return "aws:SecureTransport" in statement.get("Condition", {}).get("Bool", {})


def _put_bucket_policy(stack: ResolvedStack, logical_id: str, properties: dict[str, Any]) -> None:
    # The emulator speaks plain HTTP on loopback, so statements about aws:SecureTransport (TLS-only access)
    # would deny every request; they are enforced in AWS, and every other statement is applied here.
    document = dict(properties["PolicyDocument"])
    document["Statement"] = [statement for statement in document["Statement"] if not _needs_tls(statement)]
    if document["Statement"]:
        boto3.client("s3", region_name=stack.region).put_bucket_policy(
            Bucket=properties["Bucket"], Policy=json.dumps(document)
        )
    stack.refs[logical_id] = properties["Bucket"]


def _put_queue_policy(stack: ResolvedStack, logical_id: str, properties: dict[str, Any]) -> None:
    sqs = boto3.client("sqs", region_name=stack.region)
    for queue_url in properties["Queues"]:
        sqs.set_queue_attributes(
            QueueUrl=queue_url, Attributes={"Policy": json.dumps(properties["PolicyDocument"])}
        )
    stack.refs[logical_id] = logical_id


_CREATORS = {
    "AWS::SQS::Queue": _create_queue,
    "AWS::SQS::QueuePolicy": _put_queue_policy,
    "AWS::DynamoDB::Table": _create_table,
    "AWS::S3::Bucket": _create_bucket,
    "AWS::S3::BucketPolicy": _put_bucket_policy,
}


def provision(model: StackModel, region: str, stack_name: str) -> ResolvedStack:
    """Create every data resource, in dependency order (a resource waits until what it refers to exists)."""
    stack = ResolvedStack(region=region, stack_name=stack_name, parameters=dict(model.parameters))
    waiting = {lid: res for lid, res in model.resources.items() if res["Type"] in DATA_RESOURCE_TYPES}
    unsupported = {
        lid: res["Type"]
        for lid, res in model.resources.items()
        if res["Type"].split("::")[1] in ("SQS", "DynamoDB", "S3") and res["Type"] not in DATA_RESOURCE_TYPES
    }
    if unsupported:
        raise RuntimeError(f"the local stack cannot create these template resources yet: {unsupported}")
    while waiting:
        progressed = False
        for logical_id, resource in list(waiting.items()):
            try:
                properties = stack.resolve(resource.get("Properties", {}))
            except Unresolved:
                continue
            _CREATORS[resource["Type"]](stack, logical_id, properties)
            del waiting[logical_id]
            progressed = True
        if not progressed:
            raise RuntimeError(f"unresolvable references among template resources: {sorted(waiting)}")
    return stack


def function_environment(stack: ResolvedStack, environment: dict[str, Any]) -> dict[str, str]:
    return {name: str(stack.resolve(value)) for name, value in environment.items()}
