"""The CLI's error lines (one line, naming the fields) and the result files --out writes."""

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from netremedy_cli.api_client import error_from_response
from netremedy_cli.errors import ApiError, CliError, FieldError
from netremedy_cli.main import main
from netremedy_cli.output import write_result_files


def http_response(status: int, body: bytes, content_type: str = "application/json") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers["Content-Type"] = content_type
    response.url = "https://api.example/api/v1/batch/remediation"
    return response


def test_an_api_error_names_each_field_its_message_does_not() -> None:
    message = "device_configs[0].platform: Input should be 'cisco_ios'"
    body = {
        "error": "validation_error",
        "message": message,
        "details": [
            {"field": "device_configs[0].platform", "message": "Input should be 'cisco_ios'"},
            {"field": "device_configs[4].device_id", "message": "String should match pattern"},
        ],
    }

    error = error_from_response(http_response(422, json.dumps(body).encode()))

    assert isinstance(error, ApiError) and error.status == 422 and error.code == "validation_error"
    assert error.line() == (
        "device_configs[0].platform: Input should be 'cisco_ios' (fields: device_configs[4].device_id)"
    )


def test_an_api_error_can_say_where_a_field_came_from() -> None:
    details = [FieldError("device_configs[2].platform", "x")]
    error = ApiError(422, "validation_error", "bad\nplatform", details)
    line = error.line(lambda field: f"{field[:17]} is 'r3' from fleet/r3")
    assert line == (
        "bad platform (fields: device_configs[2].platform) [device_configs[2] is 'r3' from fleet/r3]"
    )


def test_api_gateways_own_error_and_non_json_answers_become_one_line() -> None:
    forbidden = error_from_response(http_response(403, b'{"message":"Forbidden"}'))
    assert forbidden.line() == "HTTP 403: Forbidden"
    proxy = error_from_response(http_response(502, b"<html>\n<h1>Bad Gateway</h1>\n</html>", "text/html"))
    assert proxy.line() == (
        "HTTP 502 from https://api.example/api/v1/batch/remediation: <html> <h1>Bad Gateway</h1> </html>"
    )


def test_a_job_that_could_not_start_names_the_recorded_job() -> None:
    body = {"error": "job_not_started", "message": "queue unavailable", "details": [], "job_id": "j-1"}
    assert error_from_response(http_response(503, json.dumps(body).encode())).line() == (
        "queue unavailable (job j-1 is recorded as failed)"
    )


def results(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return list(items)


def test_result_files_hold_exactly_the_api_text_and_errors_one_line_each(tmp_path: Path) -> None:
    out = tmp_path / "out" / "nested"
    written, failed = write_result_files(
        out,
        results(
            {
                "device_id": "r1",
                "status": "success",
                "remediation": "interface Gi0/1\r\n description [x]",
                "rollback": "",
            },
            {"device_id": "r2", "status": "failed", "error": "running_config could not be parsed\n(detail)"},
        ),
    )

    assert (written, failed) == (1, 1)
    assert (out / "r1.remediation.conf").read_bytes() == b"interface Gi0/1\r\n description [x]"
    assert (out / "r1.rollback.conf").read_bytes() == b""
    assert (out / "errors.txt").read_text() == "r2: running_config could not be parsed (detail)\n"
    assert not (out / "r2.remediation.conf").exists()


def test_a_stale_errors_file_is_removed_when_nothing_failed(tmp_path: Path) -> None:
    (tmp_path / "errors.txt").write_text("r9: from an earlier job\n")
    write_result_files(
        tmp_path, results({"device_id": "r1", "status": "success", "remediation": "a", "rollback": "b"})
    )
    assert not (tmp_path / "errors.txt").exists()


@pytest.mark.parametrize("device_id", ["../escape", "/etc/passwd", ".hidden", "a\\b", ""])
def test_a_device_id_that_is_not_a_plain_file_name_is_refused(tmp_path: Path, device_id: str) -> None:
    with pytest.raises(CliError, match="refusing to write a file"):
        write_result_files(
            tmp_path / "out",
            results({"device_id": device_id, "status": "success", "remediation": "", "rollback": ""}),
        )


def test_a_usage_error_is_one_line_with_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["submit", "fleet/", "--platform"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("netremedy: error: argument --platform: expected one argument")


def test_missing_input_is_one_line_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    assert main(["submit", str(missing), "--url", "http://127.0.0.1:9"]) == 2
    assert capsys.readouterr().err == f"netremedy: error: {missing}: no such file or directory\n"


def test_one_device_written_alone_leaves_the_jobs_errors_file(tmp_path: Path) -> None:
    (tmp_path / "errors.txt").write_text("r2: broken\n")
    write_result_files(
        tmp_path,
        results({"device_id": "r1", "status": "success", "remediation": "a", "rollback": "b"}),
        whole_job=False,
    )
    assert (tmp_path / "errors.txt").read_text() == "r2: broken\n"
    assert (tmp_path / "r1.rollback.conf").read_text() == "b"
