"""IAM enforced by the emulator (what the local stack turns on): a role's identity policy is checked as IAM
checks it, per action and resource, and what moto cannot evaluate is pinned down here so that the README's
enforced / not enforced table stays true. One emulator for this module, since enforcement is process-wide."""

import concurrent.futures
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.session
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from netremedy_local import iam
from netremedy_local.emulator import MotoServer
from netremedy_local.launcher import free_port

ACCOUNT = "123456789012"
REGION = "us-east-1"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/jobs"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:work"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}
    ],
}
# Shaped as the template's: SAM's SQSSendMessagePolicy, inline statements, no Version.
WORKER_POLICY = {
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
            "Resource": TABLE_ARN,
        },
        {"Effect": "Allow", "Action": ["sqs:SendMessage*"], "Resource": QUEUE_ARN},
        {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"], "Resource": QUEUE_ARN},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::results/*"},
        # moto ignores conditions in identity policies: this statement applies as if TLS were used.
        {
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::conditional/*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        },
        {
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default",
        },
    ]
}
DENY_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*"}]}


class Emulator:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.queue_url = ""
        self.other_queue_url = ""
        self.worker: iam.RoleSession
        self.reader: iam.RoleSession

    def admin(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def as_role(self, service: str, session: iam.RoleSession, **options: Any) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=session.access_key_id,
            aws_secret_access_key=session.secret_access_key,
            aws_session_token=session.session_token,
            **options,
        )

    def role(self, name: str, policy: dict[str, Any]) -> iam.RoleSession:
        arn = self.admin("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))[
            "Role"
        ]["Arn"]
        self.admin("iam").put_role_policy(
            RoleName=name, PolicyName="policy", PolicyDocument=json.dumps(iam.versioned(policy))
        )
        credentials = self.admin("sts").assume_role(RoleArn=arn, RoleSessionName=name)["Credentials"]
        return iam.RoleSession(
            arn, credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
        )


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    server = MotoServer("127.0.0.1", free_port(), tmp_path_factory.mktemp("iam") / "emulator.log")
    server.start()
    try:
        emulated = Emulator(server.endpoint)
        # Given, as the local stack's setup does it as the administrator: the data resources and two roles
        emulated.admin("dynamodb").create_table(
            TableName="jobs",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "shard", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "OpenJobs",
                    "KeySchema": [{"AttributeName": "shard", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs = emulated.admin("sqs")
        emulated.queue_url = sqs.create_queue(QueueName="work")["QueueUrl"]
        emulated.other_queue_url = sqs.create_queue(QueueName="other")["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=emulated.queue_url, Attributes={"Policy": json.dumps(DENY_ALL)})
        s3 = emulated.admin("s3")
        for bucket in ("results", "other-bucket", "conditional", "denying"):
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_policy(
            Bucket="denying",
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": "arn:aws:s3:::denying/*",
                        }
                    ],
                }
            ),
        )
        emulated.admin("events").create_event_bus(Name="other-bus")
        denying_policy = {**WORKER_POLICY, "Statement": [*WORKER_POLICY["Statement"]]}
        denying_policy["Statement"].append(
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::denying/*"}
        )
        emulated.worker = emulated.role("worker", denying_policy)
        emulated.reader = emulated.role(
            "reader",
            {"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN}]},
        )
        # When enforcement is turned on
        iam.enforce(server.endpoint)
        yield emulated
    finally:
        server.stop()


def _refusal(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as refused:
        call()
    error = refused.value.response["Error"]
    return str(error["Code"]), str(error.get("Message", ""))


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}}


def test_dynamodb_is_authorized_per_table_index_and_transaction_entry(emulator: Emulator) -> None:
    dynamodb = emulator.as_role("dynamodb", emulator.worker)
    # Then what the policy names on the table is allowed
    dynamodb.put_item(TableName="jobs", Item={**_key("a"), "shard": {"S": "0"}})
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "jobs", "Item": _key("b")}},
            {
                "Update": {
                    "TableName": "jobs",
                    "Key": _key("a"),
                    "UpdateExpression": "SET n = :n",
                    "ExpressionAttributeValues": {":n": {"N": "1"}},
                }
            },
        ]
    )
    assert dynamodb.get_item(TableName="jobs", Key=_key("a"))["Item"]["n"] == {"N": "1"}
    # And what it does not name is refused as DynamoDB refuses it, naming the action and the resource
    code, message = _refusal(lambda: dynamodb.delete_item(TableName="jobs", Key=_key("a")))
    assert code == "AccessDeniedException"
    assert message.startswith("User: arn:aws:sts::123456789012:assumed-role/worker/worker is not authorized")
    assert f"dynamodb:DeleteItem on resource: {TABLE_ARN}" in message
    # A transaction is checked entry by entry (a ConditionCheck needs dynamodb:ConditionCheckItem)
    code, message = _refusal(
        lambda: dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "jobs", "Item": _key("c")}},
                {
                    "ConditionCheck": {
                        "TableName": "jobs",
                        "Key": _key("a"),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    )
    assert (code, "dynamodb:ConditionCheckItem" in message) == ("AccessDeniedException", True)
    assert "Item" not in dynamodb.get_item(TableName="jobs", Key=_key("c"))
    # An index is its own resource: Query on the table does not cover it
    dynamodb.query(
        TableName="jobs", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}}
    )
    code, message = _refusal(
        lambda: dynamodb.query(
            TableName="jobs",
            IndexName="OpenJobs",
            KeyConditionExpression="shard = :s",
            ExpressionAttributeValues={":s": {"S": "0"}},
        )
    )
    assert f"{TABLE_ARN}/index/OpenJobs" in message
    assert _refusal(lambda: dynamodb.scan(TableName="jobs"))[0] == "AccessDeniedException"


def test_sqs_batches_are_authorized_as_their_single_message_action_on_the_queue(emulator: Emulator) -> None:
    sqs = emulator.as_role("sqs", emulator.worker)
    # Then SendMessageBatch and DeleteMessageBatch need only sqs:SendMessage* and sqs:DeleteMessage
    sqs.send_message_batch(QueueUrl=emulator.queue_url, Entries=[{"Id": "1", "MessageBody": "x"}])
    received = sqs.receive_message(QueueUrl=emulator.queue_url, WaitTimeSeconds=1)["Messages"]
    sqs.delete_message_batch(
        QueueUrl=emulator.queue_url,
        Entries=[{"Id": "1", "ReceiptHandle": message["ReceiptHandle"]} for message in received],
    )
    # And another queue, or an action not granted, is refused
    code, message = _refusal(lambda: sqs.send_message(QueueUrl=emulator.other_queue_url, MessageBody="x"))
    assert code == "AccessDenied"
    assert "sqs:SendMessage on resource: arn:aws:sqs:us-east-1:123456789012:other" in message
    code, _ = _refusal(lambda: sqs.get_queue_attributes(QueueUrl=emulator.queue_url, AttributeNames=["All"]))
    assert code == "AccessDenied"


def test_s3_objects_and_pre_signed_requests_are_authorized_as_their_signer(emulator: Emulator) -> None:
    s3 = emulator.as_role("s3", emulator.worker, config=Config(signature_version="s3v4"))
    s3.put_object(Bucket="results", Key="jobs/a.json", Body=b"{}")
    assert s3.get_object(Bucket="results", Key="jobs/a.json")["Body"].read() == b"{}"
    assert _refusal(lambda: s3.delete_object(Bucket="results", Key="jobs/a.json"))[0] == "AccessDenied"
    assert _refusal(lambda: s3.list_objects_v2(Bucket="results"))[0] == "AccessDenied"
    assert _refusal(lambda: s3.put_object(Bucket="other-bucket", Key="k", Body=b"x"))[0] == "AccessDenied"
    # A pre-signed link and a pre-signed POST form act with their signer's permissions
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "results", "Key": "jobs/a.json"})
    assert requests.get(url, timeout=10).content == b"{}"
    refused = s3.generate_presigned_url("get_object", Params={"Bucket": "other-bucket", "Key": "k"})
    assert requests.get(refused, timeout=10).status_code == 403
    form = s3.generate_presigned_post("results", "uploads/u.json")
    assert (
        requests.post(form["url"], data=form["fields"], files={"file": b"up"}, timeout=10).status_code == 204
    )
    form = s3.generate_presigned_post("other-bucket", "uploads/u.json")
    assert (
        requests.post(form["url"], data=form["fields"], files={"file": b"up"}, timeout=10).status_code == 403
    )
    # And an unsigned request is anonymous, refused
    assert requests.get(f"{emulator.endpoint}/results/jobs/a.json", timeout=10).status_code == 403


def test_eventbridge_is_authorized_per_event_bus(emulator: Emulator) -> None:
    events = emulator.as_role("events", emulator.worker)
    entry = {"Source": "netremedy", "DetailType": "JobCompleted", "Detail": "{}"}
    assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0
    code, message = _refusal(lambda: events.put_events(Entries=[{**entry, "EventBusName": "other-bus"}]))
    assert (code, "event-bus/other-bus" in message) == ("AccessDeniedException", True)


def test_unknown_keys_are_refused_and_the_administrator_may_do_anything(emulator: Emulator) -> None:
    stranger = boto3.client(
        "dynamodb",
        endpoint_url=emulator.endpoint,
        region_name=REGION,
        aws_access_key_id="AKIANOTAKEYATALL0000",
        aws_secret_access_key="x",
    )
    with pytest.raises(ClientError) as refused:
        stranger.scan(TableName="jobs")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert emulator.admin("dynamodb").scan(TableName="jobs")["Count"] >= 1


def test_what_moto_does_not_evaluate(emulator: Emulator) -> None:
    """The README's "not enforced" rows: if moto starts evaluating one, this test says so."""
    s3 = emulator.as_role("s3", emulator.worker)
    # Conditions in identity policies are not evaluated: the TLS-only statement applies over plain HTTP
    s3.put_object(Bucket="conditional", Key="k", Body=b"x")
    # SQS queue policies are not evaluated: the queue's deny-everything policy changes nothing
    emulator.as_role("sqs", emulator.worker).send_message(QueueUrl=emulator.queue_url, MessageBody="x")
    # A missing object read without s3:ListBucket is a 404 (AWS answers 403)
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket="results", Key="never-written")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # S3 bucket policies are: their explicit Deny wins over the role's Allow
    assert _refusal(lambda: s3.put_object(Bucket="denying", Key="k", Body=b"x"))[0] == "403"


def test_a_shared_client_signs_as_the_function_invoking_it_in_each_thread(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given this process signing as the invoking function, as the stack's API process does (restored after)
    monkeypatch.setattr(botocore.session.Session, "get_credentials", botocore.session.Session.get_credentials)
    monkeypatch.setattr(
        concurrent.futures.ThreadPoolExecutor, "submit", concurrent.futures.ThreadPoolExecutor.submit
    )
    monkeypatch.setattr(iam, "_sessions", {})
    iam.sign_as_invoking_function({"Worker": emulator.worker, "Reader": emulator.reader})
    dynamodb = boto3.session.Session().client("dynamodb", endpoint_url=emulator.endpoint, region_name=REGION)
    outcomes: dict[str, str] = {}

    def put_as(function_id: str) -> None:
        # A thread the invocation starts through a pool signs as the function too
        with iam.invoking(function_id), concurrent.futures.ThreadPoolExecutor(2) as pool:
            try:
                pool.submit(dynamodb.put_item, TableName="jobs", Item=_key(function_id)).result()
                outcomes[function_id] = "allowed"
            except ClientError as exc:
                outcomes[function_id] = exc.response["Error"]["Code"]

    # When two functions use the one client at the same time
    threads = [threading.Thread(target=put_as, args=(name,)) for name in ("Worker", "Reader")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then each request was its own function's: the worker may put, the reader may not
    assert outcomes == {"Worker": "allowed", "Reader": "AccessDeniedException"}
    # And a call outside any invocation fails rather than borrowing a role
    with pytest.raises(iam.OutsideInvocationError):
        dynamodb.get_item(TableName="jobs", Key=_key("Worker"))


def test_local_iam_switch() -> None:
    assert iam.enforcement_requested({}) is True
    assert iam.enforcement_requested({"LOCAL_IAM": "off"}) is False
    assert iam.enforcement_requested({"LOCAL_IAM": "ON"}) is True
    with pytest.raises(ValueError, match="LOCAL_IAM"):
        iam.enforcement_requested({"LOCAL_IAM": "maybe"})
