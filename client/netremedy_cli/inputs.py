"""Turning the PATHs given to ``submit`` (JSON manifests and device directories) into one request body.

Checks here are the ones only the client can make well: which file a device came from, a missing file, a
missing platform, a duplicate across PATHs. Everything else (platform names, id syntax, sizes) is left to
the API, whose answer names the field; ``Submission.describe_field`` maps it back to a file.
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netremedy_cli.errors import CliError
from netremedy_cli.options import TagRules
from netremedy_cli.pairing import read_paired_directories

RUNNING_FILE = "running.conf"
INTENDED_FILE = "intended.conf"
PLATFORM_FILE = "platform"
_DEVICE_INDEX = re.compile(r"^device_configs\[(\d+)\]")
_TAG_RULE_INDEX = re.compile(r"^options\.tag_rules\[(\d+)\]")
_OPTION_KEY = re.compile(r"^options\.(\w+)")
_MANIFEST_FIELDS = {"device_configs", "allow_empty_intended", "options"}


@dataclass(frozen=True)
class Source:
    """Where one device of the merged body came from, for messages."""

    device_id: str | None  # None: a manifest entry without one (the API will say so)
    origin: str


@dataclass
class Submission:
    """The merged devices and options of every PATH, ready to POST."""

    devices: list[dict[str, Any]] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    allow_empty_intended: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    # Where an option came from when it was not typed on the command line: a manifest, a tag-rules file.
    option_origins: dict[str, str] = field(default_factory=dict)
    tag_rules: TagRules | None = None

    def body(self) -> dict[str, Any]:
        """The POST /api/v1/batch/remediation body; ``allow_empty_intended`` and ``options`` are sent only
        when set (the API's defaults otherwise)."""
        body: dict[str, Any] = {"device_configs": self.devices}
        if self.allow_empty_intended:
            body["allow_empty_intended"] = True
        if self.options:
            body["options"] = self.options
        return body

    def describe_field(self, field_path: str) -> str | None:
        """``device_configs[7].platform`` -> ``device_configs[7] is 'r8' from fleet/r8``: the API numbers
        the merged list, which the user never saw. ``options.tag_rules[2]...`` -> the rule in its file."""
        rule = _TAG_RULE_INDEX.match(field_path)
        if rule and self.tag_rules is not None and int(rule.group(1)) < len(self.tag_rules.rules):
            return f"options.tag_rules[{rule.group(1)}] is {self.tag_rules.describe(int(rule.group(1)))}"
        option = _OPTION_KEY.match(field_path)
        if option and option.group(1) in self.option_origins:
            return f"options.{option.group(1)} is from {self.option_origins[option.group(1)]}"
        match = _DEVICE_INDEX.match(field_path)
        if not match or int(match.group(1)) >= len(self.sources):
            return None
        source = self.sources[int(match.group(1))]
        device = repr(source.device_id) if source.device_id is not None else "the entry"
        return f"device_configs[{match.group(1)}] is {device} from {source.origin}"


def load_submission(
    paths: Sequence[Path],
    platform: str | None = None,
    allow_empty_intended: bool = False,
    options: Mapping[str, Any] | None = None,
    tag_rules: TagRules | None = None,
    paired: tuple[Path, Path] | None = None,
    inventory: Path | None = None,
) -> Submission:
    """Read every PATH in order into one job. ``platform`` applies to directory devices without a
    ``platform`` file; manifests are sent as written. ``options`` are the command line's: each one given
    there wins over the manifests' (``tag_rules``, when given, came from the file ``tag_rules``).
    ``paired``: a running and an intended directory whose files pair by relative path (``pairing``), their
    platforms from ``inventory``, else ``platform``."""
    if not paths and paired is None:
        raise CliError(
            "no input: give a JSON manifest, a directory of <device_id>/running.conf and intended.conf, "
            "or --running-dir and --intended-dir"
        )
    submission = Submission()
    first_seen: dict[str, str] = {}
    manifest_options: list[bool] = []
    path_options: list[tuple[str, dict[str, Any]]] = []
    if paired is not None:
        devices, origins = read_paired_directories(*paired, platform, inventory, _read_text)
        manifest_options.append(False)
        path_options.append((str(paired[0]), {}))
        for device, (device_id, origin) in zip(devices, origins, strict=True):
            _check_unique(Source(device_id, origin), first_seen)
            submission.devices.append(device)
            submission.sources.append(Source(device_id, origin))
    for path in paths:
        if path.is_dir():
            devices, sources = read_device_directory(path, platform)
            manifest_options.append(False)
            path_options.append((str(path), {}))
        elif path.is_file():
            devices, sources, option, job_options = read_manifest(path)
            manifest_options.append(option)
            path_options.append((str(path), job_options))
        else:
            raise CliError(f"{path}: no such file or directory")
        for device, source in zip(devices, sources, strict=True):
            _check_unique(source, first_seen)
            submission.devices.append(device)
            submission.sources.append(source)
    submission.allow_empty_intended = _merged_allow_empty(manifest_options, allow_empty_intended)
    submission.options, submission.option_origins = _merged_options(path_options, dict(options or {}))
    if "tag_rules" in (options or {}):
        submission.tag_rules = tag_rules
    return submission


def _merged_options(
    per_path: list[tuple[str, dict[str, Any]]], command_line: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The command line's options, then each option the manifests set, which every PATH must then set the
    same way: a manifest's tag filter or outputs silently applied to devices of another PATH would change
    their remediation without anyone asking."""
    merged = dict(command_line)
    origins: dict[str, str] = {}
    keys = dict.fromkeys(key for _, options in per_path for key in options)
    for key in keys:
        if key in command_line:
            continue
        values = [(origin, options.get(key, _UNSET)) for origin, options in per_path]
        first_origin, first = next((origin, value) for origin, value in values if value is not _UNSET)
        for origin, value in values:
            if value != first:
                other = "does not set it" if value is _UNSET else "sets it differently"
                raise CliError(
                    f"options.{key} is set in {first_origin} but {origin} {other}: every input "
                    f"must agree, or give it on the command line for all of them"
                )
        merged[key] = first
        origins[key] = ", ".join(origin for origin, _ in per_path)
    return merged, origins


_UNSET = object()


def _check_unique(source: Source, first_seen: dict[str, str]) -> None:
    """Refuse a device id seen before, naming both places: the API could only name list positions."""
    if source.device_id is None:
        return
    if source.device_id in first_seen:
        raise CliError(
            f"duplicate device id {source.device_id!r}: in {first_seen[source.device_id]} and {source.origin}"
        )
    first_seen[source.device_id] = source.origin


def _merged_allow_empty(per_path: list[bool], flag: bool) -> bool:
    """The option erases devices whose intended config is empty, so one manifest's consent must not
    silently extend to devices from other PATHs."""
    if flag or all(per_path):
        return True
    if any(per_path):
        raise CliError(
            "allow_empty_intended is set in some inputs but not others; pass "
            "--allow-empty-intended to apply it to every device, or remove it"
        )
    return False


def read_device_directory(directory: Path, platform: str | None) -> tuple[list[dict[str, Any]], list[Source]]:
    """``DIR/<device_id>/{running.conf,intended.conf[,platform]}``; a DIR that itself holds running.conf is
    one device named after it."""
    if (directory / RUNNING_FILE).is_file():
        device_dirs = [directory]
    else:
        device_dirs = sorted(
            child for child in directory.iterdir() if child.is_dir() and not child.name.startswith(".")
        )
    if not device_dirs:
        raise CliError(
            f"{directory}: no device directories in it (expected <device_id>/{RUNNING_FILE} "
            f"and <device_id>/{INTENDED_FILE})"
        )
    devices = [_read_device(device_dir, platform) for device_dir in device_dirs]
    return devices, [
        Source(str(device["device_id"]), str(device_dir))
        for device, device_dir in zip(devices, device_dirs, strict=True)
    ]


def _read_device(device_dir: Path, default_platform: str | None) -> dict[str, Any]:
    # The directory's own name, not a symlink target's; "." (a single-device DIR given as .) has none.
    device_id = device_dir.name if device_dir.name not in ("", ".", "..") else device_dir.resolve().name
    platform_file = device_dir / PLATFORM_FILE
    if platform_file.is_file():
        platform = _read_text(platform_file).strip()
        if not platform or "\n" in platform:
            raise CliError(f"{platform_file}: must hold one platform name on one line (e.g. cisco_ios)")
    elif default_platform:
        platform = default_platform
    else:
        raise CliError(
            f"device {device_id!r} has no platform: pass --platform or write it to {platform_file}"
        )
    return {
        "device_id": device_id,
        "platform": platform,
        "running_config": _read_text(device_dir / RUNNING_FILE),
        "intended_config": _read_text(device_dir / INTENDED_FILE),
    }


def _read_text(path: Path) -> str:
    """The file as it is: no newline translation, so the API sees the bytes the device exported."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CliError(
            f"{path}: missing (each device directory needs {RUNNING_FILE} and {INTENDED_FILE})"
        ) from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "re-export it as UTF-8"
        ) from None


