"""One AWS-call meter: netremedy_local.metering instruments boto3 once per process, and the benchmark's
billing meter (bench/_stack_meter, loaded as sitecustomize) plugs its hooks into it."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT

_SCRIPT = """
import json, sys, time
from pathlib import Path

import boto3
from moto import mock_aws

from netremedy_local import metering

metering.install(Path(sys.argv[1]))
with mock_aws():
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "J#1"}, "sk": {"S": "JOB"}, "pad": {"S": "x" * 3000}})
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.send_message(QueueUrl=sqs.create_queue(QueueName="q")["QueueUrl"], MessageBody="x" * 70000)
time.sleep(metering.FLUSH_INTERVAL_SECONDS + 0.5)  # one flush of each meter (they share its flusher)
client = boto3.session.Session.client
print(json.dumps({"wrapped_once": client.__wrapped__.__module__ == "boto3.session"}))
"""


def test_the_call_counter_and_the_billing_meter_share_one_boto3_instrumentation(tmp_path: Path) -> None:
    # Given a stack process with both meters on, as the benchmark starts them
    env = dict(
        os.environ,
        LOCAL_METER_AWS_CALLS="1",
        BENCH_METER_DIR=str(tmp_path / "bench-meter"),
        PYTHONPATH=os.pathsep.join(
            [str(PROJECT_ROOT / "bench" / "_stack_meter"), os.environ.get("PYTHONPATH", "")]
        ),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    env = {name: value for name, value in env.items() if not name.startswith("AWS_ENDPOINT_URL")}
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path)],
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    # Then boto3's client factory is wrapped once, by the repository's meter
    assert json.loads(run.stdout.splitlines()[-1]) == {"wrapped_once": True}
    # And both meters saw every call
    (calls,) = [json.loads(path.read_text()) for path in (tmp_path / "aws-calls").glob("*.json")]
    assert calls["dynamodb:PutItem"] == 1 and calls["sqs:SendMessage"] == 1 and calls["job_row_writes"] == 1
    (units,) = [json.loads(path.read_text()) for path in (tmp_path / "bench-meter").glob("*.json")]
    assert units["calls:dynamodb:PutItem"] == 1 and units["calls:sqs:SendMessage"] == 1
    # With AWS's sizes: a 3 KB item is 3 write units; a 70,000-byte message is two 64 KiB request chunks
    assert units["dynamodb:wru"] == 3
    assert (
        units["sqs:requests_64k"] == 1 + 2 and units["sqs:q:sent_messages"] == 1
    )  # CreateQueue, then the send
