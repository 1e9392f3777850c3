"""S3 POST form uploads on the emulator are held to their signed policy, as S3 holds them (moto stores any)."""

import base64
import json
import uuid

import pytest
import requests
from botocore.exceptions import ClientError

from netremedy_local.aws_limits import post_policy_refusal
from tests.emulator.conftest import Emulated


def _form(aws: Emulated, key: str, max_bytes: int) -> tuple[str, dict[str, str]]:
    s3 = aws.client("s3")
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    form = s3.generate_presigned_post(
        Bucket=bucket, Key=key, Conditions=[["content-length-range", 1, max_bytes]], ExpiresIn=60
    )
    return bucket, form


@pytest.mark.parametrize(
    ("size", "status", "code"), [(10, 204, None), (11, 400, "EntityTooLarge"), (0, 400, "EntityTooSmall")]
)
def test_a_form_upload_is_held_to_its_content_length_range(
    aws: Emulated, size: int, status: int, code: str | None
) -> None:
    # Given a form for 1 to 10 bytes
    bucket, form = _form(aws, "uploads/m.json", 10)
    # When a file of ``size`` bytes is posted with it
    response = requests.post(form["url"], data=form["fields"], files={"file": ("m", b"x" * size)}, timeout=30)
    # Then S3's answer: stored within the range, refused with S3's error code outside it
    assert response.status_code == status, response.text
    try:
        stored = aws.client("s3").head_object(Bucket=bucket, Key="uploads/m.json")["ContentLength"]
    except ClientError:
        stored = None
    if code is None:
        assert stored == size
    else:
        assert f"<Code>{code}</Code>" in response.text and stored is None


def test_a_form_is_for_its_own_key_only(aws: Emulated) -> None:
    bucket, form = _form(aws, "uploads/mine.json", 10)
    fields = dict(form["fields"], key="uploads/other.json")
    response = requests.post(form["url"], data=fields, files={"file": ("m", b"abc")}, timeout=30)
    assert response.status_code == 403 and "<Code>AccessDenied</Code>" in response.text
    assert "Contents" not in aws.client("s3").list_objects_v2(Bucket=bucket)


def _policy(expiration: str, *conditions: object) -> str:
    document = {"expiration": expiration, "conditions": list(conditions)}
    return base64.b64encode(json.dumps(document).encode()).decode()


def test_an_expired_policy_is_refused_and_no_policy_is_not_checked() -> None:
    # 2026-01-01T00:00:00Z is 1767225600
    policy = _policy("2026-01-01T00:00:00Z", {"key": "k"})
    assert post_policy_refusal(policy, {"key": "k"}, 1, 1767225599) is None
    refusal = post_policy_refusal(policy, {"key": "k"}, 1, 1767225601)
    assert refusal is not None and refusal[:2] == (403, "AccessDenied") and "expired" in refusal[2]
    assert post_policy_refusal(None, {}, 10**12, 0) is None


def test_eq_conditions_name_form_fields() -> None:
    policy = _policy("2100-01-01T00:00:00Z", ["eq", "$key", "a"], {"bucket": "ignored-here"})
    assert post_policy_refusal(policy, {"key": "a"}, 1, 0) is None
    assert post_policy_refusal(policy, {"key": "b"}, 1, 0) is not None
