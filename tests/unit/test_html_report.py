"""The job's HTML report: rendering (escaping, colours, counts, no external requests), its write-back on
completion and the report.html route (moto in-process)."""

import json
import re
from html.parser import HTMLParser
from typing import Any

import boto3
import pytest

from netremedy.handlers import create_job, job_results, remediate_devices, write_back_results
from netremedy.logic.html_report import ReportHeader, device_sections, device_view, render_report
from netremedy.models.api import ReportChange
from tests.unit.events import context, http_event, sqs_records

RISK = {
    "line": "access-class <MGMT> in",
    "path": ["line vty 0 4"],
    "rule": "ios.vty",
    "why": "locks <you> out",
}
RESULTS: list[dict[str, Any]] = [
    {
        "device_id": "r1",
        "status": "success",
        "platform": "cisco_ios",
        "remediation": "no ip http server\nline vty 0 4\n  access-class <MGMT> in\nhostname a&b",
        "rollback": "ip http server\nno hostname a&b",
        "compliant": False,
        "risks": [RISK],
    },
    {"device_id": "r2", "status": "success", "platform": "cisco_ios", "remediation": "", "rollback": ""},
    {"device_id": "r3", "status": "failed", "error": "cannot parse <config> & more"},
    {"device_id": "r4", "status": "held", "compliant": False, "risks": [RISK], "message": "withheld"},
    {"device_id": "j1", "status": "success", "platform": "juniper_junos", "remediation": "delete system ntp"},
]
CHANGE = ReportChange(
    platform="cisco_ios",
    line="access-class <MGMT> in",
    path=["line vty 0 4", "access-class <MGMT> in"],
    device_count=2,
    device_ids=["r1", "r4"],
    device_ids_truncated=False,
    devices_covered=2,
)


def _render(results: list[dict[str, Any]], changes: list[ReportChange] | None = None) -> str:
    header = ReportHeader(job_id="job-1", status="completed", generated_at="2026-12-01T00:00:00Z")
    return "".join(
        render_report(
            header, [device_view(result) for result in results], [CHANGE] if changes is None else changes
        )
    )


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside each element id'd n-<counter>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.numbers: dict[str, str] = {}
        self._counter: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        element_id = dict(attrs).get("id") or ""
        self._counter = element_id[2:] if element_id.startswith("n-") else None

    def handle_data(self, data: str) -> None:
        if self._counter is not None:
            self.numbers[self._counter] = data
            self._counter = None


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def test_the_summary_counts_each_device_once_and_risky_ones_apart() -> None:
    # Given one device of each kind (r1 risky with changes, r2 compliant, r3 failed, r4 held, j1 changes)
    # When the report is rendered
    numbers = _parse(_render(RESULTS)).numbers
    # Then the summary's numbers say so
    assert numbers == {
        "total": "5",
        "compliant": "1",
        "changes": "2",
        "risky": "2",
        "held": "1",
        "failed": "1",
    }


def test_config_text_is_escaped_never_markup() -> None:
    html = _render(RESULTS)
    # Then no text of a device became a tag, and it is all there, escaped
    assert "<MGMT>" not in html and "<config>" not in html and "<you>" not in html
    assert "access-class &lt;MGMT&gt; in" in html
    assert "hostname a&amp;b" in html
    assert "cannot parse &lt;config&gt; &amp; more" in html
    assert {tag for tag, _ in _parse(html).tags} <= {
        *(
            "html",
            "head",
            "meta",
            "title",
            "style",
            "body",
            "header",
            "h1",
            "h2",
            "h4",
            "p",
            "code",
            "section",
        ),
        *("div", "b", "span", "svg", "rect", "ul", "li", "i", "table", "tr", "th", "td", "input", "details"),
        *("summary", "pre", "script"),
    }


