"""`netremedy jobs`, and what a first use shows: the labelled job id, which API is used and why, what to do
when nothing answers there, an ETA from the rate devices finish, CLI flags in the server's hints, and a
report that names the devices of a small job."""

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from rich.console import Console

from netremedy_cli import api_client
from netremedy_cli.main import main
from netremedy_cli.output import eta_text, render_report
from tests.unit.test_cli_commands import (
    JOB,
    URL,
    FakeApi,
    change,
    created,
    make_fleet,
    one_error_line,
    table_rows,
)

OTHER_JOB = "1b5e0c2e-1111-2222-3333-444455556666"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeApi]:
    """Every ApiClient talks to one FakeApi; no NETREMEDY_URL and no stack file unless a test sets them."""
    fake = FakeApi()
    monkeypatch.setattr(api_client, "HTTPAdapter", lambda **options: fake)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("NETREMEDY_URL", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.chdir(tmp_path)
    yield fake


def _job(job_id: str, status: str = "completed", **fields: Any) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "status": status,
        "total_devices": 2,
        "completed_devices": 2,
        "failed_devices": 0,
        "created_at": "2026-12-01T09:00:00.000Z",
        "finished_at": "2026-12-01T09:00:04.000Z" if status == "completed" else None,
        "source": "api",
    } | fields


def _queries(api: FakeApi) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(request.url or "").query) for request in api.sent if request.method == "GET"]


# --- jobs --------------------------------------------------------------------------------------------------


