"""What each function may do on AWS is what its code calls, on this stack's resources only, and the alarms can
notify: read from the SAM-translated template, which is what CloudFormation deploys (inline policies
expanded, managed policies by name).

The table below is worked out from the code (handlers -> logic -> dal; the boto3 calls are in dal/). A
change that makes a function call something new needs its row changed too, or it fails on AWS only: the
local stack does not enforce IAM.
"""

import re
from fnmatch import fnmatchcase
from typing import Any

import pytest

from netremedy_local.template import LOCAL_ACCOUNT_ID, translate
from tests.conftest import PROJECT_ROOT

REGION = "us-east-1"
RESOURCES: dict[str, dict[str, Any]] = translate(PROJECT_ROOT / "template.yaml", REGION, "test")["Resources"]
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": LOCAL_ACCOUNT_ID}

# Attached by SAM to every function: CloudWatch Logs (for its own log group) and X-Ray trace writes. Neither
# reaches SQS, DynamoDB or S3.
MANAGED = {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"}

SEND = {"sqs:SendMessage*"}  # SAM's SQSSendMessagePolicy: SendMessage and SendMessageBatch
POLL = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}  # what a Lambda SQS poller needs
# Conditional puts and counter updates in one TransactWriteItems (IAM authorises the actions inside it), and
# reading and closing the job row.
COUNT = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
READ_JOB = {"dynamodb:GetItem", "dynamodb:Query"}
# ListBucket: S3 answers a missing key with 403 instead of 404 without it, and blob_store.exists/is_missing
# rely on the 404.
LIST = {"s3:ListBucket"}

EXPECTED: dict[str, dict[str, set[str]]] = {
    "CreateJobFunction": {
        # Powertools idempotency gets, puts, updates and deletes its records in the job table.
        "JobTable": COUNT | {"dynamodb:DeleteItem"},
        "ResultBucket/*": {"s3:PutObject"},
        "DeviceQueue": SEND,
        "FanoutQueue": SEND,
        "FinalizeQueue": SEND,
    },
    # Signs pre-signed upload forms: S3 authorises each upload as this role, so uploads/ and PutObject only.
    "CreateUploadFunction": {"JobTable": {"dynamodb:PutItem"}, "ResultBucket/uploads/*": {"s3:PutObject"}},
    "JobStatusFunction": {"JobTable": {"dynamodb:GetItem"}},
    # The listing reads the JobsByOwner index alone, never the table.
    "ListJobsFunction": {"JobTable/index/JobsByOwner": {"dynamodb:Query"}},
    "JobResultsFunction": {
        "JobTable": READ_JOB,
        # Pre-signed bundle links are signed by the function's role: GetObject is what they use.
        "ResultBucket/*": {"s3:GetObject"},
        "ResultBucket": LIST,
    },
    "RemediateDevicesFunction": {
        "JobTable": COUNT,
        # GetObject: claim checks, and the configs a manifest names by key (logic.referenced_configs).
        "ResultBucket/*": {"s3:GetObject", "s3:PutObject"},
        "ResultBucket": LIST,
        "DeviceQueue": POLL,
        "FinalizeQueue": SEND,
    },
    "CancelJobFunction": {"JobTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"}, "FinalizeQueue": SEND},
    "ApiDocsFunction": {},
    "SingleDeviceFunction": {},
    "JobReportFunction": {"JobTable": READ_JOB, "ResultBucket/*": {"s3:GetObject"}, "ResultBucket": LIST},
    "DeadLetterFunction": {"JobTable": COUNT, "DeviceDeadLetterQueue": POLL, "FinalizeQueue": SEND},
    "SweepJobsFunction": {
        "JobTable": COUNT | {"dynamodb:Query"},
        "JobTable/index/OpenJobs": {"dynamodb:Query"},
        "ResultBucket/*": {"s3:GetObject"},
        "ResultBucket": LIST,
        "FinalizeQueue": SEND,
    },
    "FanOutJobsFunction": {
        # PutItem: devices of an upload that fail before fan-out are counted (logic.jobs.record_failed_at_start).
        "JobTable": COUNT,
        "ResultBucket/*": {"s3:GetObject", "s3:PutObject"},
        "ResultBucket": LIST,
        "FanoutQueue": POLL,
        "DeviceQueue": SEND,
        "FinalizeQueue": SEND,
    },
    "StartDroppedJobsFunction": {
        # Query: a resumed start reads which devices are counted already.
        "JobTable": COUNT | {"dynamodb:Query"},
        "ResultBucket/*": {"s3:GetObject", "s3:PutObject"},
        # Writing one outcome marker removes the other kind (logic.drops).
        "ResultBucket/accepted/*": {"s3:DeleteObject"},
        "ResultBucket/errors/*": {"s3:DeleteObject"},
        "ResultBucket": LIST,
        "DropQueue": POLL,
        "DeviceQueue": SEND,
        "FinalizeQueue": SEND,
    },
    "WriteBackResultsFunction": {
        "JobTable": READ_JOB,
        "ResultBucket/*": {"s3:GetObject", "s3:PutObject"},
        "ResultBucket": LIST,
        "FinalizeQueue": POLL,
        "event-bus/default": {"events:PutEvents"},
    },
}

