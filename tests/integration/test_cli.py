"""The installed ``netremedy`` command against the real local stack: files equal the API's own results,
exit codes, and one-line errors without tracebacks."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from netremedy_local.launcher import free_port
from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration

NETREMEDY = Path(sys.executable).with_name("netremedy")
DEVICES = {
    "core-1": (
        "hostname core-1\ninterface Gi0/1\n description uplink\n ip address 10.0.0.1 255.255.255.0\n",
        (
            "hostname core-1\ninterface Gi0/1\n description uplink [to dist]\n"
            " ip address 10.0.0.2 255.255.255.0\n"
        ),
    ),
    "edge-2": (
        "hostname edge-2\nntp server 10.1.1.1\n",
        "hostname edge-2\nntp server 10.1.1.2\nlogging host 10.9.9.9\n",
    ),
}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def job_id(self) -> str:
        return self.stdout.splitlines()[0].strip()


def netremedy(*args: str, cwd: Path, **env_vars: str) -> Run:
    env = {name: value for name, value in os.environ.items() if name not in ("NETREMEDY_URL", "FORCE_COLOR")}
    env.update(COLUMNS="200", **env_vars)
    process = subprocess.run(
        [str(NETREMEDY), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    return Run(process.returncode, process.stdout, process.stderr)


def make_fleet(root: Path, devices: dict[str, tuple[str, str]]) -> Path:
    for device_id, (running, intended) in devices.items():
        (root / device_id).mkdir(parents=True)
        (root / device_id / "running.conf").write_text(running)
        (root / device_id / "intended.conf").write_text(intended)
    return root


def api_results(stack: LocalStack, job_id: str) -> dict[str, dict[str, Any]]:
    response = requests.get(f"{stack.api_url}/api/v1/batch/jobs/{job_id}/results", timeout=60)
    assert response.status_code == 200, response.text
    return {result["device_id"]: result for result in response.json()["results"]}


@pytest.fixture(scope="module")
def failing_job(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    """Three devices, one of them with a NUL byte in its running config: submitted, waited for, saved."""
    work = tmp_path_factory.mktemp("cli-failing")
    devices = DEVICES | {"zz-broken": ("hostname zz-broken\n\x00\n", "hostname zz-broken\n")}
    fleet = make_fleet(work / "fleet", devices)
    run = netremedy(
        "submit",
        str(fleet),
        "--platform",
        "cisco_ios",
        "--wait",
        "--out",
        str(work / "out"),
        "--url",
        local_stack.api_url,
        cwd=work,
    )
    return run, work / "out"


def test_a_job_with_a_failing_device_exits_1_and_writes_the_apis_results(
    local_stack: LocalStack, failing_job: tuple[Run, Path]
) -> None:
    run, out = failing_job
    assert run.code == 1, run.stderr
    results = api_results(local_stack, run.job_id)
    assert sorted(results) == ["core-1", "edge-2", "zz-broken"]
    assert [results[name]["status"] for name in sorted(results)] == ["success", "success", "failed"]

    # the CLI asks for the diff too by default
    assert sorted(path.name for path in out.iterdir()) == [
        "core-1.diff",
        "core-1.remediation.conf",
        "core-1.rollback.conf",
        "edge-2.diff",
        "edge-2.remediation.conf",
        "edge-2.rollback.conf",
        "errors.txt",
    ]
    for device_id in ("core-1", "edge-2"):
        assert (out / f"{device_id}.remediation.conf").read_text() == results[device_id]["remediation"]
        assert (out / f"{device_id}.rollback.conf").read_text() == results[device_id]["rollback"]
        assert (out / f"{device_id}.diff").read_text() == results[device_id]["diff"]
    assert "+ description uplink [to dist]" in results["core-1"]["diff"]
    assert "description uplink [to dist]" in results["core-1"]["remediation"]
    assert (out / "errors.txt").read_text() == f"zz-broken: {results['zz-broken']['error']}\n"
    assert "NUL byte" in results["zz-broken"]["error"]
    assert "zz-broken" in run.stdout and "failed" in run.stdout


def test_status_of_a_finished_job_exits_0_and_says_completed(
    local_stack: LocalStack, failing_job: tuple[Run, Path], tmp_path: Path
) -> None:
    run = netremedy("status", failing_job[0].job_id, "--url", local_stack.api_url, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert "completed" in run.stdout
    assert "100.0%" in run.stdout


def test_results_of_one_device_print_the_apis_remediation_and_rollback(
    local_stack: LocalStack, failing_job: tuple[Run, Path], tmp_path: Path
) -> None:
    job_id = failing_job[0].job_id
    expected = api_results(local_stack, job_id)["core-1"]

    run = netremedy("results", job_id, "--device", "core-1", "--url", local_stack.api_url, cwd=tmp_path)

    assert run.code == 0, run.stderr
    assert expected["remediation"] in run.stdout and expected["rollback"] in run.stdout
    failed = netremedy("results", job_id, "--device", "zz-broken", "--url", local_stack.api_url, cwd=tmp_path)
    assert failed.code == 1 and "NUL byte" in failed.stdout
    whole = netremedy(
        "results", job_id, "--out", str(tmp_path / "again"), "--url", local_stack.api_url, cwd=tmp_path
    )
    assert whole.code == 1
    again = (tmp_path / "again" / "edge-2.rollback.conf").read_text()
    assert again == (failing_job[1] / "edge-2.rollback.conf").read_text()


def test_an_all_good_job_exits_0_with_files_equal_to_a_direct_api_submission(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    fleet = make_fleet(tmp_path / "fleet", DEVICES)
    (fleet / "edge-2" / "platform").write_text("cisco_nxos\n")

    run = netremedy(
        "submit",
        str(fleet),
        "--platform",
        "cisco_ios",
        "--out",
        str(tmp_path / "out"),
        "--url",
        local_stack.api_url,
        cwd=tmp_path,
    )

    assert run.code == 0, run.stderr
    assert not (tmp_path / "out" / "errors.txt").exists()
    direct = local_stack.submit(
        [
            {
                "device_id": device_id,
                "platform": "cisco_nxos" if device_id == "edge-2" else "cisco_ios",
                "running_config": running,
                "intended_config": intended,
            }
            for device_id, (running, intended) in DEVICES.items()
        ]
    )
    local_stack.wait(direct)
    expected = api_results(local_stack, direct)
    for device_id in DEVICES:
        for kind in ("remediation", "rollback"):
            assert (tmp_path / "out" / f"{device_id}.{kind}.conf").read_text() == expected[device_id][kind]


def test_submit_without_wait_prints_only_the_job_id(local_stack: LocalStack, tmp_path: Path) -> None:
    manifest = tmp_path / "job.json"
    manifest.write_text(
        json.dumps(
            {
                "device_configs": [
                    {
                        "device_id": "r1",
                        "platform": "cisco_ios",
                        "running_config": "hostname a",
                        "intended_config": "hostname b",
                    }
                ]
            }
        )
    )
    run = netremedy("submit", str(manifest), "--url", local_stack.api_url, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert local_stack.status(run.stdout.strip())["total_devices"] == 1


@pytest.mark.parametrize(
    "command", [["submit", "{fleet}", "--platform", "cisco_ios", "--wait"], ["status", "some-job"]]
)
def test_an_unreachable_api_is_one_line_and_exit_2(tmp_path: Path, command: list[str]) -> None:
    fleet = make_fleet(tmp_path / "fleet", DEVICES)
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens once the probe is closed

    run = netremedy(*[part.format(fleet=fleet) for part in command], "--url", url, cwd=tmp_path)

    assert run.code == 2
    assert run.stderr == f"netremedy: error: cannot reach {url} (is `make serve` running?)\n"
    assert "Traceback" not in run.stdout + run.stderr


def test_an_unknown_platform_is_the_apis_error_naming_the_field(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    manifest = tmp_path / "job.json"
    manifest.write_text(
        json.dumps(
            {
                "device_configs": [
                    {
                        "device_id": "r1",
                        "platform": "cisco_ioz",
                        "running_config": "hostname a",
                        "intended_config": "hostname b",
                    }
                ]
            }
        )
    )

    run = netremedy("submit", str(manifest), "--wait", "--url", local_stack.api_url, cwd=tmp_path)

    assert run.code == 2
    assert run.stdout == ""
    assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith("netremedy: error: device_configs[0].platform: Input should be ")
    assert f"[device_configs[0] is 'r1' from {manifest} entry 0]" in run.stderr


def test_a_job_is_seen_only_by_its_caller(local_stack: LocalStack, tmp_path: Path) -> None:
    fleet = make_fleet(tmp_path / "fleet", {"r1": DEVICES["edge-2"]})
    job_id = netremedy(
        "submit",
        str(fleet),
        "--platform",
        "cisco_ios",
        "--caller",
        "alice",
        "--url",
        local_stack.api_url,
        cwd=tmp_path,
    ).job_id

    other = netremedy("status", job_id, "--caller", "bob", "--url", local_stack.api_url, cwd=tmp_path)
    assert other.code == 2
    assert other.stderr == f"netremedy: error: No job with id '{job_id}'\n"
    owner = netremedy("status", job_id, "--caller", "alice", "--url", local_stack.api_url, cwd=tmp_path)
    assert owner.code == 0, owner.stderr


def test_the_url_comes_from_the_local_stack_file_in_the_current_directory(
    local_stack: LocalStack, failing_job: tuple[Run, Path], tmp_path: Path
) -> None:
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "stack.json").write_text(json.dumps({"api_url": local_stack.api_url}))
    run = netremedy("status", failing_job[0].job_id, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert failing_job[0].job_id in run.stdout


def test_diff_prints_the_apis_diff_of_one_device_coloured_on_a_terminal(
    local_stack: LocalStack, failing_job: tuple[Run, Path], tmp_path: Path
) -> None:
    job_id = failing_job[0].job_id
    diff = api_results(local_stack, job_id)["core-1"]["diff"]

    plain = netremedy("diff", job_id, "core-1", "--url", local_stack.api_url, cwd=tmp_path)
    assert plain.code == 0, plain.stderr
    assert plain.stdout == diff + "\n"  # piped: the API's text exactly, no colour codes

    coloured = netremedy(
        "diff", job_id, "core-1", "--url", local_stack.api_url, cwd=tmp_path, FORCE_COLOR="1"
    )
    assert coloured.code == 0, coloured.stderr
    lines = dict(zip(diff.splitlines(), coloured.stdout.splitlines(), strict=True))
    assert lines["interface Gi0/1"] == "interface Gi0/1"  # context: plain
    assert lines["  - description uplink"] == "\x1b[31m  - description uplink\x1b[0m"
    assert lines["  + description uplink [to dist]"] == "\x1b[32m  + description uplink [to dist]\x1b[0m"


def test_diff_of_a_failed_device_is_its_error_and_exit_1(
    local_stack: LocalStack, failing_job: tuple[Run, Path], tmp_path: Path
) -> None:
    run = netremedy("diff", failing_job[0].job_id, "zz-broken", "--url", local_stack.api_url, cwd=tmp_path)
    assert run.code == 1
    assert run.stdout.startswith("zz-broken: failed: ") and "NUL byte" in run.stdout


def test_a_job_without_the_diff_output_writes_only_what_it_asked_for_and_diff_says_so(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    fleet = make_fleet(tmp_path / "fleet", DEVICES)
    run = netremedy(
        "submit",
        str(fleet),
        "--platform",
        "cisco_ios",
        "--output",
        "remediation,future",
        "--out",
        str(tmp_path / "out"),
        "--url",
        local_stack.api_url,
        cwd=tmp_path,
    )
    assert run.code == 0, run.stderr
    results = api_results(local_stack, run.job_id)
    # Every success result says whether it is compliant and lists its risks (issue 14), whatever the outputs.
    assert sorted(results["edge-2"]) == ["compliant", "device_id", "future", "remediation", "risks", "status"]
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "core-1.future.conf",
        "core-1.remediation.conf",
        "edge-2.future.conf",
        "edge-2.remediation.conf",
    ]
    assert (tmp_path / "out" / "edge-2.future.conf").read_text() == results["edge-2"]["future"]

    diff = netremedy("diff", run.job_id, "edge-2", "--url", local_stack.api_url, cwd=tmp_path)
    assert diff.code == 2 and diff.stdout == ""
    assert diff.stderr == (
        f"netremedy: error: job {run.job_id} has no diff for 'edge-2': it was submitted "
        "without the diff output; submit again with --output diff (the default of "
        "'netremedy submit')\n"
    )


def test_report_shows_the_change_common_to_most_devices_with_its_count(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    devices = {
        f"r{index}": (
            f"hostname r{index}\nntp server 10.1.1.1\n",
            f"hostname r{index}\nntp server 10.1.1.2\n"
            + (f"interface Gi0/{index}\n description port {index}\n" if index % 2 else ""),
        )
        for index in range(1, 6)
    }
    devices["r6"] = ("hostname r6\n", "hostname r6\n")  # needs nothing
    fleet = make_fleet(tmp_path / "fleet", devices)
    job_id = netremedy(
        "submit", str(fleet), "--platform", "cisco_ios", "--wait", "--url", local_stack.api_url, cwd=tmp_path
    ).job_id
    response = requests.get(
        f"{local_stack.api_url}/api/v1/batch/jobs/{job_id}/report", params={"limit": 3}, timeout=60
    )
    assert response.status_code == 200, response.text
    report = response.json()
    common = {change["line"]: change["device_count"] for change in report["changes"][:2]}
    assert common == {"no ntp server 10.1.1.1": 5, "ntp server 10.1.1.2": 5}
    assert report["devices_with_changes"] == 5 and report["devices_without_changes"] == 1

    run = netremedy("report", job_id, "--limit", "3", "--url", local_stack.api_url, cwd=tmp_path)

    assert run.code == 0, run.stderr
    rows = [
        [cell.strip() for cell in line.rstrip()[1:-1].split("│")]
        for line in run.stdout.splitlines()
        if line.startswith("│")
    ]
    # Five devices with changes: the report names them rather than giving shares.
    for number, change in enumerate(report["changes"][:2], start=1):
        assert rows[number - 1] == [str(number), "cisco_ios", change["line"], "5", "r1, r2, r3, r4, r5"]
    assert len([row for row in rows if row[0]]) == 3
    assert run.stdout.splitlines()[-1].startswith(
        "the top 3 changes cover 5 of 5 devices with changes; 1 device needs nothing; 0 failed"
    )

    only_common = netremedy(
        "report", job_id, "--min-devices", "2", "--url", local_stack.api_url, cwd=tmp_path
    )
    assert only_common.code == 0, only_common.stderr
    assert "ntp server 10.1.1.2" in only_common.stdout and "description port" not in only_common.stdout


TAG_RULES = """\
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


