"""``netremedy submit --running-dir --intended-dir [--inventory]``: local trees paired by relative path, with
the very rules of a prefix-pair manifest in S3 (the client keeps its own copy: it cannot import functions/)."""

from pathlib import Path

import pytest

from netremedy.logic import manifests
from netremedy_cli import pairing
from netremedy_cli.main import main
from tests.unit.test_cli_commands import URL, FakeApi, api, created, one_error_line

__all__ = ["api"]  # the fixture, used by name

PATHS = [
    "r1.cfg",
    "R2.CONF",
    "site1/r1.txt",
    "site1/r1.example.net",
    "site1/.hidden.cfg",
    ".git/HEAD",
    "dir/",
    "core 1.cfg",
    "-x.cfg",
    "a//b.cfg",
    f"{'y' * 130}.cfg",
    "r3.cfg",
    "r3.txt",
]


def _tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


@pytest.mark.parametrize("relative", PATHS)
def test_the_client_names_devices_as_the_service_does(relative: str) -> None:
    assert pairing.device_id_for(relative) == manifests.device_id_for(relative)
    assert pairing.ignored_path(relative) == manifests.ignored_key(relative)


def test_the_client_pairs_and_reads_inventories_as_the_service_does() -> None:
    running, intended = PATHS, [path.replace(".cfg", ".conf") for path in PATHS[::2]]
    ours = pairing.pair_relative_paths(running, intended, "b/", "i/")
    theirs = manifests.pair_relative_keys(running, intended, "b/", "i/")
    assert (ours.pairs, ours.unpaired, ours.invalid) == (theirs.pairs, theirs.unpaired, theirs.invalid)
    inventory = "device,platform\nsite1/r1,vyos\nr2.cfg,cisco_nxos\n"
    assert pairing.parse_inventory(inventory) == manifests.parse_inventory(inventory)


def test_submit_pairs_two_trees_into_one_job(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given backups and intended trees with the same relative names, and an inventory for one device
    backups = _tree(tmp_path / "backups", {"site1/r1.cfg": "hostname r1\n", "site2/edge.cfg": "set a\n"})
    intended = _tree(tmp_path / "intended", {"site1/r1.conf": "hostname r1b\n", "site2/edge.cfg": "set b\n"})
    inventory = _tree(tmp_path, {"inventory.csv": "device,platform\nsite2/edge,vyos\n"}) / "inventory.csv"
    created(api)
    # When they are submitted
    code = main(
        [
            "submit",
            "--running-dir",
            str(backups),
            "--intended-dir",
            str(intended),
            "--platform",
            "cisco_ios",
            "--inventory",
            str(inventory),
            "--url",
            URL,
        ]
    )
    # Then one POST carries both devices, named by relative path, each with its platform and texts
    assert code == 0, capsys.readouterr().err
    assert api.posted()["device_configs"] == [
        {
            "device_id": "site1.r1",
            "platform": "cisco_ios",
            "running_config": "hostname r1\n",
            "intended_config": "hostname r1b\n",
        },
        {
            "device_id": "site2.edge",
            "platform": "vyos",
            "running_config": "set a\n",
            "intended_config": "set b\n",
        },
    ]


@pytest.mark.parametrize(
    ("running", "intended", "extra", "message"),
    [
        (
            {"r1.cfg": "a", "r2.cfg": "a"},
            {"r1.cfg": "b"},
            ["--platform", "cisco_ios"],
            "1 device(s) are not in both trees: no intended config under {i}/ for r2 ({b}/r2.cfg)",
        ),
        (
            {"r1.cfg": "a"},
            {"r1.cfg": "b"},
            [],
            "1 device(s) have no platform: pass --platform or --inventory FILE: r1",
        ),
        (
            {"core 1.cfg": "a"},
            {"core 1.cfg": "b"},
            ["--platform", "cisco_ios"],
            "2 file(s) make no valid device id",
        ),
    ],
)
def test_submit_refuses_trees_that_would_leave_a_device_out(
    api: FakeApi,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    running: dict[str, str],
    intended: dict[str, str],
    extra: list[str],
    message: str,
) -> None:
    backups, wanted = _tree(tmp_path / "b", running), _tree(tmp_path / "i", intended)
    code = main(
        ["submit", "--running-dir", str(backups), "--intended-dir", str(wanted), *extra, "--url", URL]
    )
    assert code == 2
    assert message.format(b=backups.as_posix(), i=wanted.as_posix()) in one_error_line(capsys)
    assert api.sent == []


def test_running_and_intended_dirs_go_together(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["submit", "--running-dir", str(tmp_path), "--url", URL]) == 2
    assert "--running-dir and --intended-dir go together" in one_error_line(capsys)
    assert main(["submit", "--url", URL]) == 2
    assert "no input" in one_error_line(capsys)
