"""The report people look at: one self-contained HTML file per job (templates/report.html.j2).

No external scripts, fonts, images or requests (a Content-Security-Policy in the file forbids them), so it
opens from a laptop or an e-mail attachment. Fleet summary and top changes (the fleet report's own
computation, logic.fleet_report) as numbers and inline charts, then one collapsed <details> per device with
its coloured remediation, rollback, risks and error, and a search box. Each text appears once and collapsed
sections cost a browser little to lay out, so 10,000 devices stay usable (bench/html_report_bench.py).

Jinja2 renders it with autoescaping on: configurations hold ``<`` and ``&``, and a device's text must never
become markup.
"""

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from netremedy.dal import blob_store, job_table
from netremedy.logic.clock import iso, utc_now
from netremedy.logic.fleet_report import fleet_report
from netremedy.logic.remediation import platform_catalog
from netremedy.logic.results import public_result
from netremedy.models.api import ReportChange
from netremedy.models.items import JobItem
from netremedy.models.object_keys import report_key
from netremedy.models.settings import ServiceSettings
from netremedy.observability import logger

# The top changes charted; the JSON fleet report (GET .../report) lists more.
TOP_CHANGES = 15
# The fleet report keeps every device's remediation parsed by hier_config at once: about 80 bytes of memory
# per byte of remediation text (1.5 GB for 18 MB of it, 10,000 devices of bench/html_report_bench.py). Up to
# this much it fits the write-back function (1,769 MB) beside the devices read; over it, no chart.
FLEET_REPORT_REMEDIATION_BYTES = 8_000_000
# What a device is, in the order the summary shows; every device is exactly one of them.
CATEGORIES = ("compliant", "changes", "held", "failed")
# Device sections in one report: 10,000 devices of bench/html_report_bench.py made a 49 MB file and a 214 MB
# peak, loaded by Chromium in seconds. A fleet past that (a 100,000-device drop) keeps every device in the
# summary and results.jsonl, but only this many sections, the ones that need attention first: left out are
# compliant devices, then devices with changes, then held ones, the last device ids first.
MAX_DEVICE_SECTIONS = 10_000
_LEFT_OUT_FIRST = ("compliant", "changes", "held", "failed")
# Platforms whose driver names no negation prefix still negate with "no ".
_DEFAULT_NEGATION = "no "


@dataclass(frozen=True)
class Line:
    """One line of a remediation or rollback: ``kind`` "neg" (removes something), "risk" (flagged) or ""."""

    text: str
    kind: str


@dataclass(frozen=True)
class Risk:
    line: str
    path: tuple[str, ...]
    rule: str
    why: str


@dataclass(frozen=True)
class ReportHeader:
    job_id: str
    status: str
    generated_at: str
    created_at: str | None = None


@dataclass(frozen=True)
class DeviceView:
    """One device as the report shows it. The texts stay as the results hold them; their lines are split
    and classified only while the template renders them, so 10,000 devices hold no object per line."""

    device_id: str
    platform: str | None
    category: str
    remediation_text: str | None
    rollback_text: str | None
    risks: list[Risk]
    error: str | None
    message: str | None
    negation: str = _DEFAULT_NEGATION

    @property
    def remediation(self) -> list[Line] | None:
        return _lines(self.remediation_text, self.negation, {risk.line.strip() for risk in self.risks})

    @property
    def rollback(self) -> list[Line] | None:
        return _lines(self.rollback_text, self.negation, set())

    @property
    def change_count(self) -> int:
        return sum(1 for line in (self.remediation_text or "").splitlines() if line.strip())

    @property
    def search_text(self) -> str:
        """What the search box matches: id, platform and what the device is (lower case)."""
        words = [self.device_id, self.platform or "", self.category, "risky" if self.risks else ""]
        return " ".join(word for word in words if word).lower()


@dataclass
class Summary:
    total: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    risky: int = 0
    by_platform: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, device: DeviceView) -> None:
        self.total += 1
        self.counts[device.category] += 1
        self.risky += bool(device.risks)
        platform = self.by_platform.setdefault(device.platform or "unknown", Counter())
        platform["devices"] += 1
        platform[device.category] += 1
        platform["risky"] += bool(device.risks)

    def share(self, category: str) -> float:
        """Percent of the devices in ``category`` (the summary bar's segment widths)."""
        return round(100.0 * self.counts[category] / self.total, 3) if self.total else 0.0