def test_the_file_makes_no_request_of_its_own() -> None:
    tags = _parse(_render(RESULTS)).tags
    # No tag loads anything (no src, no href, no external stylesheet), and the CSP forbids it anyway
    assert not [(tag, attrs) for tag, attrs in tags if {"src", "href"} & set(attrs)]
    policy = [attrs["content"] for tag, attrs in tags if attrs.get("http-equiv") == "Content-Security-Policy"]
    assert policy and (policy[0] or "").startswith("default-src 'none';")
    assert "url(" not in _render(RESULTS) and "@import" not in _render(RESULTS)


def test_removals_are_red_and_risky_lines_marked_per_platform_negation() -> None:
    html = _render(RESULTS)
    remediation = re.search(r'id="device-r1".*?<pre class="remediation">(.*?)</pre>', html, re.DOTALL)
    assert remediation is not None
    assert remediation.group(1).splitlines() == [
        '<i class="neg">no ip http server</i>',
        "line vty 0 4",
        '<i class="risk">  access-class &lt;MGMT&gt; in</i>',
        "hostname a&amp;b",
    ]
    # Junos negates with "delete ", which its driver names
    assert '<i class="neg">delete system ntp</i>' in html
    # The rollback is coloured too, but risks are flagged on the remediation only
    rollback = re.search(r'id="device-r1".*?<pre class="rollback">(.*?)</pre>', html, re.DOTALL)
    assert rollback is not None and rollback.group(1).splitlines() == [
        "ip http server",
        '<i class="neg">no hostname a&amp;b</i>',
    ]


def test_each_device_is_a_collapsed_section_the_search_box_can_match() -> None:
    tags = _parse(_render(RESULTS)).tags
    sections = {attrs["id"]: attrs["data-s"] for tag, attrs in tags if tag == "details"}
    assert sections == {
        "device-r1": "r1 cisco_ios changes risky",
        "device-r2": "r2 cisco_ios compliant",
        "device-r3": "r3 failed",
        "device-r4": "r4 held risky",
        "device-j1": "j1 juniper_junos changes",
    }
    assert not [attrs for tag, attrs in tags if tag == "details" and "open" in attrs]
    assert ("input", {"id": "q", "type": "search"}) in [
        (tag, {k: v for k, v in attrs.items() if k in ("id", "type")})
        for tag, attrs in tags
        if tag == "input"
    ]


def test_top_changes_are_charted_relative_to_the_most_common() -> None:
    second = CHANGE.model_copy(update={"line": "ntp server 10.0.0.1", "path": ["ntp server 10.0.0.1"]})
    html = _render(RESULTS, [CHANGE, second.model_copy(update={"device_count": 1})])
    rows = re.findall(
        r'<tr class="change"><td class="num">(\d+)</td><td class="meter"><span style="width:([\d.]+)%"', html
    )
    assert rows == [("2", "100.0"), ("1", "50.0")]
    assert '<span class="path">line vty 0 4 › </span>access-class &lt;MGMT&gt; in' in html


def test_results_with_fields_missing_or_unknown_still_render() -> None:
    # Given results from before compliant/risks/platform existed, and one with a field this code never saw
    html = _render(
        [
            {"device_id": "old", "status": "success", "remediation": "hostname x", "rollback": "hostname y"},
            {"device_id": "new", "status": "success", "remediation": "", "future_field": {"a": 1}},
        ],
        [],
    )
    numbers = _parse(html).numbers
    assert (numbers["changes"], numbers["compliant"], numbers["risky"]) == ("1", "1", "0")
    assert "No device needs a change." in html


