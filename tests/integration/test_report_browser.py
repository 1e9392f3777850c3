"""The job's HTML report in a real browser: a job of corpus devices on the local stack, its report.html fetched
through the API's link, rendered by headless Chromium (Debian's ``chromium``), its DOM checked and a
screenshot saved. The renderer is unit-tested in tests/unit/test_html_report.py; this shows a browser agrees.

Chromium is found on PATH (``apt-get install -y chromium``; .ci/run installs it); where it is missing the
test is skipped saying so. The rendered page and the screenshot stay in tests/artifacts/ (ignored by git).
"""

import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import CORPUS_DIR, PROJECT_ROOT, require_corpus
from tests.integration.conftest import LocalStack
from tests.integration.test_cli import netremedy

pytestmark = pytest.mark.integration

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
# Corpus pairs of five platforms, small enough for a job that finishes in seconds.
CASES = {
    "ios-edge-1": ("cisco_ios", "netutils_diff_ios_basic"),
    "ios-edge-2": ("cisco_ios", "netutils_compliance_ios_basic"),
    "ios-core-1": ("cisco_ios", "hier_config_workflow_tags"),
    "ios-core-2": ("cisco_ios", "hier_config_acl"),
    "nxos-leaf-1": ("cisco_nxos", "netutils_diff_nxos_basic"),
    "nxos-leaf-2": ("cisco_nxos", "hier_config_circular"),
    "eos-spine-1": ("arista_eos", "netutils_diff_eos_basic"),
    "eos-spine-2": ("arista_eos", "napalm_eos_initial_to_new_good"),
    "junos-pe-1": ("juniper_junos", "netutils_diff_junos_basic"),
    "junos-pe-2": ("juniper_junos", "hier_config_junos_flat"),
    "xr-p-1": ("cisco_xr", "netutils_diff_iosxr_basic"),
    "xr-p-2": ("cisco_xr", "napalm_iosxr_initial_to_new_good"),
}


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip(
            "chromium is not installed (Debian: apt-get install -y chromium); the HTML report is not rendered"
        )
    return path


def _devices() -> list[dict[str, Any]]:
    devices = []
    for device_id, (platform, case) in CASES.items():
        folder = CORPUS_DIR / platform / case
        devices.append(
            {
                "device_id": device_id,
                "platform": platform,
                "running_config": (folder / "running.conf").read_text(),
                "intended_config": (folder / "intended.conf").read_text(),
            }
        )
    # One already compliant (intended = running), one that fails (an empty intended config is refused)
    compliant = (CORPUS_DIR / "cisco_ios" / "hier_config_acl" / "running.conf").read_text()
    devices.append(
        {
            "device_id": "ios-ok-1",
            "platform": "cisco_ios",
            "running_config": compliant,
            "intended_config": compliant,
        }
    )
    devices.append(
        {
            "device_id": "ios-bad-1",
            "platform": "cisco_ios",
            "running_config": compliant,
            "intended_config": "",
        }
    )
    return devices


def _report_link(local_stack: LocalStack, job_id: str) -> requests.Response:
    """The report.html route's answer once the write-back has written the report (409 until then)."""
    deadline = time.monotonic() + 120
    while True:
        answer = requests.get(
            f"{local_stack.api_url}/api/v1/batch/jobs/{job_id}/report.html", allow_redirects=False, timeout=30
        )
        if answer.status_code != 409 or time.monotonic() > deadline:
            return answer
        assert answer.json()["error"] == "report_not_ready"
        time.sleep(0.5)


def _run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        [
            *(chromium, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={profile}"),
            *("--no-first-run", "--disable-extensions", "--hide-scrollbars"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run


def _counter(dom: str, name: str) -> int:
    found = re.search(rf'<b id="n-{name}">(\d+)</b>', dom)
    assert found, f"no {name} counter in the rendered page"
    return int(found.group(1))


def _sections(dom: str) -> dict[str, bool]:
    """Each device section's id and whether the page shows it (the search box hides the others)."""
    return {
        match.group(1): "hidden" not in match.group(0)
        for match in re.finditer(r'<details class="dev" id="device-([^"]+)"[^>]*>', dom)
    }


def test_the_report_renders_in_chromium_with_its_numbers_devices_and_search(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    require_corpus()
    chromium = _chromium()
    # Given a completed job of corpus devices of five platforms, one compliant and one failing
    job_id = local_stack.submit(_devices())
    status = local_stack.wait(job_id)
    assert (status["status"], status["failed_devices"]) == ("completed", 1)
    # When its report is fetched through the API: a redirect a browser follows to the pre-signed link
    link = _report_link(local_stack, job_id)
    assert link.status_code == 302, link.text
    assert link.headers["Location"] == link.json()["url"]
    report = requests.get(link.headers["Location"], timeout=60)
    assert report.status_code == 200 and report.headers["Content-Type"].startswith("text/html")
    ARTIFACTS.mkdir(exist_ok=True)
    page = ARTIFACTS / "report.html"
    page.write_bytes(report.content)
    # The CLI saves the same file
    saved = tmp_path / "cli-report.html"
    run = netremedy("report", job_id, "--url", local_stack.api_url, "--html", str(saved), cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert saved.read_bytes() == report.content and "wrote the HTML report" in run.stderr

    # Then Chromium renders it with the fleet's numbers and a section per device, all shown
    dom = _run_chromium(chromium, tmp_path / "profile", "--dump-dom", page.as_uri()).stdout
    (ARTIFACTS / "report.dom.html").write_text(dom)
    results = local_stack.results(job_id)["results"]
    changed = [r for r in results if r["status"] == "success" and r.get("remediation")]
    assert _counter(dom, "total") == len(CASES) + 2
    assert _counter(dom, "failed") == 1
    assert _counter(dom, "compliant") == sum(1 for r in results if r["status"] == "success") - len(changed)
    assert _counter(dom, "changes") + _counter(dom, "held") == len(changed) + sum(
        1 for r in results if r["status"] == "held"
    )
    assert _sections(dom) == {device["device_id"]: True for device in _devices()}
    assert re.search(r'<span id="shown">14</span>', dom)
    # The remediation of a device is in its section as text, removals marked
    assert '<i class="neg">no ' in dom
    # The top changes chart lists the fleet report's changes
    assert len(re.findall(r'<tr class="change">', dom)) >= 5

    # And the search box filters: #q=nxos in the address leaves only the NX-OS devices shown
    filtered = _run_chromium(
        chromium, tmp_path / "profile", "--virtual-time-budget=3000", "--dump-dom", page.as_uri() + "#q=nxos"
    ).stdout
    assert _sections(filtered) == {
        device["device_id"]: "nxos" in device["device_id"] for device in _devices()
    }
    assert re.search(r'<span id="shown">2</span>', filtered)
    # Two words must both match: the failed cisco_ios device only
    both = _run_chromium(
        chromium, tmp_path / "profile", "--dump-dom", page.as_uri() + "#q=failed%20cisco_ios"
    ).stdout
    assert [device for device, shown in _sections(both).items() if shown] == ["ios-bad-1"]
    # A search down to one device opens its section
    assert re.search(r'<details class="dev" id="device-ios-bad-1"[^>]* open=""', both)

    # A screenshot of the rendered page is kept as the test's artefact
    screenshot = ARTIFACTS / "report.png"
    screenshot.unlink(missing_ok=True)
    _run_chromium(
        chromium, tmp_path / "profile", "--window-size=1280,1400", f"--screenshot={screenshot}", page.as_uri()
    )
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000
    print(f"report, rendered DOM and screenshot in {ARTIFACTS}")