# The SQS event sources exactly as they were as SAM events: (queue, BatchSize, MaximumBatchingWindowInSeconds).
EVENT_SOURCES = {
    "RemediateDevicesFunction": ("DeviceQueue", 10, 1),
    "DeadLetterFunction": ("DeviceDeadLetterQueue", 10, None),
    "FanOutJobsFunction": ("FanoutQueue", 1, None),
    "StartDroppedJobsFunction": ("DropQueue", 1, None),
    "WriteBackResultsFunction": ("FinalizeQueue", 1, None),
}

# Everything a function that handles configurations must not be able to do to the bucket.
BUCKET_CHANGES = [
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:DeleteBucket",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutObjectAcl",
    "s3:PutBucketVersioning",
]
COUNTERS_ONLY = ["RemediateDevicesFunction", "DeadLetterFunction", "SweepJobsFunction"]
BULK_TABLE_ACCESS = ["dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem"]
DATA_SERVICES = ("sqs", "dynamodb", "s3")


def _of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {lid: res for lid, res in RESOURCES.items() if res["Type"] == kind}


FUNCTIONS = _of_type("AWS::Lambda::Function")


def _render(value: Any, variables: dict[str, Any] | None = None) -> str:
    """A policy value as text, each reference to a template resource written as its logical id."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return PSEUDO.get(value["Ref"], value["Ref"])
    if "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if "Fn::Sub" in value:
        argument = value["Fn::Sub"]
        text, names = (argument, {}) if isinstance(argument, str) else argument
        scope = {**(variables or {}), **names}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in scope:
                return _render(scope[name])
            return PSEUDO.get(name, name.split(".")[0])

        return re.sub(r"\$\{([^}]+)\}", substitute, text)
    raise AssertionError(f"unexpected policy value {value!r}")


def _label(resource: Any) -> str:
    """What a statement's resource names: ``JobTable``, ``ResultBucket/*``, ``event-bus/default``, or ``*``."""
    text = _render(resource)
    # An ARN written out (as SAM's policy templates do) names the same resource as its GetAtt.
    return text.split(":", 5)[5].removeprefix("table/") if text.startswith("arn:") else text


