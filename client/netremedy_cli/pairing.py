"""``submit --running-dir backups/ --intended-dir intended/``: two trees of config files paired by relative path.

The same rules as a prefix-pair manifest in S3 (functions/netremedy/logic/manifests.py, which the client
cannot import; tests/unit/test_cli_pairing.py keeps the two equal): ``site1/r1.cfg`` under one directory and
``site1/r1.conf`` under the other are the device ``site1.r1`` (one of ``.cfg``, ``.conf``, ``.txt`` ignored, in
any case; each ``/`` read as ``.``); hidden files and folders are skipped. Unlike a drop, where a device
with one side only fails alone in the job, the CLI refuses such a tree before sending anything: a POST has no
way to carry a device that already failed, and dropping it silently would hide it.
"""

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netremedy_cli.errors import CliError

CONFIG_SUFFIXES = (".cfg", ".conf", ".txt")
# models.devices.DEVICE_ID_PATTERN
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_LISTED = 5


def ignored_path(relative: str) -> bool:
    return any(segment == "" or segment.startswith(".") for segment in relative.split("/"))


def device_id_for(relative: str) -> str | None:
    name = relative
    for suffix in CONFIG_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    device_id = name.replace("/", ".")
    return device_id if _DEVICE_ID.fullmatch(device_id) else None


@dataclass(frozen=True)
class Pairing:
    pairs: dict[str, tuple[str, str]]  # device id -> (running, intended) relative paths
    unpaired: dict[str, str]  # device id -> why it has no pair
    invalid: list[str]  # label + relative path of files that make no valid device id


def pair_relative_paths(
    running: Iterable[str], intended: Iterable[str], running_label: str, intended_label: str
) -> Pairing:
    sides: list[dict[str, list[str]]] = [{}, {}]
    invalid: list[str] = []
    labels = (running_label, intended_label)
    for side, names, label in zip(sides, (running, intended), labels, strict=True):
        for relative in names:
            if ignored_path(relative):
                continue
            device_id = device_id_for(relative)
            if device_id is None:
                invalid.append(f"{label}{relative}")
            else:
                side.setdefault(device_id, []).append(relative)
    pairs: dict[str, tuple[str, str]] = {}
    unpaired: dict[str, str] = {}
    for device_id in sorted(sides[0].keys() | sides[1].keys()):
        found = [side.get(device_id, []) for side in sides]
        crowded = [(label, names) for label, names in zip(labels, found, strict=True) if len(names) > 1]
        if crowded:
            label, names = crowded[0]
            listed = ", ".join(f"{label}{name}" for name in names)
            unpaired[device_id] = f"more than one config under {label} for {device_id}: {listed}"
        elif not found[1]:
            unpaired[device_id] = (
                f"no intended config under {intended_label} for {device_id} ({running_label}{found[0][0]})"
            )
        elif not found[0]:
            unpaired[device_id] = (
                f"no running config under {running_label} for {device_id} ({intended_label}{found[1][0]})"
            )
        else:
            pairs[device_id] = (found[0][0], found[1][0])
    return Pairing(pairs, unpaired, sorted(invalid))


def parse_inventory(text: str) -> dict[str, str]:
    """device id -> platform as written, from a CSV with a header row naming ``device`` (or ``device_id``)
    and ``platform`` columns; devices named by id or relative path. ValueError naming the line."""
    reader = csv.DictReader(io.StringIO(text))
    columns = {name.strip().lower(): name for name in reader.fieldnames or []}
    device_column = columns.get("device") or columns.get("device_id")
    platform_column = columns.get("platform")
    if device_column is None or platform_column is None:
        raise ValueError("line 1: the header row needs a device (or device_id) column and a platform column")
    platforms: dict[str, str] = {}
    for row in reader:
        device, platform = (row.get(device_column) or "").strip(), (row.get(platform_column) or "").strip()
        if not device and not platform:
            continue
        where = f"line {reader.line_num}"
        device_id = device_id_for(device) if device else None
        if device_id is None or not platform:
            raise ValueError(
                f"{where}: needs a valid device id and a platform (got {device!r}, {platform!r})"
            )
        if platforms.get(device_id, platform) != platform:
            raise ValueError(f"{where}: {device_id} is listed before with platform {platforms[device_id]!r}")
        platforms[device_id] = platform
    return platforms


def _files(directory: Path) -> list[str]:
    if not directory.is_dir():
        raise CliError(f"{directory}: not a directory")
    return sorted(path.relative_to(directory).as_posix() for path in directory.rglob("*") if path.is_file())


def _listed(problems: list[str]) -> str:
    more = f"; and {len(problems) - _LISTED} more" if len(problems) > _LISTED else ""
    return "; ".join(problems[:_LISTED]) + more


def read_paired_directories(
    running_dir: Path,
    intended_dir: Path,
    platform: str | None,
    inventory: Path | None,
    read_text: Callable[[Path], str],
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The devices of two trees, each with its platform (inventory, else ``platform``), and where each came
    from (device id, running file); CliError for anything that would leave a device out."""
    running_label, intended_label = (
        f"{running_dir.as_posix().rstrip('/')}/",
        f"{intended_dir.as_posix().rstrip('/')}/",
    )
    pairing = pair_relative_paths(_files(running_dir), _files(intended_dir), running_label, intended_label)
    if pairing.invalid:
        raise CliError(
            f"{len(pairing.invalid)} file(s) make no valid device id (letters, digits, '.', '_' or '-' once "
            f"'/' is read as '.'): {_listed(pairing.invalid)}"
        )
    if pairing.unpaired:
        raise CliError(
            f"{len(pairing.unpaired)} device(s) are not in both trees: {_listed(list(pairing.unpaired.values()))}"
        )
    if not pairing.pairs:
        raise CliError(f"no config files under {running_label} and {intended_label}")
    platforms: dict[str, str] = {}
    if inventory is not None:
        try:
            platforms = parse_inventory(read_text(inventory))
        except ValueError as exc:
            raise CliError(f"{inventory}: {exc}") from None
    devices: list[dict[str, Any]] = []
    sources: list[tuple[str, str]] = []
    missing: list[str] = []
    for device_id, (running, intended) in pairing.pairs.items():
        device_platform = platforms.get(device_id) or platform
        if device_platform is None:
            missing.append(device_id)
            continue
        devices.append(
            {
                "device_id": device_id,
                "platform": device_platform,
                "running_config": read_text(running_dir / running),
                "intended_config": read_text(intended_dir / intended),
            }
        )
        sources.append((device_id, f"{running_label}{running}"))
    if missing:
        where = f" or list them in {inventory}" if inventory else " or --inventory FILE"
        raise CliError(
            f"{len(missing)} device(s) have no platform: pass --platform{where}: {_listed(missing)}"
        )
    return devices, sources
