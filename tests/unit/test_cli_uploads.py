"""The CLI sends a job too big for one POST through an upload: the devices as JSON Lines to S3, then one job
started from the upload with the job's options."""

import json
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from netremedy_cli.api_client import MAX_DEVICES_PER_POST, ApiClient
from netremedy_cli.errors import CliError
from tests.unit.fake_http import json_response

UPLOAD_ID = "0b5e0c2e-6f1a-4b7e-9c3d-2a1f5e8d7c64"


class Api(BaseAdapter):
    """The API: an upload form, then a job."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        if (request.url or "").endswith("/api/v1/batch/uploads"):
            form = {"key": f"uploads/{UPLOAD_ID}.jsonl", "policy": "p"}
            body = {"upload_id": UPLOAD_ID, "url": "http://s3.test/bucket", "fields": form}
            return json_response(request, 201, body | {"expires_in": 900, "max_bytes": 1024**3})
        return json_response(request, 202, {"job_id": "job-1", "total_devices": None})

    def close(self) -> None:
        return None


def _device(index: int, config: str = "hostname a") -> dict[str, Any]:
    return {
        "device_id": f"r{index}",
        "platform": "cisco_ios",
        "running_config": config,
        "intended_config": "x",
    }


def test_a_body_fits_one_post_within_the_limits_only() -> None:
    assert ApiClient.fits_one_post({"device_configs": [_device(0)]})
    assert not ApiClient.fits_one_post(
        {"device_configs": [_device(i) for i in range(MAX_DEVICES_PER_POST + 1)]}
    )
    assert not ApiClient.fits_one_post({"device_configs": [_device(0, "x" * 6 * 1024 * 1024)]})


def test_an_upload_sends_the_devices_as_json_lines_then_starts_one_job_with_the_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the API and S3, which keeps what is posted to it
    client = ApiClient("http://127.0.0.1:8000", caller="alice")
    api = Api()
    client.session.mount("http://", api)
    posted: list[dict[str, Any]] = []

    def s3_post(url: str, **kwargs: Any) -> requests.Response:
        posted.append({"url": url, **kwargs})
        response = requests.Response()
        response.status_code = 204
        return response

    monkeypatch.setattr("netremedy_cli.api_client.requests.post", s3_post)
    devices = [_device(i) for i in range(3)]
    # When a job is submitted through an upload
    created, size = client.submit_by_upload(
        {"device_configs": devices, "options": {"outputs": ["diff"]}, "allow_empty_intended": True}, "key-1"
    )
    # Then the form's fields and the devices, one per line, went to S3, without the API's caller header
    ((upload,),) = [posted]
    assert upload["url"] == "http://s3.test/bucket" and upload["data"]["key"] == f"uploads/{UPLOAD_ID}.jsonl"
    manifest = upload["files"]["file"][1]
    assert [json.loads(line) for line in manifest.splitlines()] == devices and size == len(manifest)
    assert "headers" not in upload
    # And one job was started from the upload, with the options and the idempotency key, and no devices
    start = api.sent[-1]
    assert json.loads(start.body or b"") == {
        "manifest_upload": UPLOAD_ID,
        "options": {"outputs": ["diff"]},
        "allow_empty_intended": True,
    }
    assert start.headers["Idempotency-Key"] == "key-1" and created["job_id"] == "job-1"


def test_an_upload_s3_refuses_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    client = ApiClient("http://127.0.0.1:8000")
    client.session.mount("http://", Api())

    def s3_post(url: str, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = 400
        response._content = (
            b"<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds</Message></Error>"
        )
        return response

    monkeypatch.setattr("netremedy_cli.api_client.requests.post", s3_post)
    with pytest.raises(
        CliError, match=r"S3 refused the manifest upload \(400 EntityTooLarge\): Your proposed"
    ):
        client.submit_by_upload({"device_configs": [_device(0)]})
