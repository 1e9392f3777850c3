"""The CLI's remediation options, `diff`, `report` and results paging, against a fake API transport: what is
sent, what is printed, the files written and the exit codes."""

import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from rich.console import Console

from netremedy_cli import api_client
from netremedy_cli.api_client import ApiClient
from netremedy_cli.errors import CliError
from netremedy_cli.main import main
from netremedy_cli.options import load_tag_rules
from netremedy_cli.output import diff_text, render_report, render_results, write_result_files
from tests.unit.fake_http import json_response

URL = "http://api.test"
JOB = "0b5e0c2e-1111-2222-3333-444455556666"
CORPUS_TAG_RULES = """\
- match_rules:
  - equals:
    - no ip http server
    - vlan
  apply_tags: [safe]
- match_rules:
  - startswith: interface Vlan
  - startswith:
    - description
  apply_tags: [safe]
- match_rules:
  - startswith:
    - ip access-list
  apply_tags: [manual]
"""
DIFF = (
    "interface Gi0/1\n  - description uplink [old]\n  + description uplink to core\n"
    "+ ip access-list extended X\n  + 10 permit ip any any\n- ntp server 10.1.1.1"
)

Handler = Callable[["requests.PreparedRequest"], tuple[int, Any]]


@dataclass
class FakeApi(BaseAdapter):
    """A transport answering from ``routes`` ((method, path) -> handler) and keeping every request."""

    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    sent: list[requests.PreparedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        handler = self.routes.get((request.method or "", urlsplit(request.url or "").path))
        status, body = handler(request) if handler else (404, {"error": "not_found", "message": "no route"})
        return json_response(request, status, body)

    def close(self) -> None:
        return None

    def answer(self, method: str, path: str, body: Any, status: int = 200) -> None:
        self.routes[(method, path)] = lambda request: (status, body)

    def posted(self) -> Any:
        (request,) = [request for request in self.sent if request.method == "POST"]
        return json.loads(request.body or b"")


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    """Every ApiClient the CLI builds talks to one FakeApi."""
    fake = FakeApi()
    monkeypatch.setattr(api_client, "HTTPAdapter", lambda **options: fake)
    monkeypatch.setenv("COLUMNS", "200")
    yield fake


def make_fleet(root: Path, *device_ids: str) -> Path:
    for device_id in device_ids:
        (root / device_id).mkdir(parents=True)
        (root / device_id / "running.conf").write_text("hostname a\n")
        (root / device_id / "intended.conf").write_text("hostname b\n")
    return root


def created(api: FakeApi) -> None:
    api.answer("POST", "/api/v1/batch/remediation", {"job_id": JOB, "total_devices": 1}, 202)


def one_error_line(captured: pytest.CaptureFixture[str]) -> str:
    err = captured.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# --- submit: options ---------------------------------------------------------------------------------------


def test_submit_asks_for_the_diff_by_default_so_that_diff_works_afterwards(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    created(api)
    assert (
        main(["submit", str(make_fleet(tmp_path / "fleet", "r1")), "--platform", "cisco_ios", "--url", URL])
        == 0
    )
    assert capsys.readouterr().out == f"{JOB}\n"
    assert api.posted()["options"] == {"outputs": ["remediation", "rollback", "diff"]}


def test_submit_sends_every_option_given_on_the_command_line(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    created(api)
    rules = tmp_path / "tag_rules.yml"
    rules.write_text(CORPUS_TAG_RULES)

    code = main(
        [
            "submit",
            str(make_fleet(tmp_path / "fleet", "r1")),
            "--platform",
            "cisco_ios",
            "--output",
            "diff",
            "--output",
            "remediation, future,diff",
            "--tag-rules",
            str(rules),
            "--include-tag",
            "safe",
            "--include-tag",
            "safe",
            "--exclude-tag",
            "manual",
            "--sectional-exiting",
            "--url",
            URL,
        ]
    )

    assert code == 0, capsys.readouterr().err
    assert api.posted()["options"] == {
        "outputs": ["diff", "remediation", "future"],
        "tag_rules": [
            {"match_rules": [{"equals": ["no ip http server", "vlan"]}], "apply_tags": ["safe"]},
            {
                "match_rules": [{"startswith": "interface Vlan"}, {"startswith": ["description"]}],
                "apply_tags": ["safe"],
            },
            {"match_rules": [{"startswith": ["ip access-list"]}], "apply_tags": ["manual"]},
        ],
        "include_tags": ["safe"],
        "exclude_tags": ["manual"],
        "sectional_exiting": True,
    }


def test_an_unknown_output_is_a_one_line_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["submit", str(tmp_path), "--output", "remediation,patch"])
    assert exit_info.value.code == 2
    assert one_error_line(capsys).startswith(
        "netremedy: error: argument --output: unknown output 'patch': "
        "choose from remediation, rollback, diff, future"
    )


def test_an_api_422_on_a_tag_rule_is_one_line_naming_the_field_and_the_rule_in_its_file(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(CORPUS_TAG_RULES)
    field_name = "options.tag_rules[1].match_rules[0].re_search"
    api.answer(
        "POST",
        "/api/v1/batch/remediation",
        {
            "error": "validation_error",
            "message": f"{field_name}: Value error, is not a valid regular expression (missing ))",
            "details": [{"field": field_name, "message": "Value error, is not a valid regular expression"}],
        },
        422,
    )

    code = main(
        [
            "submit",
            str(make_fleet(tmp_path / "fleet", "r1")),
            "--platform",
            "cisco_ios",
            "--tag-rules",
            str(rules),
            "--url",
            URL,
        ]
    )

    assert code == 2
    assert one_error_line(capsys) == (
        f"netremedy: error: {field_name}: is not a valid regular expression (missing )) "
        f"[options.tag_rules[1] is rule 2 of {rules} (line 6)]\n"
    )


def test_an_api_422_on_the_options_as_a_whole_is_one_line(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.answer(
        "POST",
        "/api/v1/batch/remediation",
        {
            "error": "validation_error",
            "message": "options: Value error, include_tags: 'x' is applied by no tag_rules entry",
            "details": [{"field": "options", "message": "Value error, include_tags: ..."}],
        },
        422,
    )
    assert (
        main(
            [
                "submit",
                str(make_fleet(tmp_path / "fleet", "r1")),
                "--platform",
                "cisco_ios",
                "--include-tag",
                "x",
                "--url",
                URL,
            ]
        )
        == 2
    )
    assert one_error_line(capsys) == (
        "netremedy: error: options: include_tags: 'x' is applied by no tag_rules entry\n"
    )


def write_manifest(path: Path, device_id: str, **fields: Any) -> Path:
    path.write_text(
        json.dumps(
            {
                "device_configs": [
                    {
                        "device_id": device_id,
                        "platform": "cisco_ios",
                        "running_config": "a",
                        "intended_config": "b",
                    }
                ],
                **fields,
            }
        )
    )
    return path


def test_a_manifests_options_are_sent_and_the_command_line_replaces_them_one_by_one(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    created(api)
    options = {"outputs": ["future"], "sectional_exiting": True}
    first = write_manifest(tmp_path / "a.json", "r1", options=options)
    second = write_manifest(tmp_path / "b.json", "r2", options=options)

    assert main(["submit", str(first), str(second), "--url", URL]) == 0
    assert api.posted()["options"] == options  # the manifest's outputs, not the CLI's default
    api.sent.clear()
    assert main(["submit", str(first), str(second), "--output", "diff", "--url", URL]) == 0
    assert api.posted()["options"] == {"outputs": ["diff"], "sectional_exiting": True}
    capsys.readouterr()


def test_options_that_inputs_disagree_on_are_refused_unless_the_command_line_settles_them(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    created(api)
    manifest = write_manifest(tmp_path / "a.json", "r1", options={"outputs": ["future"]})
    fleet = make_fleet(tmp_path / "fleet", "r2")

    assert main(["submit", str(manifest), str(fleet), "--platform", "cisco_ios", "--url", URL]) == 2
    assert one_error_line(capsys) == (
        f"netremedy: error: options.outputs is set in {manifest} but {fleet} does not set it: every input "
        "must agree, or give it on the command line for all of them\n"
    )
    assert api.sent == []
    assert (
        main(
            [
                "submit",
                str(manifest),
                str(fleet),
                "--platform",
                "cisco_ios",
                "--output",
                "future",
                "--url",
                URL,
            ]
        )
        == 0
    )
    assert api.posted()["options"] == {"outputs": ["future"]}


def test_a_manifest_whose_options_are_not_an_object_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_manifest(tmp_path / "a.json", "r1", options=["diff"])
    assert main(["submit", str(manifest), "--url", URL]) == 2
    assert one_error_line(capsys) == f"netremedy: error: {manifest}: options must be a JSON object\n"


# --- tag-rules files ---------------------------------------------------------------------------------------


def test_a_hier_config_tag_rules_yaml_file_loads_with_the_line_of_each_rule(tmp_path: Path) -> None:
    path = tmp_path / "tag_rules.yml"
    path.write_text(CORPUS_TAG_RULES)
    rules = load_tag_rules(path)
    assert [rule["apply_tags"] for rule in rules.rules] == [["safe"], ["safe"], ["manual"]]
    assert rules.lines == [1, 6, 11]
    assert rules.describe(2) == f"rule 3 of {path} (line 11)"


@pytest.mark.parametrize("name", ["rules.json", "rules.txt"])
def test_json_tag_rules_load_too_as_a_list_or_as_options(tmp_path: Path, name: str) -> None:
    rules = [{"match_rules": [{"re_search": "^ip (access-list|prefix-list)"}], "apply_tags": ["filters"]}]
    path = tmp_path / name
    path.write_text(json.dumps(rules))
    assert load_tag_rules(path).rules == rules
    path.write_text(json.dumps({"tag_rules": rules}))
    assert load_tag_rules(path).rules == rules


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "- match_rules: [\n",
            "not valid YAML (expected the node content, but found '<stream end>' at line 2, column 1)",
        ),
        ("", "empty: expected a list of tag rules ({match_rules: [...], apply_tags: [...]})"),
        (
            "match_rules: []\napply_tags: [a]\n",
            "expected a list of tag rules ({match_rules: [...], apply_tags: [...]}), found an object",
        ),
        ("[]", "holds no tag rules"),
        (
            "- just a line\n",
            "rule 1 of {path} (line 1) is text, expected an object with match_rules and apply_tags",
        ),
        (
            "- match_rules: [{equals: 2024-01-31}]\n  apply_tags: [a]\n",
            (
                "rule 1 of {path} (line 1): match_rules[0].equals is a date (datetime.date(2024, 1, 31)); quote it to "
                "make it text"
            ),
        ),
        ("- match_rules: [{1: c}]\n  apply_tags: [a]\n", "rule 1 of {path} (line 1): key 1 is not text"),
        ("- match_rules: [{? [a, b] : c}]\n", "not valid YAML (found unhashable key at line 1, column 20)"),
    ],
)
def test_a_bad_tag_rules_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(content)
    fleet = make_fleet(tmp_path / "fleet", "r1")
    assert (
        main(
            [
                "submit",
                str(fleet),
                "--platform",
                "cisco_ios",
                "--tag-rules",
                str(path),
                "--url",
                "http://127.0.0.1:9",
            ]
        )
        == 2
    )
    assert one_error_line(capsys) == f"netremedy: error: {path}: {message.replace('{path}', str(path))}\n"


def test_a_missing_or_unreadable_tag_rules_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="no such tag-rules file"):
        load_tag_rules(tmp_path / "missing.yml")
    with pytest.raises(CliError, match="is a directory"):
        load_tag_rules(tmp_path)
    (tmp_path / "latin1.yml").write_bytes(b"- match_rules: [{equals: caf\xe9}]\n")
    with pytest.raises(CliError, match="not UTF-8 text"):
        load_tag_rules(tmp_path / "latin1.yml")
    (tmp_path / "bad.json").write_text("[{]")
    with pytest.raises(CliError, match=r"bad\.json: not valid JSON \(Expecting property name"):
        load_tag_rules(tmp_path / "bad.json")


# --- diff --------------------------------------------------------------------------------------------------


def test_diff_text_colours_removed_lines_red_added_lines_green_and_leaves_context_plain() -> None:
    text = diff_text(DIFF)
    assert text.plain == DIFF
    styles = {text.plain[span.start : span.end]: str(span.style) for span in text.spans}
    assert styles == {
        "  - description uplink [old]": "red",
        "  + description uplink to core": "green",
        "+ ip access-list extended X": "green",
        "  + 10 permit ip any any": "green",
        "- ntp server 10.1.1.1": "red",
    }

    buffer = io.StringIO()
    Console(file=buffer, force_terminal=True, color_system="standard", width=200).print(text, soft_wrap=True)
    rendered = buffer.getvalue()
    assert "\x1b[31m  - description uplink [old]\x1b[0m" in rendered  # brackets are text, not markup
    assert "\x1b[32m+ ip access-list extended X\x1b[0m" in rendered
    assert "\ninterface Gi0/1\n" in "\n" + rendered


def device_route(api: FakeApi, device_id: str, result: dict[str, Any], status: int = 200) -> None:
    api.answer("GET", f"/api/v1/batch/jobs/{JOB}/results/{device_id}", result, status)


def test_diff_prints_the_devices_diff_verbatim(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    device_route(api, "r1", {"device_id": "r1", "status": "success", "remediation": "x", "diff": DIFF})
    assert main(["diff", JOB, "r1", "--url", URL]) == 0
    assert capsys.readouterr().out == DIFF + "\n"


def test_diff_of_a_job_submitted_without_the_diff_output_says_how_to_get_it(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    device_route(api, "r1", {"device_id": "r1", "status": "success", "remediation": "x", "rollback": "y"})
    assert main(["diff", JOB, "r1", "--url", URL]) == 2
    assert one_error_line(capsys) == (
        f"netremedy: error: job {JOB} has no diff for 'r1': it was submitted without the diff output; submit "
        "again with --output diff (the default of 'netremedy submit')\n"
    )


def test_diff_of_a_failed_device_is_its_error_and_exit_1(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    device_route(api, "r2", {"device_id": "r2", "status": "failed", "error": "NUL byte at line 2, column 1"})
    assert main(["diff", JOB, "r2", "--url", URL]) == 1
    assert capsys.readouterr().out == "r2: failed: NUL byte at line 2, column 1\n"


def test_diff_of_a_device_without_changes_prints_nothing_and_says_so_on_stderr(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    device_route(api, "r3", {"device_id": "r3", "status": "success", "diff": ""})
    assert main(["diff", JOB, "r3", "--url", URL]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "netremedy: r3: no differences between running and intended\n"


def test_diff_of_a_device_without_a_result_is_the_apis_404_in_one_line(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    device_route(
        api,
        "r9",
        {
            "error": "device_not_found",
            "details": [],
            "message": f"device 'r9' of job {JOB} has no result (yet)",
        },
        404,
    )
    assert main(["diff", JOB, "r9", "--url", URL]) == 2
    assert one_error_line(capsys) == f"netremedy: error: device 'r9' of job {JOB} has no result (yet)\n"
    assert main(["diff", JOB, "../r9", "--url", URL]) == 2
    assert one_error_line(capsys) == "netremedy: error: invalid device id '../r9'\n"


# --- report ------------------------------------------------------------------------------------------------


def change(line: str, parents: list[str], count: int, covered: int) -> dict[str, Any]:
    return {
        "platform": "cisco_ios",
        "line": line,
        "path": [*parents, line],
        "device_count": count,
        "device_ids": [f"r{index}" for index in range(min(count, 100))],
        "device_ids_truncated": count > 100,
        "devices_covered": covered,
    }


REPORT: dict[str, Any] = {
    "job_id": JOB,
    "status": "completed",
    "total_devices": 207,
    "devices_with_changes": 200,
    "devices_without_changes": 5,
    "failed_devices": 2,
    "devices_without_remediation": 0,
    "unique_changes": 40,
    "truncated": False,
    "changes": [
        change("ntp server 10.0.0.2", [], 150, 150),
        change("description [uplink]", ["interface Gi0/1"], 60, 170),
        change("10 permit ip any any", ["ip access-list extended X"], 20, 180),
    ],
}


def render(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    render_report(Console(file=buffer, width=150, color_system=None), report)
    return buffer.getvalue()


def table_rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.rstrip()[1:-1].split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]


def test_the_report_lists_each_change_with_its_parents_count_share_and_coverage() -> None:
    text = render(REPORT)

    assert text.splitlines()[0] == f"job {JOB}: completed, 207 devices, 40 distinct changes"
    assert "┃ # ┃ platform  ┃ change" in text
    assert table_rows(text) == [
        ["1", "cisco_ios", "ntp server 10.0.0.2", "150", "75.0%", "150 (75.0%)"],
        ["2", "cisco_ios", "interface Gi0/1", "60", "30.0%", "170 (85.0%)"],
        ["", "", "description [uplink]", "", "", ""],
        ["3", "cisco_ios", "ip access-list extended X", "20", "10.0%", "180 (90.0%)"],
        ["", "", "10 permit ip any any", "", "", ""],
    ]
    assert "│   description [uplink]" in text  # the line indented under its parent
    assert text.splitlines()[-1] == (
        "the top 3 changes cover 180 of 200 devices with changes; 5 devices need nothing; 2 failed"
    )


def test_the_report_caption_says_what_the_table_leaves_out() -> None:
    report = REPORT | {"truncated": True, "devices_without_remediation": 3, "changes": REPORT["changes"][:1]}
    assert render(report).splitlines()[-1] == (
        "the top change covers 150 of 200 devices with changes; 5 devices need nothing; 2 failed; 3 devices "
        "without a remediation output (not counted); more changes than shown (40 distinct in all): "
        "raise --limit"
    )
    nothing = REPORT | {
        "devices_with_changes": 0,
        "devices_without_changes": 1,
        "failed_devices": 0,
        "unique_changes": 0,
        "changes": [],
    }
    assert render(nothing).splitlines()[1:] == ["no device needs a change; 1 device needs nothing; 0 failed"]


@pytest.mark.parametrize(
    ("status", "code"), [("completed", 0), ("running", 0), ("failed", 1), ("cancelled", 1)]
)
def test_report_exits_like_status_and_sends_its_query(
    api: FakeApi, capsys: pytest.CaptureFixture[str], status: str, code: int
) -> None:
    api.answer("GET", f"/api/v1/batch/jobs/{JOB}/report", REPORT | {"status": status})

    assert main(["report", JOB, "--min-devices", "2", "--limit", "8", "--url", URL]) == code

    (request,) = api.sent
    assert urlsplit(request.url or "").query == "limit=8&min_devices=2"
    captured = capsys.readouterr()
    assert "ntp server 10.0.0.2" in captured.out
    assert ("results so far" in captured.err) == (status == "running")


def test_a_report_limit_the_api_refuses_names_the_option(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    message = "query.limit: Input should be less than or equal to 500"
    api.answer(
        "GET",
        f"/api/v1/batch/jobs/{JOB}/report",
        {
            "error": "validation_error",
            "message": message,
            "details": [{"field": "query.limit", "message": "x"}],
        },
        422,
    )
    assert main(["report", JOB, "--limit", "501", "--url", URL]) == 2
    assert one_error_line(capsys) == f"netremedy: error: {message} [query.limit is --limit]\n"


# --- results: paging, files, table -------------------------------------------------------------------------


def paged_results(
    api: FakeApi,
    device_ids: list[str],
    page_size: int = 1000,
    statuses: tuple[str, ...] = ("running", "completed"),
) -> None:
    """The results route as the API pages it: ordered ids, next_token = the last id of the page."""
    calls = iter(range(10_000))

    def handler(request: requests.PreparedRequest) -> tuple[int, Any]:
        query = parse_qs(urlsplit(request.url or "").query)
        after = query.get("next_token", [""])[0]
        limit = int(query.get("limit", [page_size])[0])
        remaining = [device_id for device_id in device_ids if device_id > after]
        page = remaining[:limit]
        more = len(remaining) > limit
        status = statuses[min(next(calls), len(statuses) - 1)]
        return 200, {
            "job_id": JOB,
            "status": status,
            "results": [
                {"device_id": device_id, "status": "success", "remediation": "x\ny", "rollback": ""}
                for device_id in page
            ],
            "summary": {
                "total_devices": len(device_ids),
                "completed_devices": len(device_ids),
                "failed_devices": 0,
                "status": status,
            },
            "next_token": page[-1] if more else None,
        }

    api.routes[("GET", f"/api/v1/batch/jobs/{JOB}/results")] = handler


def test_results_follow_next_token_to_the_last_page(api: FakeApi) -> None:
    device_ids = [f"r{index:05d}" for index in range(2500)]
    paged_results(api, device_ids)

    body = ApiClient(URL).results(JOB)

    assert [result["device_id"] for result in body["results"]] == device_ids
    assert len(api.sent) == 3
    assert [parse_qs(urlsplit(request.url or "").query).get("next_token") for request in api.sent] == [
        None,
        ["r00999"],
        ["r01999"],
    ]
    # the first page's status: only a first page saying "completed" proves every result is final
    assert body["status"] == "running" and body["summary"]["status"] == "running"


def test_results_of_a_big_job_are_all_written_and_counted(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device_ids = [f"r{index:04d}" for index in range(1500)]
    paged_results(api, device_ids, statuses=("completed",))

    assert main(["results", JOB, "--out", str(tmp_path / "out"), "--url", URL]) == 0

    assert len(list((tmp_path / "out").glob("*.remediation.conf"))) == 1500
    out = capsys.readouterr().out
    assert "r1499" in out
    assert f"wrote remediation, rollback of 1500 device(s) to {tmp_path / 'out'}" in out


def test_a_next_token_is_sent_percent_encoded_and_a_repeated_one_stops_paging(api: FakeApi) -> None:
    token = "a+b/c=="
    answers = iter(
        [{"job_id": JOB, "status": "completed", "results": [], "summary": {}, "next_token": token}]
        + [{"job_id": JOB, "status": "completed", "results": [], "summary": {}, "next_token": token}] * 2
    )
    api.routes[("GET", f"/api/v1/batch/jobs/{JOB}/results")] = lambda request: (200, next(answers))

    with pytest.raises(CliError, match=re.escape(f"the API repeated the results page token {token!r}")):
        ApiClient(URL).results(JOB, page_size=50)

    assert api.sent[1].url == f"{URL}/api/v1/batch/jobs/{JOB}/results?limit=50&next_token=a%2Bb%2Fc%3D%3D"


def test_the_other_calls_reach_their_routes(api: FakeApi) -> None:
    platforms = {"platforms": [{"name": "cisco_ios", "support": "platform driver"}]}
    api.answer("GET", "/api/v1/platforms", platforms)
    result = {"device_id": "r1", "status": "success", "diff": "+ x"}
    api.answer("POST", "/api/v1/remediation", result)
    device_route(api, "r1", result)
    client = ApiClient(URL)

    assert client.platforms() == platforms
    body = {
        "device_id": "r1",
        "platform": "cisco_ios",
        "running_config": "",
        "intended_config": "x",
        "options": {"outputs": ["diff"]},
    }
    assert client.remediate_one(body) == result
    assert api.posted() == body
    assert client.device_result(JOB, "r1") == result


def test_results_of_one_device_use_its_own_route_and_print_every_output(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device_route(
        api,
        "r1",
        {
            "device_id": "r1",
            "status": "success",
            "rollback": "no x",
            "diff": "+ x",
            "future": "hostname r1\nx",
        },
    )
    assert main(["results", JOB, "--device", "r1", "--out", str(tmp_path), "--url", URL]) == 0
    out = capsys.readouterr().out
    assert [line.split(" (")[0] for line in out.splitlines() if line.endswith("──")] == [
        "r1 rollback",
        "r1 diff",
        "r1 future",
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "r1.diff",
        "r1.future.conf",
        "r1.rollback.conf",
    ]


OUTPUTS_URL = "https://bucket.s3.amazonaws.com/outputs/job/big.json?X-Amz-Signature=abc"


def linked_outputs(api: FakeApi, outputs: Any, status: int = 200) -> None:
    """The pre-signed S3 link of a result too large for an API response."""
    api.answer("GET", urlsplit(OUTPUTS_URL).path, outputs, status)


LINK = {"device_id": "big", "status": "success", "output_url": OUTPUTS_URL, "expires_in": 3600}


def test_results_and_files_follow_the_link_of_a_result_too_large_for_a_response(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a page whose big device is a link to its outputs, next to an inline device
    small = {"device_id": "small", "status": "success", "remediation": "a", "rollback": "no a"}
    api.answer(
        "GET",
        f"/api/v1/batch/jobs/{JOB}/results",
        {
            "job_id": JOB,
            "status": "completed",
            "results": [LINK, small],
            "summary": {
                "total_devices": 2,
                "completed_devices": 2,
                "failed_devices": 0,
                "status": "completed",
            },
            "next_token": None,
        },
    )
    linked_outputs(api, {"remediation": "interface Gi0/1\n description 新", "rollback": "no interface Gi0/1"})
    # When the results are written to files
    assert main(["results", JOB, "--out", str(tmp_path), "--url", URL, "--caller", "team"]) == 0
    # Then the big device's files hold the linked outputs, as if they had been returned inline
    assert (tmp_path / "big.remediation.conf").read_text() == "interface Gi0/1\n description 新"
    assert (tmp_path / "big.rollback.conf").read_text() == "no interface Gi0/1"
    assert (tmp_path / "small.remediation.conf").read_text() == "a"
    # And the link was fetched as it is: no caller header for S3
    (download,) = [request for request in api.sent if request.url == OUTPUTS_URL]
    assert "x-netremedy-caller" not in download.headers
    assert "wrote remediation, rollback of 2 device(s)" in capsys.readouterr().out


def test_one_device_follows_its_link_too(api: FakeApi) -> None:
    device_route(api, "big", LINK)
    linked_outputs(api, {"remediation": "x", "diff": "+ x"})
    assert ApiClient(URL).device_result(JOB, "big") == {
        "device_id": "big",
        "status": "success",
        "remediation": "x",
        "diff": "+ x",
    }


def test_an_expired_link_is_one_line_saying_to_read_the_results_again(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    device_route(api, "big", LINK)
    linked_outputs(api, {"error": "AccessDenied"}, status=403)
    assert main(["results", JOB, "--device", "big", "--url", URL]) == 2
    assert "cannot download the outputs of device 'big': HTTP 403 from S3" in one_error_line(capsys)


def test_result_files_follow_the_outputs_each_result_holds(tmp_path: Path) -> None:
    (tmp_path / "r1.remediation.conf").write_text("from an earlier job")
    (tmp_path / "r2.diff").write_text("from an earlier job")
    written, failed = write_result_files(
        tmp_path,
        [
            {"device_id": "r1", "status": "success", "diff": DIFF, "future": "hostname r1\n"},
            {"device_id": "r2", "status": "failed", "error": "bad"},
            {
                "device_id": "r3",
                "status": "success",
                "remediation": "",
                "rollback": "",
                "diff": "",
                "future": "",
            },
        ],
    )
    assert (written, failed) == (2, 1)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "errors.txt",
        "r1.diff",
        "r1.future.conf",
        "r3.diff",
        "r3.future.conf",
        "r3.remediation.conf",
        "r3.rollback.conf",
    ]
    assert (tmp_path / "r1.diff").read_text() == DIFF
    assert (tmp_path / "r1.future.conf").read_text() == "hostname r1\n"


def test_the_results_table_copes_with_results_without_remediation() -> None:
    buffer = io.StringIO()
    render_results(
        Console(file=buffer, width=150, color_system=None),
        {
            "job_id": JOB,
            "status": "completed",
            "summary": {"total_devices": 3, "completed_devices": 2, "failed_devices": 1},
            "results": [
                {"device_id": "r1", "status": "success", "diff": "+ x", "future": "x"},
                {"device_id": "r2", "status": "success", "remediation": "a\nb", "diff": ""},
                {"device_id": "r3", "status": "failed", "error": "NUL byte"},
            ],
        },
    )
    rows = table_rows(buffer.getvalue())
    assert rows == [
        ["r1", "success", "not requested (outputs: diff, future)"],
        ["r2", "success", "2"],
        ["r3", "failed", "NUL byte"],
    ]
