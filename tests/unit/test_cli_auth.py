"""The CLI's SigV4 signing (checked against an independent SigV4 computation over the bytes actually sent)
and the order in which it finds the API URL."""

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

from netremedy_cli.api_client import (
    FROM_DEFAULT,
    FROM_ENV,
    FROM_FLAG,
    FROM_STACK_FILE,
    ApiClient,
    ApiLocation,
    locate_api,
)
from netremedy_cli.auth import needs_signing, region_from_host
from netremedy_cli.errors import CliError
from tests.unit.fake_http import json_response

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN"
AWS_URL = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"


class Recorder(BaseAdapter):
    """A transport that keeps each request as it would go on the wire and answers a fixed JSON body."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__()
        self.answer = answer
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        return json_response(request, 200, self.answer)

    def close(self) -> None:
        return None


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fixed fake credentials from the environment, and nothing else the credential chain could find."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def recording_client(url: str, **options: Any) -> tuple[ApiClient, Recorder]:
    client = ApiClient(url, **options)
    recorder = Recorder(
        {
            "job_id": "job-1",
            "total_devices": 1,
            "status": "completed",
            "results": [],
            "summary": {},
            "next_token": None,
        }
    )
    client.session.mount("https://", recorder)
    client.session.mount("http://", recorder)
    return client, recorder


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def expected_signature(
    request: requests.PreparedRequest, signed_headers: list[str], amz_date: str, scope: str
) -> str:
    """SigV4 as AWS documents it, written out independently of botocore: what API Gateway will check."""
    url = urlsplit(request.url or "")
    sent = {name.lower(): " ".join(str(value).split()) for name, value in request.headers.items()}
    sent["host"] = url.netloc  # http.client adds Host from the URL when sending
    body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
    canonical = "\n".join(
        [
            request.method or "",
            url.path or "/",
            url.query,
            "".join(f"{name}:{sent[name]}\n" for name in signed_headers),
            ";".join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    date, region, service, terminator = scope.split("/")
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{SECRET_KEY}".encode(), date), region), service), terminator)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>[^,]+), "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


def header(request: requests.PreparedRequest, name: str) -> str:
    value = request.headers[name]
    return value.decode() if isinstance(value, bytes) else value


def parse_authorization(request: requests.PreparedRequest) -> re.Match[str]:
    match = AUTHORIZATION.match(header(request, "Authorization"))
    assert match, header(request, "Authorization")
    return match


@pytest.mark.usefixtures("aws_env")
def test_a_post_to_api_gateway_is_signed_for_execute_api_in_the_hosts_region() -> None:
    client, recorder = recording_client(AWS_URL, caller="ignored-on-aws")

    client.submit(
        {"device_configs": [{"device_id": "r1", "running_config": "banner motd ^ünïcode^"}]},
        idempotency_key="retry-1",
    )

    (request,) = recorder.sent
    amz_date = header(request, "X-Amz-Date")
    assert re.fullmatch(r"\d{8}T\d{6}Z", amz_date)
    assert (
        abs(
            (
                datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) - datetime.now(UTC)
            ).total_seconds()
        )
        < 300
    )
    assert header(request, "X-Amz-Security-Token") == SESSION_TOKEN
    auth = parse_authorization(request)
    assert auth["key"] == ACCESS_KEY
    assert auth["scope"] == f"{amz_date[:8]}/eu-west-1/execute-api/aws4_request"
    signed = auth["signed"].split(";")
    assert signed == sorted(signed)
    assert {
        "host",
        "x-amz-date",
        "x-amz-security-token",
        "content-type",
        "idempotency-key",
        "x-netremedy-caller",
    } <= set(signed)
    # the signature covers the exact bytes sent, non-ASCII body included
    assert auth["signature"] == expected_signature(request, signed, amz_date, auth["scope"])


@pytest.mark.usefixtures("aws_env")
def test_a_get_is_signed_too() -> None:
    client, recorder = recording_client(AWS_URL + "/")

    client.status("0b5e0c2e-1111-2222-3333-444455556666")

    (request,) = recorder.sent
    assert request.url == f"{AWS_URL}/api/v1/batch/jobs/0b5e0c2e-1111-2222-3333-444455556666"
    auth = parse_authorization(request)
    assert auth["signature"] == expected_signature(
        request, auth["signed"].split(";"), header(request, "X-Amz-Date"), auth["scope"]
    )


@pytest.mark.usefixtures("aws_env")
def test_a_get_with_a_query_is_signed_over_the_query_it_sends() -> None:
    """API Gateway signs the sorted, RFC 3986-encoded query: the client sends exactly that form."""
    client, recorder = recording_client(AWS_URL)

    client.report("job-1", min_devices=2, limit=8)
    client.results_page("job-1", next_token="a+b/c==", limit=1000)

    report, page = recorder.sent
    assert urlsplit(report.url or "").query == "limit=8&min_devices=2"
    assert urlsplit(page.url or "").query == "limit=1000&next_token=a%2Bb%2Fc%3D%3D"
    for request in recorder.sent:
        auth = parse_authorization(request)
        assert auth["signature"] == expected_signature(
            request, auth["signed"].split(";"), header(request, "X-Amz-Date"), auth["scope"]
        )


@pytest.mark.usefixtures("aws_env")
def test_the_local_stack_gets_no_signature_but_the_caller_header() -> None:
    client, recorder = recording_client("http://127.0.0.1:8000", caller="alice")

    client.submit({"device_configs": []})

    (request,) = recorder.sent
    assert "Authorization" not in request.headers
    assert "X-Amz-Date" not in request.headers
    assert "X-Amz-Security-Token" not in request.headers
    assert request.headers["x-netremedy-caller"] == "alice"


def test_signing_is_forced_with_sigv4_using_the_sessions_region(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    client, recorder = recording_client("https://remedy.example.net", sigv4=True)

    client.results("job-1")

    auth = parse_authorization(recorder.sent[0])
    assert auth["scope"].endswith("/ap-southeast-2/execute-api/aws4_request")


def test_signing_without_credentials_is_a_usage_error(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    with pytest.raises(CliError, match="no AWS credentials found"):
        ApiClient(AWS_URL)


@pytest.mark.usefixtures("aws_env")
def test_signing_a_custom_domain_without_a_region_is_a_usage_error() -> None:
    with pytest.raises(CliError, match=r"cannot tell the AWS region of https://remedy\.example\.net"):
        ApiClient("https://remedy.example.net", sigv4=True)


@pytest.mark.parametrize(
    ("url", "signed", "region"),
    [
        (AWS_URL, True, "eu-west-1"),
        ("https://A1B2.EXECUTE-API.US-EAST-2.AMAZONAWS.COM/prod", True, "us-east-2"),
        ("https://vpce-1.execute-api.us-east-1.vpce.amazonaws.com", True, None),
        ("http://127.0.0.1:8000", False, None),
        ("http://localhost:8000", False, None),
        ("https://amazonaws.com.example.org", False, None),
    ],
)
def test_which_urls_are_signed_and_their_region(url: str, signed: bool, region: str | None) -> None:
    assert needs_signing(url) is signed
    assert needs_signing(url, force=True) is True
    assert region_from_host(url) == region


def write_stack_file(directory: Path, content: str) -> None:
    (directory / ".local").mkdir()
    (directory / ".local" / "stack.json").write_text(content)


def test_url_resolution_order(tmp_path: Path) -> None:
    write_stack_file(tmp_path, json.dumps({"api_url": "http://127.0.0.1:8123", "region": "us-east-1"}))
    env = {"NETREMEDY_URL": "http://10.0.0.5:9000/"}

    given = ApiLocation("https://given.example", FROM_FLAG)
    assert locate_api("https://given.example/", env, tmp_path) == given
    assert locate_api(None, env, tmp_path) == ApiLocation("http://10.0.0.5:9000", FROM_ENV)
    assert locate_api(None, {}, tmp_path) == ApiLocation("http://127.0.0.1:8123", FROM_STACK_FILE)
    assert locate_api(None, {"NETREMEDY_URL": ""}, tmp_path).url == "http://127.0.0.1:8123"
    assert locate_api(None, {}, tmp_path / "elsewhere") == ApiLocation("http://127.0.0.1:8000", FROM_DEFAULT)


@pytest.mark.parametrize("content", ["{half", "[]", '{"api_url": 8000}', '{"region": "us-east-1"}'])
def test_an_unusable_stack_file_falls_back_to_the_default(tmp_path: Path, content: str) -> None:
    write_stack_file(tmp_path, content)
    assert locate_api(None, {}, tmp_path) == ApiLocation("http://127.0.0.1:8000", FROM_DEFAULT)


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://host", "http://"])
def test_an_invalid_url_is_a_usage_error(url: str) -> None:
    with pytest.raises(CliError, match="invalid API URL"):
        locate_api(url, {})