@cache
def _template() -> Template:
    environment = Environment(
        loader=PackageLoader("netremedy", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("report.html.j2")


@cache
def _negation_prefixes() -> dict[str, str]:
    return {info.name: info.negation_prefix or _DEFAULT_NEGATION for info in platform_catalog()}


def _lines(text: str | None, negation: str, risky: set[str]) -> list[Line] | None:
    if text is None:
        return None
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        kind = "risk" if stripped in risky else "neg" if stripped.startswith(negation) else ""
        lines.append(Line(line, kind))
    return lines


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def device_view(result: Mapping[str, Any], platform: str | None = None) -> DeviceView:
    """A device result as the API returns it (fields of models.api.DeviceResult), read defensively: a field
    missing from an older or a newer result is not shown rather than an error."""
    platform = platform or result.get("platform")
    status = result.get("status")
    risks = [
        Risk(
            line=str(risk.get("line", "")),
            path=tuple(str(parent) for parent in risk.get("path") or ()),
            rule=str(risk.get("rule", "")),
            why=str(risk.get("why", "")),
        )
        for risk in result.get("risks") or ()
        if isinstance(risk, Mapping)
    ]
    negation = _negation_prefixes().get(platform or "", _DEFAULT_NEGATION)
    remediation = result.get("remediation")
    if status == "failed":
        category = "failed"
    elif status == "held":
        category = "held"
    else:
        compliant = result.get("compliant")
        if compliant is None:  # results recorded before the field existed
            compliant = isinstance(remediation, str) and not remediation.strip()
        category = "compliant" if compliant else "changes"
    return DeviceView(
        device_id=str(result.get("device_id", "")),
        platform=platform,
        category=category,
        remediation_text=_text(remediation),
        rollback_text=_text(result.get("rollback")),
        risks=risks,
        error=_text(result.get("error")),
        message=_text(result.get("message")),
        negation=negation,
    )


@dataclass
class DeviceSections:
    """The devices a report shows a section for (device_id order), and the summary of every device."""

    shown: list[DeviceView]
    summary: Summary
    remediation_bytes: int

    @property
    def left_out(self) -> int:
        return self.summary.total - len(self.shown)


def device_sections(devices: Iterable[DeviceView], limit: int = MAX_DEVICE_SECTIONS) -> DeviceSections:
    """Every device counted, at most ``limit`` kept (in one pass, so memory holds ``limit`` devices however
    many the job has), by ``_LEFT_OUT_FIRST``."""
    summary = Summary()
    kept: dict[str, list[DeviceView]] = {category: [] for category in _LEFT_OUT_FIRST}
    held = remediation_bytes = 0
    for device in devices:
        summary.add(device)
        remediation_bytes += len(device.remediation_text or "")
        kept.setdefault(device.category, []).append(device)
        held += 1
        if held > limit:
            next(group for group in kept.values() if group).pop()
            held -= 1
    shown = sorted((device for group in kept.values() for device in group), key=lambda d: d.device_id)
    return DeviceSections(shown, summary, remediation_bytes)


def render_report(
    job: ReportHeader,
    devices: Iterable[DeviceView],
    changes: Sequence[ReportChange] | None,
    changes_missing: str = "The top changes could not be computed for this job.",
    summary: Summary | None = None,
) -> Iterator[str]:
    """The report's text in pieces (Jinja2's generate); the devices in the order they should appear;
    changes None where there are none to show, ``changes_missing`` saying why. ``summary`` counts the whole
    job where ``devices`` are only some of it (``device_sections``)."""
    listed = list(devices)
    if summary is None:
        summary = Summary()
        for device in listed:
            summary.add(device)
    top = max((change.device_count for change in changes or ()), default=0)
    return _template().generate(
        job=job,
        summary=summary,
        categories=CATEGORIES,
        changes=changes,
        changes_missing=changes_missing,
        top_count=top,
        devices=listed,
        left_out=summary.total - len(listed),
    )


def job_report_html(settings: ServiceSettings, job: JobItem) -> bytes:
    """The report of a job from its stored results (every result is read once, in device_id order)."""
    sections = device_sections(
        device_view(public_result(settings, item).model_dump(), item.platform)
        for item in job_table.query_device_results(settings.table_name, job.job_id)
    )
    remediation_bytes = sections.remediation_bytes
    if remediation_bytes > FLEET_REPORT_REMEDIATION_BYTES:
        changes = None
        missing = (
            f"The top changes are left out: this job's remediation ({remediation_bytes / 1e6:.0f} MB) is more "
            "than the report's write-back analyses across the fleet. The fleet report (netremedy report JOB) "
            "lists them."
        )
    else:
        changes = _top_changes(settings, job)
        missing = (
            "The top changes could not be computed for this job (the fleet report failed; the log says why)."
        )
    header = ReportHeader(job.job_id, job.status, iso(utc_now()), job.created_at)
    return "".join(render_report(header, sections.shown, changes, missing, sections.summary)).encode()


def _top_changes(settings: ServiceSettings, job: JobItem) -> list[ReportChange] | None:
    """The fleet report's top changes; None where it fails (it parses every remediation again with
    hier_config): the chart is left out rather than the write-back of the whole job failing."""
    try:
        # The job's owner may read its report; a drop job's owner ("*") is the account's.
        return fleet_report(settings, job.job_id, job.owner, limit=TOP_CHANGES).changes
    except Exception as exc:  # noqa: BLE001
        # The type only: hier_config's messages quote configuration lines.
        logger.warning(
            "top changes left out of the HTML report",
            extra={"job_id": job.job_id, "error_type": type(exc).__name__},
        )
        return None


def write_job_report(settings: ServiceSettings, job: JobItem) -> str:
    """Writes the job's report to results/<job_id>/report.html; answers the key."""
    key = report_key(job.job_id)
    blob_store.put_bytes(
        settings.bucket_name, key, job_report_html(settings, job), "text/html; charset=utf-8"
    )
    return key
