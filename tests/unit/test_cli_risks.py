"""The CLI shows risky and held devices in red and ``--out`` writes ``<device>.risks.txt``."""

from pathlib import Path
from typing import Any

from rich.console import Console

from netremedy_cli.output import render_device, render_results, write_result_files

RISK = {
    "line": "no access-class 10 in",
    "path": ["line vty 0 4"],
    "rule": "ios.vty.access-class",
    "why": "changes the ACL that filters who may reach the management lines",
}
RISKY = {
    "device_id": "edge1",
    "status": "success",
    "remediation": "line vty 0 4\n  no access-class 10 in",
    "rollback": "line vty 0 4\n  access-class 10 in",
    "compliant": False,
    "risks": [RISK],
}
HELD = {
    "device_id": "edge2",
    "status": "held",
    "compliant": False,
    "risks": [RISK, RISK | {"line": "no aaa new-model", "path": [], "rule": "ios.aaa.new-model"}],
    "message": "remediation withheld: 2 lines could cut remote access to the device",
}
CALM = {
    "device_id": "core1",
    "status": "success",
    "remediation": "",
    "rollback": "",
    "compliant": True,
    "risks": [],
}
RED = "\x1b[31m"


def _console() -> Console:
    return Console(force_terminal=True, color_system="standard", width=150, record=True)


def _body(*results: dict[str, Any]) -> dict[str, Any]:
    summary = {"total_devices": len(results), "completed_devices": len(results), "failed_devices": 0}
    return {"job_id": "j1", "status": "completed", "results": list(results), "summary": summary}


def test_risky_and_held_devices_are_red_in_the_results_table() -> None:
    console = _console()
    render_results(console, _body(CALM, RISKY, HELD))
    plain = console.export_text(clear=False)
    assert "1 risky line" in plain and "held: 2 risky lines (remediation withheld)" in plain
    # The device name's cell opens with red for the risky and the held device, not for the compliant one
    rows = {line.split("│")[1]: line for line in console.export_text(styles=True).splitlines() if "│" in line}
    cells = {cell.replace(RED, "").replace("\x1b[0m", "").strip(): cell for cell in rows}
    assert RED in cells["edge1"] and RED in cells["edge2"] and RED not in cells["core1"]


def test_a_held_device_shows_why_and_its_risks_under_their_parents() -> None:
    console = _console()
    render_device(console, HELD)
    text = console.export_text()
    assert "edge2: held: remediation withheld" in text
    assert (
        "ios.vty.access-class: changes the ACL" in text
        and "  line vty 0 4\n    no access-class 10 in" in text
    )
    assert "edge2 remediation" not in text and "edge2 risks (2 risky lines)" in text


def test_out_writes_a_risks_file_for_each_device_with_risks_and_removes_stale_ones(tmp_path: Path) -> None:
    # Given a directory with a risks file from an earlier run of core1
    (tmp_path / "core1.risks.txt").write_text("stale")
    written, failed = write_result_files(tmp_path, [CALM, RISKY, HELD])
    assert (written, failed) == (2, 0)
    assert (tmp_path / "edge1.risks.txt").read_text() == (
        "ios.vty.access-class: changes the ACL that filters who may reach the management lines\n"
        "  line vty 0 4\n    no access-class 10 in\n"
    )
    held = (tmp_path / "edge2.risks.txt").read_text()
    assert (
        held.count("ios.") == 2
        and "\n\nios.aaa.new-model: " in held
        and held.endswith("  no aaa new-model\n")
    )
    # The held device has no remediation files and is not an error; the compliant one has no risks file
    assert not (tmp_path / "edge2.remediation.conf").exists() and not (tmp_path / "errors.txt").exists()
    assert not (tmp_path / "core1.risks.txt").exists()
    assert (tmp_path / "edge1.remediation.conf").read_text() == RISKY["remediation"]
