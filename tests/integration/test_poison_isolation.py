"""One device never fails, stalls or delays others, on the local stack that enforces DynamoDB's 400 KB items
and SQS's 256 KiB messages as AWS does: a poisoned device fails alone and at once, a result too big for an
item is claim-checked, and a manifest nested too deeply is refused at once."""

import json
import random
import string
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.integration.conftest import LocalStack, running_stack

pytestmark = pytest.mark.integration

# Far under the device queue's visibility timeout (720 s): a job done within this had no batch retried.
NO_RETRY_SECONDS = 120
# A line of 450 KB, twice: hier_config's DuplicateChildError quotes it whole, which once made the device's
# result item exceed 400 KB and failed every device of the worker's batch, for an hour of retries.
LONG_LINE = "description " + "x" * 450_000


def _ordinary(device_id: str) -> dict[str, str]:
    return {
        "device_id": device_id,
        "platform": "cisco_ios",
        "running_config": f"hostname {device_id}",
        "intended_config": f"hostname {device_id}-new",
    }


def _by_id(stack: LocalStack, job_id: str) -> dict[str, dict[str, Any]]:
    return {result["device_id"]: result for result in stack.results(job_id)["results"]}


def _wait_all(stack: LocalStack, job_ids: list[str]) -> list[dict[str, Any]]:
    started = time.monotonic()
    statuses = [stack.wait(job_id, timeout=NO_RETRY_SECONDS) for job_id in job_ids]
    assert time.monotonic() - started < NO_RETRY_SECONDS
    return statuses


def test_a_poisoned_device_fails_alone_and_nobody_waits_for_a_retry(local_stack: LocalStack) -> None:
    # Given a job with a device whose running config has a 450 KB line written twice, next to ordinary
    # devices of it, and another job of ordinary devices submitted at the same time
    poisoned = {
        "device_id": "poisoned",
        "platform": "cisco_ios",
        "running_config": f"interface Gi0/1\n {LONG_LINE}\n {LONG_LINE}\n",
        "intended_config": "hostname poisoned",
    }
    first = local_stack.submit([_ordinary("a1"), poisoned, _ordinary("a2"), _ordinary("a3")])
    second = local_stack.submit([_ordinary(f"b{index}") for index in range(5)])
    # When both run, they finish well before a redelivery could have happened
    first_status, second_status = _wait_all(local_stack, [first, second])
    # Then the ordinary devices of both jobs succeed and only the poisoned one failed
    assert (first_status["status"], first_status["completed_devices"], first_status["failed_devices"]) == (
        "completed",
        3,
        1,
    )
    assert (second_status["status"], second_status["completed_devices"]) == ("completed", 5)
    first_results = _by_id(local_stack, first)
    assert all(first_results[device]["status"] == "success" for device in ("a1", "a2", "a3"))
    assert all(result["status"] == "success" for result in _by_id(local_stack, second).values())
    # And its error is bounded: it names the problem and quotes only an excerpt of the line
    failure = first_results["poisoned"]
    assert failure["status"] == "failed"
    assert "DuplicateChildError" in failure["error"] and "appears twice" in failure["error"]
    assert len(failure["error"]) <= 2_048 and "x" * 1_000 not in failure["error"]
    # And no device message went to the dead-letter queue
    assert local_stack.queue_depth("DeviceDeadLetterQueue") == 0


def test_a_manifest_nested_too_deeply_is_refused_at_once(local_stack: LocalStack) -> None:
    # Given a 6 KB manifest nesting 3,000 arrays, dropped under the drop prefix
    s3, bucket = local_stack.client("s3"), local_stack.resources["ResultBucket"]
    body = '{"device_configs": ' + "[" * 3_000 + "]" * 3_000 + "}"
    s3.put_object(Bucket=bucket, Key="incoming/nested.json", Body=body.encode())
    # Then its errors/ object appears at once (not after hours of retries) and says why
    deadline = time.monotonic() + 60
    while True:
        try:
            refusal = json.loads(s3.get_object(Bucket=bucket, Key="errors/nested.json")["Body"].read())
            break
        except s3.exceptions.NoSuchKey:
            assert time.monotonic() < deadline, "errors/nested.json never appeared"
            time.sleep(0.3)
    assert "nested too deeply" in refusal["error"]
    assert local_stack.queue_depth("DropDeadLetterQueue") == 0


@pytest.fixture(scope="module")
def big_inline_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # Outputs up to 2 MB stay inline by this setting: only the item limit can send them to S3 now.
    with running_stack(
        tmp_path_factory.mktemp("big-inline-stack"), RESULT_INLINE_LIMIT_BYTES="2000000"
    ) as stack:
        yield stack


def test_a_result_too_big_for_an_item_is_claim_checked_whatever_the_inline_setting(
    big_inline_stack: LocalStack,
) -> None:
    # Given a device whose remediation is about 700 KB of random text (more than a DynamoDB item holds even
    # compressed), next to an ordinary device of another job
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits
    intended = "\n".join(
        f"interface Loopback{index}\n description {''.join(rng.choices(alphabet, k=200))}"
        for index in range(3_000)
    )
    big = {
        "device_id": "big",
        "platform": "cisco_ios",
        "running_config": "hostname big",
        "intended_config": intended,
    }
    first = big_inline_stack.submit([big, _ordinary("c1")])
    second = big_inline_stack.submit([_ordinary("d1")])
    # When both run, they finish without a retry
    _wait_all(big_inline_stack, [first, second])
    # Then the big device succeeded, its outputs in S3 and its item far under 400 KB
    result = _by_id(big_inline_stack, first)["big"]
    assert result["status"] == "success" and len(result["remediation"]) > 400 * 1024
    assert result["remediation"].startswith("no hostname big\ninterface Loopback0\n  description ")
    item = big_inline_stack.client("dynamodb").get_item(
        TableName=big_inline_stack.resources["JobTable"],
        Key={"pk": {"S": f"JOB#{first}"}, "sk": {"S": "DEVICE#big"}},
    )["Item"]
    assert item["output_key"]["S"] == f"outputs/{first}/big.json" and "remediation" not in item
    # And the others are unaffected
    assert _by_id(big_inline_stack, first)["c1"]["status"] == "success"
    assert _by_id(big_inline_stack, second)["d1"]["status"] == "success"
    one = requests.get(f"{big_inline_stack.api_url}/api/v1/batch/jobs/{first}/results/big", timeout=60)
    assert one.status_code == 200 and one.json()["remediation"] == result["remediation"]