def test_jobs_prints_one_row_per_job_newest_first(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer(
        "GET",
        "/api/v1/batch/jobs",
        {
            "jobs": [_job(JOB, "running", completed_devices=1), _job(OTHER_JOB, failed_devices=1)],
            "next_token": None,
        },
    )

    assert main(["jobs", "--url", URL]) == 0

    out = capsys.readouterr().out
    rows = table_rows(out)
    assert rows[0][:5] == [JOB, "running", "2", "1", "0"] and rows[0][6] == ""
    assert rows[1] == [
        OTHER_JOB,
        "completed",
        "2",
        "2",
        "1",
        "2026-12-01T09:00:00.000Z",
        "2026-12-01T09:00:04.000Z",
        "api",
    ]
    assert out.splitlines()[-1] == "2 jobs"
    assert _queries(api) == [{"limit": ["25"]}]


def test_jobs_all_follows_every_page_and_filters_are_sent(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = {
        None: {"jobs": [_job(JOB)], "next_token": "page2"},
        "page2": {"jobs": [], "next_token": "page3"},  # a filtered page may be empty and still go on
        "page3": {"jobs": [_job(OTHER_JOB)], "next_token": None},
    }

    def listing(request: requests.PreparedRequest) -> tuple[int, Any]:
        token = parse_qs(urlsplit(request.url or "").query).get("next_token", [None])[0]
        return 200, pages[token]

    api.routes[("GET", "/api/v1/batch/jobs")] = listing

    assert main(["jobs", "--all", "--status", "completed", "--drops", "--url", URL]) == 0

    assert [row[0] for row in table_rows(capsys.readouterr().out)] == [JOB, OTHER_JOB]
    assert [query.get("next_token") for query in _queries(api)] == [None, ["page2"], ["page3"]]
    assert all(query["status"] == ["completed"] and query["owner"] == ["account"] for query in _queries(api))
    assert all(query["limit"] == ["100"] for query in _queries(api))


def test_jobs_limit_stops_once_it_has_enough_and_says_more_remain(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.answer("GET", "/api/v1/batch/jobs", {"jobs": [_job(JOB)], "next_token": "more"})

    assert main(["jobs", "--limit", "1", "--url", URL]) == 0

    assert capsys.readouterr().out.splitlines()[-1] == "1 job; older jobs remain: --all lists every one"
    assert _queries(api) == [{"limit": ["1"]}]


def test_jobs_refuses_a_server_that_repeats_its_token(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.answer("GET", "/api/v1/batch/jobs", {"jobs": [], "next_token": "same"})

    assert main(["jobs", "--all", "--url", URL]) == 2

    assert (
        one_error_line(capsys) == "netremedy: error: the API repeated the job listing's page token 'same'\n"
    )


def test_jobs_limit_and_all_are_exclusive(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["jobs", "--all", "--limit", "3", "--url", URL])
    assert exited.value.code == 2
    assert "not allowed with argument" in one_error_line(capsys)


# --- which API, and the job id -----------------------------------------------------------------------------


def test_the_api_used_is_named_on_stderr_unless_given_with_url(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api.answer("GET", "/api/v1/batch/jobs", {"jobs": [], "next_token": None})

    main(["jobs", "--url", URL])
    assert capsys.readouterr().err == ""

    monkeypatch.setenv("NETREMEDY_URL", "http://api.test/")
    main(["jobs"])
    assert capsys.readouterr().err == "Using API http://api.test (from NETREMEDY_URL)\n"


def test_the_default_address_is_named_and_an_unanswered_one_says_what_to_do(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refused(request: requests.PreparedRequest) -> tuple[int, Any]:
        raise requests.ConnectionError("refused")

    api.routes[("GET", f"/api/v1/batch/jobs/{JOB}")] = refused

    assert main(["status", JOB]) == 2

    assert capsys.readouterr().err.splitlines() == [
        "Using API http://127.0.0.1:8000 (the default; set --url or NETREMEDY_URL for another)",
        (
            "netremedy: error: cannot reach http://127.0.0.1:8000 (the default; set --url or NETREMEDY_URL "
            "for another; is `make serve` running?)"
        ),
    ]


def test_a_stack_file_that_no_longer_answers_is_named_never_replaced_by_another_port(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the stack.json of a local stack that was killed (its port now answers nothing)
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "stack.json").write_text(json.dumps({"api_url": "http://127.0.0.1:8123"}))

    def refused(request: requests.PreparedRequest) -> tuple[int, Any]:
        raise requests.ConnectionError("refused")

    api.routes[("GET", f"/api/v1/batch/jobs/{JOB}")] = refused

    # When a command runs there, then it tried that address only, and says where it came from
    assert main(["status", JOB]) == 2
    assert {urlsplit(request.url or "").netloc for request in api.sent} == {"127.0.0.1:8123"}
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "Using API http://127.0.0.1:8123 (from .local/stack.json, the local stack started here)"
    assert err[1] == (
        "netremedy: error: cannot reach http://127.0.0.1:8123 (from .local/stack.json, the local stack started "
        "here, which no longer answers: start it again with `make serve`, or remove .local/stack.json and give "
        "--url)"
    )


def test_submit_labels_the_job_id_on_a_terminal_and_prints_it_bare_when_piped(
    api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    created(api)
    fleet = str(make_fleet(tmp_path / "fleet", "r1"))

    assert main(["submit", fleet, "--platform", "cisco_ios", "--url", URL]) == 0
    assert capsys.readouterr().out == f"{JOB}\n"  # JOB=$(netremedy submit ...) keeps working

    monkeypatch.setenv("FORCE_COLOR", "1")  # what rich takes for a terminal
    assert main(["submit", fleet, "--platform", "cisco_ios", "--url", URL]) == 0
    assert capsys.readouterr().out == f"Job id: {JOB}\n"


# --- ETA ---------------------------------------------------------------------------------------------------


def test_the_eta_is_the_remaining_devices_at_the_rate_seen_so_far() -> None:
    running = {"status": "running"}
    # 20 devices counted in 10 s since watching began (at 0 counted): 80 left at 2 a second
    assert eta_text((100.0, 0), (110.0, 20), 100, running) == "ETA 0:00:40"
    # Watching began at 500 counted; 100 more in 60 s: 4,400 left at 1.67 a second
    assert eta_text((0.0, 500), (60.0, 600), 5000, running) == "ETA 0:44:00"
    assert eta_text((0.0, 3), (5.0, 3), 10, running) == "ETA ?"  # nothing counted since: no rate yet
    assert eta_text((0.0, 0), (5.0, 10), 10, {"status": "completed"}) == ""


# --- hints name the CLI's flags ----------------------------------------------------------------------------


def test_a_devices_hint_names_the_cli_flag_on_screen_and_in_errors_txt(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = (
        "intended_config is empty: its remediation would remove the whole configuration. Send the intended "
        "configuration, or set allow_empty_intended to true if that is what you want"
    )
    api.answer(
        "GET",
        f"/api/v1/batch/jobs/{JOB}/results",
        {
            "job_id": JOB,
            "status": "completed",
            "results": [{"device_id": "r1", "status": "failed", "error": error}],
            "summary": {
                "total_devices": 1,
                "completed_devices": 0,
                "failed_devices": 1,
                "status": "completed",
            },
        },
    )

    assert main(["results", JOB, "--out", str(tmp_path / "out"), "--url", URL]) == 1

    out = " ".join(capsys.readouterr().out.split())
    assert "pass --allow-empty-intended if that is what you want" in out and "allow_empty_intended" not in out
    assert "pass --allow-empty-intended" in (tmp_path / "out" / "errors.txt").read_text()


# --- report on a small job ---------------------------------------------------------------------------------


def test_a_small_jobs_report_names_the_devices_of_each_change() -> None:
    report = {
        "job_id": JOB,
        "status": "completed",
        "total_devices": 2,
        "devices_with_changes": 2,
        "devices_without_changes": 0,
        "failed_devices": 0,
        "devices_without_remediation": 0,
        "unique_changes": 2,
        "truncated": False,
        "changes": [
            change("ntp server 10.0.0.2", [], 2, 2),
            change("description x", ["interface Gi0/1"], 1, 2),
        ],
    }
    buffer = io.StringIO()
    render_report(Console(file=buffer, width=150, color_system=None), report)
    text = buffer.getvalue()

    assert "share" not in text and "covered" not in text
    assert table_rows(text) == [
        ["1", "cisco_ios", "ntp server 10.0.0.2", "2", "r0, r1"],
        ["2", "cisco_ios", "interface Gi0/1", "1", "r0"],
        ["", "", "description x", "", ""],
    ]


def test_piped_jobs_keep_whole_job_ids_and_rows(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given output to a pipe of rich's default 80 columns
    monkeypatch.setenv("COLUMNS", "80")
    api.answer(
        "GET", "/api/v1/batch/jobs", {"jobs": [_job(JOB, "running", completed_devices=1)], "next_token": None}
    )
    # When the jobs are listed
    assert main(["jobs", "--url", URL]) == 0
    # Then the row holds the whole job id and every column, uncropped
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if JOB in line)
    assert "…" not in row and "running" in row and "2026-12-01T09:00:00.000Z" in row