def _statements(function_id: str) -> list[dict[str, Any]]:
    role = RESOURCES[FUNCTIONS[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
    return [
        statement
        for policy in role.get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def effective_actions(function_id: str) -> dict[str, set[str]]:
    """Resource label -> the actions the function's inline policies allow on it."""
    granted: dict[str, set[str]] = {}
    for statement in _statements(function_id):
        if statement["Effect"] == "Deny":  # denied_actions
            continue
        assert statement["Effect"] == "Allow", f"{function_id}: {statement}"
        assert "NotAction" not in statement and "NotResource" not in statement, f"{function_id}: {statement}"
        for resource in _as_list(statement["Resource"]):
            granted.setdefault(_label(resource), set()).update(_as_list(statement["Action"]))
    return granted


def _managed_policies(function_id: str) -> set[str]:
    role = RESOURCES[FUNCTIONS[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
    return {arn.rsplit("/", 1)[-1] for arn in role.get("ManagedPolicyArns", [])}


def _allows(function_id: str, action: str) -> list[str]:
    """The resources on which the function's inline policies allow ``action`` (wildcard actions included)."""
    return sorted(
        label
        for label, actions in effective_actions(function_id).items()
        if any(fnmatchcase(action, granted) for granted in actions)
    )


def test_the_table_covers_every_function_of_the_template() -> None:
    assert set(EXPECTED) == set(FUNCTIONS)


@pytest.mark.parametrize("function_id", sorted(EXPECTED))
def test_each_function_may_do_exactly_what_its_code_calls(function_id: str) -> None:
    # Given the function's role as CloudFormation creates it
    # When its inline statements are expanded per resource
    # Then they are exactly the expected table, and the only managed policies are logs and X-Ray
    assert effective_actions(function_id) == EXPECTED[function_id]
    assert _managed_policies(function_id) == MANAGED


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_no_data_action_applies_to_every_resource(function_id: str) -> None:
    for statement in _statements(function_id):
        services = {str(action).split(":")[0] for action in _as_list(statement["Action"])}
        if not services & set(DATA_SERVICES):
            continue
        for resource in _as_list(statement["Resource"]):
            label = _label(resource)
            # Every resource is one of this stack's own, by logical id (e.g. JobTable, ResultBucket/*).
            assert label.split("/")[0] in RESOURCES, f"{function_id}: {statement['Action']} on {label}"


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_no_function_can_delete_objects_or_change_the_buckets_lifecycle_policy_or_acls(
    function_id: str,
) -> None:
    for action in BUCKET_CHANGES:
        allowed = _allows(function_id, action)
        # The drop function deletes its own outcome markers, never anything else.
        if function_id == "StartDroppedJobsFunction" and action == "s3:DeleteObject":
            assert allowed == ["ResultBucket/accepted/*", "ResultBucket/errors/*"]
            continue
        assert not allowed, f"{function_id} may {action}"


@pytest.mark.parametrize("function_id", COUNTERS_ONLY)
def test_counting_functions_cannot_scan_batch_write_or_delete_items(function_id: str) -> None:
    for action in BULK_TABLE_ACCESS:
        assert not _allows(function_id, action), f"{function_id} may {action}"


def test_each_sqs_triggered_function_polls_its_own_queue_only() -> None:
    # Given the event source mappings CloudFormation creates
    mappings = {
        _render(res["Properties"]["FunctionName"]): res["Properties"]
        for res in _of_type("AWS::Lambda::EventSourceMapping").values()
    }
    # Then each is the former SAM event's, property for property
    assert {
        function_id: (
            _render(properties["EventSourceArn"]),
            properties["BatchSize"],
            properties.get("MaximumBatchingWindowInSeconds"),
        )
        for function_id, properties in mappings.items()
    } == EVENT_SOURCES
    assert all(
        properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for properties in mappings.values()
    )
    # And a function may receive from its own queue and from no other; functions without a queue from none
    for function_id in FUNCTIONS:
        own = [EVENT_SOURCES[function_id][0]] if function_id in EVENT_SOURCES else []
        for action in sorted(POLL):
            assert _allows(function_id, action) == own, f"{function_id}: {action}"


def test_the_alarm_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use() -> None:
    # Given the topic every alarm notifies
    ((topic_id, topic),) = _of_type("AWS::SNS::Topic").items()
    for alarm_id, alarm in _of_type("AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}], alarm_id
    # When its key is looked up
    key_id = topic["Properties"]["KmsMasterKeyId"]["Ref"]
    key = RESOURCES[key_id]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    # Then CloudWatch, for this account's alarms only, may encrypt with it (what publishing needs)
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert len(cloudwatch) == 1
    assert cloudwatch[0]["Effect"] == "Allow"
    assert set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    # And the account keeps administering the key through IAM (AWS's default key policy statement)
    root = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert any(s.get("Principal") == root and s["Action"] == "kms:*" for s in statements)
    aliases = [res["Properties"] for res in _of_type("AWS::KMS::Alias").values()]
    assert [alias["TargetKeyId"] for alias in aliases] == [{"Ref": key_id}]


def denied_actions(function_id: str) -> dict[str, set[str]]:
    """Resource label -> the actions the function's inline policies deny on it."""
    denied: dict[str, set[str]] = {}
    for statement in _statements(function_id):
        if statement["Effect"] == "Deny":
            for resource in _as_list(statement["Resource"]):
                denied.setdefault(_label(resource), set()).update(_as_list(statement["Action"]))
    return denied


# Uploaded manifests (logic.uploads) hold whole fleets' configurations: the one function that starts jobs from
# them reads them, every other function that reads the bucket is denied uploads/.
UPLOAD_READER = "FanOutJobsFunction"


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_only_the_starting_function_may_read_uploaded_manifests(function_id: str) -> None:
    # Given what the function may read from the bucket
    reads = _allows(function_id, "s3:GetObject")
    denied = "s3:GetObject" in denied_actions(function_id).get("ResultBucket/uploads/*", set())
    # Then the upload reader reads everything, and any other reader of ResultBucket/* is denied uploads/
    if function_id == UPLOAD_READER:
        assert reads == ["ResultBucket/*"] and not denied
    else:
        assert not reads or denied, f"{function_id} may read uploads/"
