"""S3 config drops and fleet-scale reading on the real local stack: inline and by-key manifests, refused
drops, results written back to S3, paged results, the download bundle, and the largest
corpus config end to end through S3 claim checks."""

import json
import time
from typing import Any

import pytest
import requests
from hier_config import Platform, WorkflowRemediation, get_hconfig

from tests.conftest import CORPUS_DIR, require_corpus
from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration


def _s3(stack: LocalStack) -> Any:
    return stack.client("s3")


def _bucket(stack: LocalStack) -> str:
    return stack.resources["ResultBucket"]


def _drop(stack: LocalStack, name: str, manifest: Any) -> None:
    body = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    _s3(stack).put_object(Bucket=_bucket(stack), Key=f"incoming/{name}", Body=body)


def test_an_inline_drop_runs_a_job_and_writes_its_results_back(local_stack: LocalStack) -> None:
    manifest = {
        "device_configs": [
            {
                "device_id": f"drop{i}",
                "platform": "cisco_ios",
                "running_config": f"hostname drop{i}",
                "intended_config": f"hostname drop{i}-new",
            }
            for i in range(3)
        ]
    }
    _drop(local_stack, "inline.json", manifest)
    accepted = local_stack.wait_for_json("accepted/inline.json")
    job_id = accepted["job_id"]
    assert accepted["total_devices"] == 3 and accepted["source"].endswith("/incoming/inline.json")
    summary = local_stack.wait_for_json(f"results/{job_id}/summary.json")
    assert (summary["status"], summary["completed_devices"], summary["source"]) == (
        "completed",
        3,
        accepted["source"],
    )
    api_results = {
        r["device_id"]: r
        for r in requests.get(f"{local_stack.api_url}/api/v1/batch/jobs/{job_id}/results", timeout=30).json()[
            "results"
        ]
    }
    for device_id, result in api_results.items():
        assert local_stack.wait_for_json(f"results/{job_id}/devices/{device_id}.json") == result
    assert api_results["drop1"]["remediation"] == "no hostname drop1\nhostname drop1-new"


def test_a_drop_by_key_reads_configs_that_live_in_the_bucket(local_stack: LocalStack) -> None:
    s3, bucket = _s3(local_stack), _bucket(local_stack)
    s3.put_object(
        Bucket=bucket, Key="backups/core 1+a/running.conf", Body=b"hostname core1\nip domain-name a"
    )
    s3.put_object(
        Bucket=bucket, Key="backups/core 1+a/intended.conf", Body=b"hostname core1\nip domain-name b"
    )
    _drop(
        local_stack,
        "by key + space.json",
        {
            "device_configs": [
                {
                    "device_id": "core1",
                    "platform": "cisco_ios",
                    "running_config_key": "backups/core 1+a/running.conf",
                    "intended_config_key": "backups/core 1+a/intended.conf",
                }
            ]
        },
    )
    job_id = local_stack.wait_for_json("accepted/by key + space.json")["job_id"]
    local_stack.wait_for_json(f"results/{job_id}/summary.json")
    result = requests.get(
        f"{local_stack.api_url}/api/v1/batch/jobs/{job_id}/results/core1", timeout=30
    ).json()
    assert result == {
        "device_id": "core1",
        "status": "success",
        "remediation": "no ip domain-name a\nip domain-name b",
        "rollback": "no ip domain-name b\nip domain-name a",
        "compliant": False,
        "risks": [],
    }


@pytest.mark.parametrize(
    ("name", "manifest", "reason"),
    [
        ("not-json.json", b"{device_configs: oops", "not valid JSON"),
        (
            "schema.json",
            {
                "device_configs": [
                    {"device_id": "x", "platform": "ios", "running_config": "a", "intended_config": "b"}
                ]
            },
            "device_configs[0].platform",
        ),
        (
            "both.json",
            {
                "device_configs": [
                    {
                        "device_id": "x",
                        "platform": "cisco_ios",
                        "running_config": "a",
                        "running_config_key": "k",
                        "intended_config": "b",
                    }
                ]
            },
            "exactly one",
        ),
    ],
)
def test_a_refused_drop_explains_itself_and_creates_no_job(
    local_stack: LocalStack, name: str, manifest: Any, reason: str
) -> None:
    before = local_stack.job_count()
    _drop(local_stack, name, manifest)
    refusal = local_stack.wait_for_json(f"errors/{name}")
    assert reason in json.dumps(refusal)
    assert refusal["source"].endswith(f"incoming/{name}")
    assert local_stack.job_count() == before
    with pytest.raises(_s3(local_stack).exceptions.NoSuchKey):
        _s3(local_stack).get_object(Bucket=_bucket(local_stack), Key=f"accepted/{name}")