def _finish_job(aws: dict[str, Any], devices: list[dict[str, str]]) -> str:
    response = create_job.handler(
        http_event("POST", "/api/v1/batch/remediation", body={"device_configs": devices}), context()
    )
    job_id: str = json.loads(response["body"])["job_id"]
    sqs = boto3.client("sqs")
    while messages := sqs.receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        remediate_devices.handler(sqs_records([m["Body"] for m in messages]), context())
        sqs.delete_message_batch(
            QueueUrl=aws["queue_url"],
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return job_id


def _report_route(job_id: str, caller: str | None = None) -> dict[str, Any]:
    path = f"/api/v1/batch/jobs/{job_id}/report.html"
    event = http_event(
        "GET",
        path,
        route="/api/v1/batch/jobs/{job_id}/report.html",
        path_parameters={"job_id": job_id},
        caller=caller,
    )
    return job_results.handler(event, context())


DEVICES = [
    {
        "device_id": f"sw{i}",
        "platform": "cisco_ios",
        "running_config": "hostname sw\nntp server 10.0.0.1",
        "intended_config": "hostname sw\nntp server 10.0.0.2"
        if i < 3
        else "hostname sw\nntp server 10.0.0.1",
    }
    for i in range(4)
] + [{"device_id": "bad", "platform": "cisco_ios", "running_config": "hostname b", "intended_config": ""}]


def test_a_completed_job_gets_its_report_written_and_linked(aws: dict[str, Any]) -> None:
    # Given a job of 3 devices with changes, 1 compliant and 1 failed (empty intended config)
    job_id = _finish_job(aws, DEVICES)
    # Before the write-back, the route answers 409 saying why
    early = _report_route(job_id)
    assert early["statusCode"] == 409
    assert json.loads(early["body"])["error"] == "report_not_ready"
    # When the completion is handled
    finalize = boto3.client("sqs").receive_message(QueueUrl=aws["finalize_url"])["Messages"][0]["Body"]
    assert write_back_results.handler(sqs_records([finalize]), context()) == {"batchItemFailures": []}
    # Then results/<job>/report.html holds the report (as HTML), and summary.json names it
    s3 = boto3.client("s3")
    stored = s3.get_object(Bucket=aws["bucket"], Key=f"results/{job_id}/report.html")
    assert stored["ContentType"] == "text/html; charset=utf-8"
    html = stored["Body"].read().decode()
    parsed = _parse(html)
    assert (parsed.numbers["total"], parsed.numbers["changes"], parsed.numbers["compliant"]) == (
        "5",
        "3",
        "1",
    )
    assert parsed.numbers["failed"] == "1"
    assert [attrs["id"] for tag, attrs in parsed.tags if tag == "details"] == [
        *("device-bad", "device-sw0", "device-sw1", "device-sw2", "device-sw3")
    ]
    # The top change is the fleet report's: the new NTP server on 3 devices
    assert re.search(r'<td class="num">3</td>.*?ntp server 10\.0\.0\.2</code>', html)
    summary = json.loads(
        s3.get_object(Bucket=aws["bucket"], Key=f"results/{job_id}/summary.json")["Body"].read()
    )
    assert summary["report_key"] == f"results/{job_id}/report.html"
    # And the route redirects a browser to a pre-signed link of it, which the body repeats
    answer = _report_route(job_id)
    assert answer["statusCode"] == 302
    body = json.loads(answer["body"])
    location = answer["multiValueHeaders"]["Location"][0]
    assert body == {"job_id": job_id, "url": location, "expires_in": 3600, "format": "html"}
    assert f"results/{job_id}/report.html" in location and "Signature" in location


def test_another_callers_report_does_not_exist(aws: dict[str, Any]) -> None:
    job_id = _finish_job(aws, DEVICES[:1])
    answer = _report_route(job_id, caller="arn:aws:iam::123456789012:user/mallory")
    assert answer["statusCode"] == 404
    assert json.loads(answer["body"])["error"] == "job_not_found"


@pytest.mark.parametrize("job_id", ["no-such-job"])
def test_an_unknown_jobs_report_is_404(aws: dict[str, Any], job_id: str) -> None:
    assert _report_route(job_id)["statusCode"] == 404


def test_a_fleet_report_that_fails_leaves_out_the_chart_not_the_report(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from netremedy.logic import html_report

    # Given a job, and a fleet report computation that fails (hier_config refusing some remediation)
    job_id = _finish_job(aws, DEVICES[:2])

    def failing(*args: Any, **kwargs: Any) -> None:
        raise ValueError("hier_config could not parse a line")

    monkeypatch.setattr(html_report, "fleet_report", failing)
    # When the completion is handled, the write-back still succeeds
    finalize = boto3.client("sqs").receive_message(QueueUrl=aws["finalize_url"])["Messages"][0]["Body"]
    assert write_back_results.handler(sqs_records([finalize]), context()) == {"batchItemFailures": []}
    # Then the report says the top changes are unavailable and still shows every device
    html = (
        boto3.client("s3")
        .get_object(Bucket=aws["bucket"], Key=f"results/{job_id}/report.html")["Body"]
        .read()
        .decode()
    )
    assert 'id="changes-unavailable"' in html
    assert [attrs["id"] for tag, attrs in _parse(html).tags if tag == "details"] == [
        "device-sw0",
        "device-sw1",
    ]
    assert _parse(html).numbers["changes"] == "2"


def test_a_job_too_large_for_the_fleet_report_gets_its_report_without_the_chart(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from netremedy.logic import html_report

    # Given a budget of remediation text for the fleet report below this job's
    job_id = _finish_job(aws, DEVICES[:2])
    monkeypatch.setattr(html_report, "FLEET_REPORT_REMEDIATION_BYTES", 10)
    calls: list[str] = []
    monkeypatch.setattr(html_report, "fleet_report", lambda *args, **kwargs: calls.append("called"))
    # When the completion is handled
    finalize = boto3.client("sqs").receive_message(QueueUrl=aws["finalize_url"])["Messages"][0]["Body"]
    assert write_back_results.handler(sqs_records([finalize]), context()) == {"batchItemFailures": []}
    # Then the fleet report is not computed and the report says where the top changes are
    html = (
        boto3.client("s3")
        .get_object(Bucket=aws["bucket"], Key=f"results/{job_id}/report.html")["Body"]
        .read()
        .decode()
    )
    assert calls == []
    assert "The top changes are left out: this job&#39;s remediation" in html
    assert "netremedy report JOB" in html
    assert [attrs["id"] for tag, attrs in _parse(html).tags if tag == "details"] == [
        "device-sw0",
        "device-sw1",
    ]


def _sections_of(html: str) -> list[str]:
    return [attrs["id"] or "" for tag, attrs in _parse(html).tags if tag == "details" and attrs.get("id")]


def test_past_its_section_limit_a_report_counts_every_device_and_shows_those_needing_attention() -> None:
    # Given the five devices in device_id order, as the table reads them (j1 and r1 with changes, r2 compliant,
    # r3 failed, r4 held), and room for three
    in_id_order = sorted(RESULTS, key=lambda result: str(result["device_id"]))
    sections = device_sections((device_view(result) for result in in_id_order), limit=3)
    # When the report is rendered from those sections
    header = ReportHeader(job_id="job-1", status="completed", generated_at="2026-12-01T00:00:00Z")
    html = "".join(render_report(header, sections.shown, [CHANGE], summary=sections.summary))
    # Then the compliant device and the last id with changes are left out, the failed and held ones kept
    assert _sections_of(html) == ["device-j1", "device-r3", "device-r4"]
    assert sections.left_out == 2
    # And the summary still counts all five, and the page says how many have no section
    assert _parse(html).numbers["total"] == "5"
    assert _parse(html).numbers["compliant"] == "1"
    assert "2 of the job's 5 devices have no section here" in html


def test_within_its_section_limit_a_report_shows_every_device_in_id_order() -> None:
    sections = device_sections(device_view(result) for result in RESULTS)
    html = _render(RESULTS)
    assert [device.device_id for device in sections.shown] == ["j1", "r1", "r2", "r3", "r4"]
    assert sections.left_out == 0 and sections.remediation_bytes == sum(
        len(result.get("remediation") or "") for result in RESULTS
    )
    assert 'id="left-out"' not in html