def test_tag_rules_with_include_tag_give_the_apis_filtered_remediation(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    running = "hostname sw1\ninterface Vlan2\n description old\n mtu 1500\n"
    intended = (
        "hostname sw1\ninterface Vlan2\n description users [floor 2]\n mtu 9000\n"
        "ip access-list extended MGMT\n permit ip any any\n"
    )
    fleet = make_fleet(tmp_path / "fleet", {"sw1": (running, intended)})
    (tmp_path / "tag_rules.yml").write_text(TAG_RULES)

    run = netremedy(
        "submit",
        str(fleet),
        "--platform",
        "cisco_ios",
        "--tag-rules",
        "tag_rules.yml",
        "--include-tag",
        "safe",
        "--out",
        "out",
        "--url",
        local_stack.api_url,
        cwd=tmp_path,
    )

    assert run.code == 0, run.stderr
    options = {
        "tag_rules": [
            {
                "match_rules": [{"startswith": "interface Vlan"}, {"startswith": ["description"]}],
                "apply_tags": ["safe"],
            },
            {"match_rules": [{"startswith": ["ip access-list"]}], "apply_tags": ["manual"]},
        ],
        "include_tags": ["safe"],
    }
    direct = local_stack.submit(
        [
            {
                "device_id": "sw1",
                "platform": "cisco_ios",
                "running_config": running,
                "intended_config": intended,
            }
        ],
        options=options,
    )
    local_stack.wait(direct)
    expected = api_results(local_stack, direct)["sw1"]["remediation"]
    assert expected == "interface Vlan2\n  description users [floor 2]"
    assert (tmp_path / "out" / "sw1.remediation.conf").read_text() == expected


def test_a_tag_filter_the_api_refuses_is_one_line_naming_the_field(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    fleet = make_fleet(tmp_path / "fleet", {"r1": DEVICES["edge-2"]})
    (tmp_path / "rules.yml").write_text('- match_rules: [{re_search: "("}]\n  apply_tags: [x]\n')

    unknown = netremedy(
        "submit",
        str(fleet),
        "--platform",
        "cisco_ios",
        "--include-tag",
        "safe",
        "--url",
        local_stack.api_url,
        cwd=tmp_path,
    )
    bad_rule = netremedy(
        "submit",
        str(fleet),
        "--platform",
        "cisco_ios",
        "--tag-rules",
        "rules.yml",
        "--url",
        local_stack.api_url,
        cwd=tmp_path,
    )

    assert unknown.code == 2 and unknown.stdout == ""
    assert unknown.stderr == (
        "netremedy: error: options: include_tags: 'safe' is applied by no tag_rules entry\n"
    )
    assert bad_rule.code == 2 and len(bad_rule.stderr.splitlines()) == 1
    assert bad_rule.stderr.startswith(
        "netremedy: error: options.tag_rules[0].match_rules[0].re_search: is not a valid regular expression"
    )
    assert bad_rule.stderr.endswith("[options.tag_rules[0] is rule 1 of rules.yml (line 1)]\n")