def test_a_2000_device_job_pages_every_device_exactly_once(local_stack: LocalStack) -> None:
    devices = [
        {
            "device_id": f"fleet{i:04d}",
            "platform": "cisco_ios",
            "running_config": f"hostname f{i}",
            "intended_config": f"hostname f{i}-new",
        }
        for i in range(2000)
    ]
    job_id = local_stack.submit(devices)
    local_stack.wait(job_id, timeout=300)
    url = f"{local_stack.api_url}/api/v1/batch/jobs/{job_id}/results"
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 300} | ({"next_token": token} if token else {})
        page = requests.get(url, params=params, timeout=60).json()
        pages += 1
        assert len(page["results"]) <= 300
        seen.extend(r["device_id"] for r in page["results"])
        token = page["next_token"]
        if token is None:
            break
    assert pages == 7 and seen == sorted(d["device_id"] for d in devices)
    # Without a limit, pages hold 1,000 devices
    first = requests.get(url, timeout=60).json()
    assert len(first["results"]) == 1000 and first["next_token"]
    # A token the API did not issue is a 400 naming the field
    bad = requests.get(url, params={"next_token": "!!"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "next_token"
    # The finished job offers everything as one JSON Lines download
    deadline = time.monotonic() + 60
    while (
        bundle := requests.get(f"{local_stack.api_url}/api/v1/batch/jobs/{job_id}/bundle", timeout=30)
    ).status_code != 200:
        assert bundle.status_code == 409 and time.monotonic() < deadline
        time.sleep(0.5)
    lines = requests.get(bundle.json()["url"], timeout=60).text.splitlines()
    assert len(lines) == 2000 and json.loads(lines[1234])["device_id"] == "fleet1234"


def test_the_largest_corpus_config_goes_end_to_end_through_s3(local_stack: LocalStack) -> None:
    require_corpus()
    case = CORPUS_DIR / "cisco_xr" / "derived_hcedit_netutils_iosxr_dfw1-core-01"
    running, intended = (case / "running.conf").read_text(), (case / "intended.conf").read_text()
    assert running.count("\n") >= 18_000
    s3, bucket = _s3(local_stack), _bucket(local_stack)
    s3.put_object(Bucket=bucket, Key="backups/dfw1/running.conf", Body=running.encode())
    s3.put_object(Bucket=bucket, Key="backups/dfw1/intended.conf", Body=intended.encode())
    _drop(
        local_stack,
        "largest.json",
        {
            "device_configs": [
                {
                    "device_id": "dfw1-core-01",
                    "platform": "cisco_xr",
                    "running_config_key": "backups/dfw1/running.conf",
                    "intended_config_key": "backups/dfw1/intended.conf",
                }
            ]
        },
    )
    job_id = local_stack.wait_for_json("accepted/largest.json")["job_id"]
    local_stack.wait(job_id, timeout=180)
    # The device's message carried its two keys, which the worker read (so no claim check of its configs was
    # needed), and its result item carries an S3 key (claim check)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=f"inputs/{job_id}/dfw1-core-01")
    assert s3.head_object(Bucket=bucket, Key=f"outputs/{job_id}/dfw1-core-01.json")["ContentLength"] > 100_000
    result = requests.get(
        f"{local_stack.api_url}/api/v1/batch/jobs/{job_id}/results/dfw1-core-01", timeout=60
    ).json()
    workflow = WorkflowRemediation(
        get_hconfig(Platform.CISCO_XR, running), get_hconfig(Platform.CISCO_XR, intended)
    )
    assert result["remediation"] == "\n".join(
        c.cisco_style_text() for c in workflow.remediation_config.all_children_sorted()
    )
    assert result["rollback"] == "\n".join(
        c.cisco_style_text() for c in workflow.rollback_config.all_children_sorted()
    )
