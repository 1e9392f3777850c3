"""The CLI's reading of submit PATHs: device directories, JSON manifests, merging, and the usage errors."""

import json
from pathlib import Path
from typing import Any

import pytest

from netremedy_cli.errors import CliError
from netremedy_cli.inputs import load_submission


def make_device(
    root: Path,
    device_id: str,
    running: str = "hostname a\n",
    intended: str = "hostname b\n",
    platform: str | None = None,
) -> Path:
    device = root / device_id
    device.mkdir(parents=True)
    (device / "running.conf").write_text(running)
    (device / "intended.conf").write_text(intended)
    if platform is not None:
        (device / "platform").write_text(platform)
    return device


def write_manifest(path: Path, devices: list[dict[str, Any]], **options: Any) -> Path:
    path.write_text(json.dumps({"device_configs": devices, **options}))
    return path


def entry(device_id: str, platform: str = "cisco_ios") -> dict[str, Any]:
    return {
        "device_id": device_id,
        "platform": platform,
        "running_config": "hostname x",
        "intended_config": "hostname y",
    }


def test_directory_devices_are_read_in_name_order_with_their_files_verbatim(tmp_path: Path) -> None:
    make_device(tmp_path, "sw2", running="hostname sw2\r\n interface [x]\n", intended="hostname sw2-new")
    make_device(tmp_path, "r1")
    (tmp_path / ".git").mkdir()  # hidden directories are not devices

    body = load_submission([tmp_path], platform="cisco_ios").body()

    assert body == {
        "device_configs": [
            {
                "device_id": "r1",
                "platform": "cisco_ios",
                "running_config": "hostname a\n",
                "intended_config": "hostname b\n",
            },
            # no newline translation: the API sees exactly the exported bytes
            {
                "device_id": "sw2",
                "platform": "cisco_ios",
                "running_config": "hostname sw2\r\n interface [x]\n",
                "intended_config": "hostname sw2-new",
            },
        ]
    }


def test_a_platform_file_wins_over_the_platform_option(tmp_path: Path) -> None:
    make_device(tmp_path, "leaf1", platform="cisco_nxos\n")
    make_device(tmp_path, "r1")

    devices = load_submission([tmp_path], platform="cisco_ios").devices

    assert {device["device_id"]: device["platform"] for device in devices} == {
        "leaf1": "cisco_nxos",
        "r1": "cisco_ios",
    }


def test_platform_files_alone_are_enough(tmp_path: Path) -> None:
    make_device(tmp_path, "r1", platform="juniper_junos")
    assert load_submission([tmp_path]).devices[0]["platform"] == "juniper_junos"


def test_a_device_without_any_platform_is_an_error_naming_it(tmp_path: Path) -> None:
    make_device(tmp_path, "r1", platform="cisco_ios")
    make_device(tmp_path, "core-7")

    with pytest.raises(
        CliError,
        match=r"device 'core-7' has no platform: pass --platform or write it to "
        r".*core-7/platform",
    ):
        load_submission([tmp_path])


def test_a_platform_file_with_two_lines_is_refused(tmp_path: Path) -> None:
    make_device(tmp_path, "r1", platform="cisco_ios\ncisco_nxos\n")
    with pytest.raises(CliError, match=r"r1/platform: must hold one platform name"):
        load_submission([tmp_path], platform="cisco_ios")


def test_a_missing_intended_config_is_an_error_naming_the_file(tmp_path: Path) -> None:
    device = make_device(tmp_path, "r1")
    (device / "intended.conf").unlink()
    with pytest.raises(CliError, match=r"r1/intended\.conf: missing"):
        load_submission([tmp_path], platform="cisco_ios")


def test_a_config_that_is_not_utf8_is_refused_before_sending(tmp_path: Path) -> None:
    device = make_device(tmp_path, "r1")
    (device / "running.conf").write_bytes(b"hostname r1\n banner \xff\n")
    with pytest.raises(CliError, match=r"running\.conf: not UTF-8 text \(byte 0xff at offset 20\)"):
        load_submission([tmp_path], platform="cisco_ios")


