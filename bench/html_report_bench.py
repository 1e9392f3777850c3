"""The HTML report at fleet size: how big report.html is for N devices (default 10,000), how long the
write-back's step takes to build it, and how long headless Chromium takes to load it.

The devices cycle the corpus pairs (small and medium, as ``make bench``'s mixes), each pair's result computed
once by the service's ``compute_remediation``. The report is built by ``logic.html_report.job_report_html``,
the write-back's own call (every result read, the fleet report's top changes, the render), with the job
table's two reads answered from memory: DynamoDB's time is not in the figure. Chromium (Debian's
``chromium``) loads the file with ``--dump-dom`` (parsed, laid out, its script run), and with ``#q=...`` (the
search filtering every device on load); a blank page's time is its own start-up. CPU seconds are printed
beside wall seconds, which a busy machine stretches.

    .venv/bin/python bench/html_report_bench.py [--devices 10000] [--keep report.html]
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from corpus import DEFAULT_CORPUS, load_pairs, make_devices, pairs_by_class

from netremedy.dal import job_table
from netremedy.logic.html_report import FLEET_REPORT_REMEDIATION_BYTES, job_report_html
from netremedy.logic.remediation import RemediationError, compute_remediation
from netremedy.models.items import DeviceResultItem, JobItem
from netremedy.models.settings import load_settings

JOB_ID = "bench-html-report"
EXPIRES_AT = 4_102_444_800
NOW = "2026-01-01T00:00:00.000Z"


def _job_and_results(count: int, corpus: Path) -> tuple[JobItem, list[DeviceResultItem]]:
    """A completed job of ``count`` corpus devices and its result rows, as the worker stores them."""
    classes = pairs_by_class(load_pairs(corpus))
    devices = make_devices(classes["small"] + classes["medium"], count, "dev")
    computed: dict[str, dict[str, Any]] = {}
    items = []
    for device in devices:
        pair = device.pair
        if pair.name not in computed:
            try:
                text = compute_remediation(pair.platform, pair.running, pair.intended)
                computed[pair.name] = {
                    "status": "success",
                    **text.outputs(),
                    "compliant": text.compliant,
                    "risks": list(text.risks) or None,
                }
            except RemediationError as exc:
                computed[pair.name] = {"status": "failed", "error": str(exc)}
        items.append(
            DeviceResultItem(
                job_id=JOB_ID,
                device_id=device.device_id,
                platform=pair.platform,
                finished_at=NOW,
                expires_at=EXPIRES_AT,
                **computed[pair.name],
            )
        )
    job = JobItem(
        job_id=JOB_ID,
        status="completed",
        total_devices=count,
        completed_devices=sum(item.status != "failed" for item in items),
        failed_devices=sum(item.status == "failed" for item in items),
        created_at=NOW,
        updated_at=NOW,
        expires_at=EXPIRES_AT,
    )
    return job, items


def _serve_from_memory(job: JobItem, items: list[DeviceResultItem]) -> None:
    """The job table's two reads answered from memory: what is measured is the report, not DynamoDB."""
    job_table.get_job = lambda table, job_id: job
    job_table.query_device_results = lambda table, job_id, **kwargs: iter(items)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _chromium_seconds(chromium: str, url: str, profile: Path) -> tuple[float, float]:
    """Wall and CPU seconds (every Chromium process together) of loading ``url`` and dumping its DOM."""
    started, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(
        [
            *(chromium, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={profile}"),
            *("--no-first-run", "--disable-extensions", "--dump-dom", url),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return time.perf_counter() - started, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--keep", type=Path, help="also save the report here")
    args = parser.parse_args()
    job, items = _job_and_results(args.devices, args.corpus)
    _serve_from_memory(job, items)
    os.environ.update(TABLE_NAME="in-memory", BUCKET_NAME="unused", DEVICE_QUEUE_URL="unused")
    os.environ.update(FINALIZE_QUEUE_URL="unused", FANOUT_QUEUE_URL="unused")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), time.process_time()
    html = job_report_html(load_settings(), job)
    built, built_cpu = time.perf_counter() - started, time.process_time() - cpu
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"devices                       {args.devices:,} ({len({i.remediation for i in items})} distinct results)"
    )
    print(
        f"report.html                   {len(html) / 1e6:.2f} MB ({len(html) / args.devices:,.0f} bytes per device)"
    )
    text = sum(len((i.remediation or "") + (i.rollback or "") + (i.error or "")) for i in items)
    remediation = sum(len(i.remediation or "") for i in items)
    charted = remediation <= FLEET_REPORT_REMEDIATION_BYTES
    print(f"  of which device text          {text / 1e6:.2f} MB (remediation, rollback, error; each once)")
    print(
        f"top changes                   {'charted' if charted else 'left out'}: {remediation / 1e6:.1f} MB of "
        f"remediation, the fleet report's budget is {FLEET_REPORT_REMEDIATION_BYTES / 1e6:.0f} MB"
    )
    print(
        f"job_report_html               {built:.2f} s wall, {built_cpu:.2f} s CPU (read, fleet report if charted, render)"
    )
    print(f"peak RSS                      {rss_after / 1024:.0f} MB ({rss_before / 1024:.0f} MB before)")
    if args.keep:
        args.keep.write_bytes(html)
    chromium = shutil.which("chromium")
    if chromium is None:
        print(
            "chromium                        not installed (apt-get install -y chromium): no render time",
            file=sys.stderr,
        )
        return
    with tempfile.TemporaryDirectory() as work:
        page, blank = Path(work) / "report.html", Path(work) / "blank.html"
        page.write_bytes(html)
        blank.write_text("<!doctype html><title>blank</title>")
        profile = Path(work) / "profile"
        _chromium_seconds(chromium, blank.as_uri(), profile)  # the first start creates the profile
        figures = {
            "a blank page (start-up)": _chromium_seconds(chromium, blank.as_uri(), profile),
            "the report": _chromium_seconds(chromium, page.as_uri(), profile),
            "the report, #q=dev-000042": _chromium_seconds(
                chromium, page.as_uri() + "#q=dev-000042", profile
            ),
        }
    for what, (wall, cpu_seconds) in figures.items():
        print(f"chromium, {what:<26} {wall:.2f} s wall, {cpu_seconds:.2f} s CPU")


if __name__ == "__main__":
    main()