def read_manifest(path: Path) -> tuple[list[dict[str, Any]], list[Source], bool, dict[str, Any]]:
    """A JSON file shaped like the POST body. Entries and options are not validated here (the API does,
    naming the field), only what merging needs: a list of objects, and their ids for the duplicate check."""
    try:
        manifest = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("device_configs"), list):
        raise CliError(f'{path}: expected a JSON object {{"device_configs": [...]}}, as the POST body')
    unknown = sorted(set(manifest) - _MANIFEST_FIELDS)
    if unknown:
        raise CliError(f"{path}: unknown top-level field(s) {', '.join(unknown)}")
    option = manifest.get("allow_empty_intended", False)
    if not isinstance(option, bool):
        raise CliError(f"{path}: allow_empty_intended must be true or false")
    job_options = manifest.get("options", {})
    if not isinstance(job_options, dict):
        raise CliError(f"{path}: options must be a JSON object")
    devices: list[dict[str, Any]] = []
    sources: list[Source] = []
    for index, entry in enumerate(manifest["device_configs"]):
        if not isinstance(entry, dict):
            raise CliError(f"{path}: device_configs[{index}] is not a JSON object")
        devices.append(entry)
        device_id = entry.get("device_id")
        sources.append(Source(device_id if isinstance(device_id, str) else None, f"{path} entry {index}"))
    return devices, sources, option, job_options