def test_a_directory_holding_running_conf_is_one_device_named_after_it(tmp_path: Path) -> None:
    device = make_device(tmp_path, "edge-1")
    devices = load_submission([device], platform="cisco_ios").devices
    assert [item["device_id"] for item in devices] == ["edge-1"]


def test_a_directory_without_devices_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="no device directories"):
        load_submission([tmp_path], platform="cisco_ios")


def test_a_manifest_is_sent_as_written(tmp_path: Path) -> None:
    devices = [entry("r1"), entry("sw1", "cisco_nxos")]
    manifest = write_manifest(tmp_path / "jobs.json", devices)

    # --platform is for directory devices only: a manifest entry keeps its own platform
    assert load_submission([manifest], platform="arista_eos").body() == {"device_configs": devices}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"jobs\.json: not valid JSON \(Expecting property name .* at line 1, column 2\)"),
        ("[]", r'expected a JSON object \{"device_configs": \[\.\.\.\]\}'),
        ('{"devices": []}', "expected a JSON object"),
        ('{"device_configs": [], "extra": 1}', "unknown top-level field"),
        ('{"device_configs": ["r1"]}', r"device_configs\[0\] is not a JSON object"),
    ],
)
def test_a_malformed_manifest_is_an_error_naming_the_file(tmp_path: Path, content: str, message: str) -> None:
    manifest = tmp_path / "jobs.json"
    manifest.write_text(content)
    with pytest.raises(CliError, match=message):
        load_submission([manifest])


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CliError, match=r"nope\.json: no such file or directory"):
        load_submission([tmp_path / "nope.json"])


def test_every_path_is_merged_into_one_job_in_order(tmp_path: Path) -> None:
    make_device(tmp_path / "fleet", "r2")
    make_device(tmp_path / "fleet", "r3")
    first = write_manifest(tmp_path / "a.json", [entry("r1")])
    last = write_manifest(tmp_path / "b.json", [entry("sw9", "cisco_nxos")])

    submission = load_submission([first, tmp_path / "fleet", last], platform="cisco_ios")

    assert [device["device_id"] for device in submission.devices] == ["r1", "r2", "r3", "sw9"]
    # the API numbers the merged list; the CLI maps a field back to the file it came from
    assert submission.describe_field("device_configs[3].platform") == (
        f"device_configs[3] is 'sw9' from {last} entry 0"
    )
    assert submission.describe_field("device_configs[1].running_config") == (
        f"device_configs[1] is 'r2' from {tmp_path / 'fleet' / 'r2'}"
    )
    assert submission.describe_field("device_configs") is None


def test_a_device_id_in_two_paths_is_an_error_naming_both(tmp_path: Path) -> None:
    make_device(tmp_path / "fleet", "r1")
    manifest = write_manifest(tmp_path / "more.json", [entry("r0"), entry("r1")])

    with pytest.raises(CliError, match=r"duplicate device id 'r1': in .*fleet/r1 and .*more\.json entry 1"):
        load_submission([tmp_path / "fleet", manifest], platform="cisco_ios")


def test_a_device_id_twice_in_one_manifest_is_an_error(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "jobs.json", [entry("r1"), entry("r1")])
    with pytest.raises(CliError, match=r"duplicate device id 'r1'"):
        load_submission([manifest])


def test_allow_empty_intended_from_a_manifest_does_not_spread_to_other_paths(tmp_path: Path) -> None:
    make_device(tmp_path / "fleet", "r1")
    allowing = write_manifest(tmp_path / "wipe.json", [entry("old1")], allow_empty_intended=True)

    assert load_submission([allowing]).body()["allow_empty_intended"] is True
    with pytest.raises(CliError, match="allow_empty_intended is set in some inputs but not others"):
        load_submission([allowing, tmp_path / "fleet"], platform="cisco_ios")
    merged = load_submission([allowing, tmp_path / "fleet"], platform="cisco_ios", allow_empty_intended=True)
    assert merged.body()["allow_empty_intended"] is True
    assert "allow_empty_intended" not in load_submission([tmp_path / "fleet"], platform="cisco_ios").body()
