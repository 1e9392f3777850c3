"""Reading a manifest (an S3 drop's, an upload's) into the devices of one job, without holding it twice.

Three shapes, one result (``LoadedDrop``):

- **JSON**, the POST body where each config may be a key instead (``models.drops.DropManifest``). It is
  parsed as it streams in (ijson), each device validated as it comes, whatever the order of the fields;
- **JSON Lines**: one device object per line, optionally a first line ``{"options": ..., "allow_empty_intended":
  ...}`` without ``device_id``. A key ending in ``.jsonl`` is always read so; any other is when its first line
  is a whole JSON object by itself that is not a JSON manifest (no ``device_configs``, ``running_prefix`` or
  ``intended_prefix``). It is parsed line by line as it streams in, and its errors name the line;
- **prefix pairing** (``PrefixPairManifest``): the devices are the relative keys found under both prefixes.

A manifest that does not validate is refused whole (``DropRefusedError``, with field paths). A device whose
referenced key is not allowed (``key_problem``), whose config has only one side, or that has no platform,
fails alone: it is in ``LoadedDrop.failed`` and the job records it as failed. Referenced objects are not read
here but by the worker, which fails a device whose object is missing or unreadable the same way.
"""

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ijson
from pydantic import BaseModel, TypeAdapter, ValidationError

from netremedy.dal import blob_store
from netremedy.models.devices import DEVICE_ID_PATTERN, MAX_CONFIG_BYTES, DeviceConfig
from netremedy.models.drops import (
    CONFIG_SUFFIXES,
    MAX_DEVICES_PER_DROP,
    MAX_MANIFEST_BYTES,
    DeviceToQueue,
    DropManifest,
    DroppedDevice,
    ManifestHeader,
    PrefixPairManifest,
)
from netremedy.models.object_keys import SERVICE_PREFIXES
from netremedy.models.options import RemediationOptions
from netremedy.models.platforms import PlatformName
from netremedy.models.settings import ServiceSettings

_MAX_DETAILS = 20
_MAX_INVENTORY_BYTES = 64 * 1024 * 1024
# A JSON Lines device line with two configs of MAX_CONFIG_BYTES, escaped as usual (a line break takes two
# bytes), fits in this many bytes; a first line without a line break by then is JSON.
_SNIFF_BYTES = 4 * MAX_CONFIG_BYTES
_JSON_MANIFEST_FIELDS = frozenset({"device_configs", "running_prefix", "intended_prefix"})
_KEY_FIELDS = frozenset({"running_config_key", "intended_config_key"})
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)
_PLATFORM: TypeAdapter[str] = TypeAdapter(PlatformName)
try:  # yajl's C parser, in the wheels of every platform we build for; the pure Python one is slower
    _IJSON: Any = ijson.get_backend("yajl2_c")
except ImportError:
    _IJSON = ijson
# json.loads, which read manifests before, gave up at about 1,000 levels; no field of a manifest nests past 5.
_MAX_NESTING = 512
# yajl reads a \u escape of a lone surrogate as "?": such text would silently become another config. A
# surrogate escape that is no pair (preceded by an even run of backslashes, so really an escape) is refused.
_LONE_SURROGATE = re.compile(
    rb"(?<!\\)(?:\\\\)*\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})(?<!\\)(?:\\\\)*\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_SURROGATE_CARRY = 64
_Model = TypeVar("_Model", bound=BaseModel)


class DropRefusedError(Exception):
    """The manifest as a whole cannot start a job; ``details`` are ``{"field", "message"}`` pairs."""

    def __init__(self, message: str, details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


@dataclass(frozen=True)
class LoadedDrop:
    """What a manifest asks for: the devices to compute (configs inline, or by key for the worker to read),
    and those failed before fan-out (id -> reason)."""

    devices: list[DeviceToQueue]
    failed: dict[str, str]
    allow_empty_intended: bool
    options: RemediationOptions

    @property
    def total_devices(self) -> int:
        return len(self.devices) + len(self.failed)


def load_drop(settings: ServiceSettings, bucket: str, key: str) -> LoadedDrop:
    """Read, validate and resolve the manifest at ``key``; DropRefusedError if it cannot start a job."""
    try:
        chunks = blob_store.iter_chunks(bucket, key, MAX_MANIFEST_BYTES)
        first, buffered = _first_line(chunks)
    except ValueError as exc:
        raise DropRefusedError(f"the manifest cannot be read: {exc}") from None
    if key.endswith(".jsonl") or (first is not None and _is_jsonl_line(first)):
        header, entries = _read_jsonl(_split_lines(_replayed(buffered, chunks)))
        devices, failed = _resolve(settings, bucket, entries)
        return LoadedDrop(devices, failed, header.allow_empty_intended, header.options)
    manifest = _read_json(_replayed(buffered, chunks))
    if isinstance(manifest, PrefixPairManifest):
        devices, failed = _resolve(settings, bucket, _paired_devices(settings, bucket, manifest))
    else:
        devices, failed = _resolve(settings, bucket, manifest.device_configs)
    return LoadedDrop(devices, failed, manifest.allow_empty_intended, manifest.options)


# Reading ------------------------------------------------------------------------------------------------------


def _first_line(chunks: Iterator[bytes]) -> tuple[bytes | None, list[bytes]]:
    """The first line (for sniffing the format) and the chunks read to find it, which are read again. A
    first line longer than any JSON Lines device line can be is not looked for further (None): that is JSON,
    and neither copied nor parsed here (a one-line JSON manifest is all first line)."""
    buffered: list[bytes] = []
    size = 0
    for chunk in chunks:
        buffered.append(chunk)
        end = chunk.find(b"\n")
        if end >= 0:
            return b"".join([*buffered[:-1], chunk[:end]]), buffered
        size += len(chunk)
        if size >= _SNIFF_BYTES:
            return None, buffered
    return b"".join(buffered), buffered


def _replayed(buffered: list[bytes], chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks read to sniff, then the rest: each sniffed chunk is let go once it is read again."""
    buffered.reverse()
    while buffered:
        yield buffered.pop()
    yield from chunks


def _is_jsonl_line(line: bytes) -> bool:
    try:
        document = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(document, dict) and not _JSON_MANIFEST_FIELDS & set(document)


def _split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    # JSON text never holds a raw line break inside a string, so splitting on b"\n" cannot cut a value.
    pending = b""
    for chunk in chunks:
        *lines, pending = (pending + chunk).split(b"\n")
        yield from lines
    if pending:
        yield pending


def _field_path(location: Sequence[int | str], where: str = "") -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    if where:
        return f"{where}: {path}" if path else where
    return path or "manifest"


def validation_details(exc: ValidationError, where: str = "") -> list[dict[str, str]]:
    """pydantic's errors as ``{"field": "device_configs[3].platform", "message": ...}`` (the API's 422 shape);
    ``where`` goes first: ``line 42: platform``."""
    return [
        {"field": _field_path(error["loc"], where), "message": error["msg"]}
        for error in exc.errors()[:_MAX_DETAILS]
    ]


@dataclass
class _Problems:
    """Every problem is counted; the first ``_MAX_DETAILS`` are kept for the outcome."""

    count: int = 0
    details: list[dict[str, str]] = field(default_factory=list)

    def add(self, details: list[dict[str, str]], count: int = 1) -> None:
        self.count += count
        self.details.extend(details[: _MAX_DETAILS - len(self.details)])


_TOO_DEEP = "the manifest is not valid JSON for this service: it is nested too deeply to read"
_STREAMED = object()  # the place of device_configs among the fields, while its devices stream


class _JsonManifest:
    """One pass over a JSON manifest's parse events (ijson's basic_parse): each item of ``device_configs``
    is validated as a DroppedDevice as it ends, every other field is kept as parsed, so that options may come
    before or after the devices. Only the devices are held, and the value being built."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self.document: Any = _STREAMED  # a document that is not an object, as parsed
        self.devices: list[DroppedDevice] = []
        self.count = 0
        self.problems = _Problems()  # the devices' validation errors
        self._started = False
        self._key = ""
        self._in_devices = False
        self._depth = 0
        self._builder: Any = None
        self._base = 0  # the depth the value being built ends at

    def feed(self, events: Iterable[tuple[str, Any]]) -> None:
        for event, value in events:
            if event in ("start_map", "start_array"):
                self._depth += 1
                if self._depth > _MAX_NESTING:
                    raise DropRefusedError(_TOO_DEEP)
            elif event in ("end_map", "end_array"):
                self._depth -= 1
            if self._builder is not None:
                self._builder.event(event, value)
                if self._depth == self._base:
                    self._finish(self._builder.value)
            elif not self._started:
                self._started = True
                if event != "start_map":
                    self._build(event, value, 0)
            elif event == "map_key":
                self._key = value
                if value == "device_configs":  # given twice, the last one counts (as for json.loads)
                    self.devices, self.count, self.problems = [], 0, _Problems()
            elif self._depth == 0:  # the end of the document's object
                continue
            elif self._in_devices:
                if event == "end_array" and self._depth == 1:
                    self._in_devices = False
                else:
                    self._build(event, value, 2)
            elif self._key == "device_configs" and event == "start_array":
                self.fields["device_configs"] = _STREAMED
                self._in_devices = True
            else:
                self._build(event, value, 1)

    def _build(self, event: str, value: Any, base: int) -> None:
        self._builder, self._base = ijson.ObjectBuilder(), base
        self._builder.event(event, value)
        if self._depth == base:  # a number, a string...
            self._finish(self._builder.value)

    def _finish(self, value: Any) -> None:
        self._builder = None
        if self._base == 0:
            self.document = value
        elif self._base == 1:
            self.fields[self._key] = value
        else:
            self._add_device(value)

    def _add_device(self, item: Any) -> None:
        index = self.count
        self.count += 1
        if self.count > MAX_DEVICES_PER_DROP:  # pydantic then reports the length alone
            self.devices.clear()
            return
        try:
            device = DroppedDevice.model_validate(item)
        except ValidationError as exc:
            errors = exc.errors()
            self.problems.add(
                [
                    {"field": _field_path(("device_configs", index, *error["loc"])), "message": error["msg"]}
                    for error in errors[:_MAX_DETAILS]
                ],
                len(errors),
            )
            self.devices.clear()  # once refused, the devices are not needed
            return
        if not self.problems.count:
            self.devices.append(device)

    def manifest(self) -> DropManifest | PrefixPairManifest:
        """The manifest validated as json.loads' document was: the same errors, in the same order."""
        if self.document is not _STREAMED:
            return _validated(DropManifest, self.document)
        fields = self.fields
        streamed = fields.get("device_configs") is _STREAMED
        if "running_prefix" in fields or "intended_prefix" in fields:
            if streamed:  # refused as a field a prefix-pair manifest does not have, whatever its devices
                fields["device_configs"] = []
            return _validated(PrefixPairManifest, fields)
        if not streamed:
            return _validated(DropManifest, fields)
        if self.count > MAX_DEVICES_PER_DROP:
            fields["device_configs"] = [None] * self.count
            return _validated(DropManifest, fields)
        if not self.problems.count:
            fields["device_configs"] = self.devices
            return _validated(DropManifest, fields)
        # The devices' errors come first, as pydantic orders them; then those of the other fields.
        del fields["device_configs"]
        try:
            DropManifest.model_validate(fields)
        except ValidationError as exc:
            others = [error for error in exc.errors() if error["loc"] != ("device_configs",)]
            self.problems.add(_details(others), len(others))
        raise _schema_refusal(self.problems.count, self.problems.details)


def _details(errors: Sequence[Any]) -> list[dict[str, str]]:
    return [{"field": _field_path(error["loc"]), "message": error["msg"]} for error in errors[:_MAX_DETAILS]]


def _schema_refusal(count: int, details: list[dict[str, str]]) -> DropRefusedError:
    return DropRefusedError(f"the manifest does not match the batch schema ({count} problem(s))", details)


def _validated(model: type[_Model], document: Any) -> _Model:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise _schema_refusal(len(exc.errors()), validation_details(exc)) from None


def _json_problem(exc: Exception) -> DropRefusedError:
    reason = exc if isinstance(exc, UnicodeDecodeError) or not exc.args else exc.args[0]
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    # yajl's message goes on to quote the text around the error: configs, which may hold secrets.
    reason = str(reason).split("\n", 1)[0].strip()
    if isinstance(exc, UnicodeDecodeError) or "invalid bytes in UTF8 string" in reason:
        return DropRefusedError(f"the manifest cannot be read as UTF-8 JSON text: {reason}")
    return DropRefusedError(f"the manifest is not valid JSON ({reason})")


def _lone_surrogates(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The chunks, unchanged, after a look for a lone surrogate escape in each and across their borders: the
    end of each is looked at again with the next chunk, which may pair a high surrogate found there."""
    carry = b""
    for chunk in chunks:
        window = carry + chunk
        _refuse_lone_surrogates(window, len(carry) - 6, len(window) - 6)
        carry = window[-_SURROGATE_CARRY:]
        yield chunk
    _refuse_lone_surrogates(carry, len(carry) - 6, len(carry))


def _refuse_lone_surrogates(window: bytes, judged: int, until: int) -> None:
    if b"\\ud" not in window and b"\\uD" not in window:  # the usual case, and a far quicker look
        return
    if any(judged < match.end() <= until for match in _LONE_SURROGATE.finditer(window)):
        raise DropRefusedError(
            "the manifest is not valid JSON for this service: it holds a \\u escape of a lone surrogate, "
            "which is no Unicode text"
        )


def _read_json(chunks: Iterable[bytes]) -> DropManifest | PrefixPairManifest:
    reader = _JsonManifest()
    events = ijson.sendable_list()
    parser = _IJSON.basic_parse_coro(events, use_float=True)  # floats as json.loads gives them, not Decimal
    try:
        for chunk in _lone_surrogates(chunks):
            parser.send(chunk)
            reader.feed(events)
            del events[:]
        parser.close()
        reader.feed(events)
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise _json_problem(exc) from None
    return reader.manifest()


def _read_jsonl(lines: Iterable[bytes]) -> tuple[ManifestHeader, list[DeviceConfig | DroppedDevice]]:
    header = ManifestHeader()
    devices: list[DeviceConfig | DroppedDevice] = []
    first_line_of_device: dict[str, int] = {}
    problems = _Problems()
    first = True
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"line {number}"
        try:
            document: Any = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problems.add([{"field": where, "message": "not UTF-8 text"}])
            continue
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply to read" if isinstance(exc, RecursionError) else str(exc)
            problems.add([{"field": where, "message": f"not valid JSON ({reason})"}])
            continue
        is_header = first and isinstance(document, dict) and "device_id" not in document
        first = False
        # A device with both configs inline is validated as a POST's at once: one model per device, not two.
        inline = isinstance(document, dict) and not _KEY_FIELDS & set(document)
        model: type[BaseModel] = ManifestHeader if is_header else DeviceConfig if inline else DroppedDevice
        try:
            entry = model.model_validate(document)
        except ValidationError as exc:
            problems.add(validation_details(exc, where), len(exc.errors()))
            continue
        if isinstance(entry, ManifestHeader):
            header = entry
            continue
        assert isinstance(entry, DeviceConfig | DroppedDevice)
        if entry.device_id in first_line_of_device:
            message = f"appears more than once (first on line {first_line_of_device[entry.device_id]})"
            problems.add([{"field": f"{where}: device_id", "message": f"{entry.device_id!r} {message}"}])
            continue
        first_line_of_device[entry.device_id] = number
        if len(devices) == MAX_DEVICES_PER_DROP:
            raise DropRefusedError(f"the manifest lists more than {MAX_DEVICES_PER_DROP} devices")
        if not problems.count:  # once refused, the devices are not needed
            devices.append(entry)
    if not problems.count and not devices:
        raise DropRefusedError("the manifest lists no device (one JSON object per line, each with device_id)")
    if problems.count:
        raise DropRefusedError(
            f"the manifest does not match the batch schema ({problems.count} problem(s))", problems.details
        )
    return header, devices


# Resolving referenced objects ---------------------------------------------------------------------------------


def _path_problem(segments: Sequence[str]) -> str | None:
    if any(segment in ("", ".", "..") for segment in segments):
        return "a key may not have empty, '.' or '..' path segments"
    return None


def _location_problem(settings: ServiceSettings, key: str) -> str | None:
    for prefix in (*SERVICE_PREFIXES, settings.drop_prefix):
        if key.startswith(prefix):
            return (
                f"it is under {prefix}, where the service keeps its own objects (jobs' inputs and results, "
                "manifests): a manifest may reference only configs kept elsewhere"
            )
    allowed = settings.allowed_config_prefixes
    if allowed and not key.startswith(allowed):
        return f"it is not under the allowed config prefixes ({', '.join(allowed)})"
    return None


def key_problem(settings: ServiceSettings, key: str) -> str | None:
    """Why a manifest may not reference ``key`` (None if it may): no path tricks, nothing the service itself
    keeps (``SERVICE_PREFIXES``, the drop prefix), and, when ``CONFIG_PREFIXES`` is set, only keys under it."""
    return _path_problem(key.split("/")) or _location_problem(settings, key)


def prefix_problem(settings: ServiceSettings, prefix: str) -> str | None:
    """As ``key_problem``, for a prefix whose keys a manifest pairs (it ends with ``/``)."""
    return _path_problem(prefix.split("/")[:-1]) or _location_problem(settings, prefix)


def _keyed(device: DroppedDevice) -> list[tuple[str, str]]:
    named = (
        ("running_config_key", device.running_config_key),
        ("intended_config_key", device.intended_config_key),
    )
    return [(name, key) for name, key in named if key is not None]


def _resolve(
    settings: ServiceSettings,
    bucket: str,
    entries: Sequence[DeviceConfig | DroppedDevice | tuple[str, str]],
) -> tuple[list[DeviceToQueue], dict[str, str]]:
    """Every device to queue, or failed with why. ``entries`` may hold devices complete already, and devices
    failed by pairing, as (device_id, reason). No referenced object is read here: the worker reads a device's
    (``logic.referenced_configs``), so that a start never holds a fleet's configs. A key not allowed fails its
    device at once, and is never read."""
    devices: list[DeviceToQueue] = []
    failed: dict[str, str] = {}
    for entry in entries:
        if isinstance(entry, DeviceConfig):
            devices.append(entry)
            continue
        if isinstance(entry, tuple):
            failed[entry[0]] = entry[1]
            continue
        refused = [
            f"{name} {key!r} is not allowed: {problem}"
            for name, key in _keyed(entry)
            if (problem := key_problem(settings, key)) is not None
        ]
        if refused:
            failed[entry.device_id] = f"device {entry.device_id}: {'; '.join(refused)}"
        elif entry.config_keys():
            devices.append(entry)
        else:
            try:  # both configs inline: validated as a POST's device (the size limit), failing alone
                devices.append(entry.resolve({}))
            except ValidationError as exc:
                reasons = "; ".join(f"{_field_path(error['loc'])}: {error['msg']}" for error in exc.errors())
                failed[entry.device_id] = f"device {entry.device_id}: {reasons}"
    return devices, failed


# Pairing by prefix --------------------------------------------------------------------------------------------
# The CLI pairs local directories with the same rules (client/netremedy_cli/pairing.py, which cannot import
# this package; a unit test keeps the two equal).


def ignored_key(relative: str) -> bool:
    """Hidden files and folders (``.git/...``, ``.DS_Store``) and folder markers (``site1/``) are no device."""
    return any(segment == "" or segment.startswith(".") for segment in relative.split("/"))


def device_id_for(relative: str) -> str | None:
    """``site1/r1.cfg`` -> ``site1.r1``: the relative key without one of ``CONFIG_SUFFIXES`` (any case), each
    ``/`` made ``.`` (device ids hold no ``/``); None when that is no valid device id (models.api's rule)."""
    name = relative
    for suffix in CONFIG_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    device_id = name.replace("/", ".")
    return device_id if _DEVICE_ID.fullmatch(device_id) else None


@dataclass(frozen=True)
class Pairing:
    pairs: dict[str, tuple[str, str]]  # device id -> (running, intended) relative keys
    unpaired: dict[str, str]  # device id -> why it has no pair
    invalid: list[str]  # keys (label + relative key) that make no valid device id


def pair_relative_keys(
    running: Iterable[str], intended: Iterable[str], running_label: str, intended_label: str
) -> Pairing:
    """Pair two sides by device id (``device_id_for``). A device with a config on one side only, or with two
    configs on one side (``r1.cfg`` and ``r1.txt``), is unpaired with a reason naming the files."""
    sides: list[dict[str, list[str]]] = [{}, {}]
    invalid: list[str] = []
    labels = (running_label, intended_label)
    for side, keys, label in zip(sides, (running, intended), labels, strict=True):
        for relative in keys:
            if ignored_key(relative):
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
    """An inventory CSV (a header row with ``device`` or ``device_id``, and ``platform``; other columns are
    ignored) as device id -> platform as written. Devices are named by id or relative path (``site1/r1``).
    ValueError naming the line for a missing column or a device listed twice with two platforms."""
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


def _inventory(settings: ServiceSettings, bucket: str, key: str) -> dict[str, str]:
    problem = key_problem(settings, key)
    if problem is not None:
        raise DropRefusedError(f"inventory_key {key!r} is not allowed: {problem}")
    try:
        text = blob_store.get_text(bucket, key, _MAX_INVENTORY_BYTES)
        written = parse_inventory(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DropRefusedError(f"the inventory {key!r} cannot be read: {exc}") from None
    except Exception as exc:
        if not blob_store.is_missing(exc):
            raise
        raise DropRefusedError(f"inventory_key {key!r} names no object in the bucket") from None
    platforms: dict[str, str] = {}
    for device_id, platform in written.items():
        try:
            platforms[device_id] = _PLATFORM.validate_python(platform)
        except ValidationError as exc:
            raise DropRefusedError(
                f"the inventory {key!r} names an unknown platform",
                validation_details(exc, f"{device_id}.platform"),
            ) from None
    return platforms


def _relative_keys(bucket: str, prefix: str) -> Iterator[str]:
    return (key.removeprefix(prefix) for key in blob_store.list_keys(bucket, prefix))


def _paired_devices(
    settings: ServiceSettings, bucket: str, manifest: PrefixPairManifest
) -> list[DeviceConfig | DroppedDevice | tuple[str, str]]:
    refused = [
        {"field": name, "message": f"{prefix!r} is not allowed: {problem}"}
        for name, prefix in (
            ("running_prefix", manifest.running_prefix),
            ("intended_prefix", manifest.intended_prefix),
        )
        if (problem := prefix_problem(settings, prefix)) is not None
    ]
    if refused:
        raise DropRefusedError("the manifest names a prefix it may not read", refused)
    inventory = _inventory(settings, bucket, manifest.inventory_key) if manifest.inventory_key else {}
    overrides = {device_id_for(name) or name: platform for name, platform in manifest.platforms.items()}
    pairing = pair_relative_keys(
        _relative_keys(bucket, manifest.running_prefix),
        _relative_keys(bucket, manifest.intended_prefix),
        manifest.running_prefix,
        manifest.intended_prefix,
    )
    if pairing.invalid:
        raise DropRefusedError(
            f"{len(pairing.invalid)} key(s) under the prefixes make no valid device id (1-128 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit, once '/' is read as '.'): rename them",
            [{"field": key, "message": "not a valid device id"} for key in pairing.invalid[:_MAX_DETAILS]],
        )
    total = len(pairing.pairs) + len(pairing.unpaired)
    if not total:
        raise DropRefusedError(
            f"no configs under {manifest.running_prefix} or {manifest.intended_prefix}: nothing to pair"
        )
    if total > MAX_DEVICES_PER_DROP:
        raise DropRefusedError(
            f"the prefixes hold {total} devices; a drop holds at most {MAX_DEVICES_PER_DROP}"
        )
    entries: list[DeviceConfig | DroppedDevice | tuple[str, str]] = list(pairing.unpaired.items())
    for device_id, (running, intended) in pairing.pairs.items():
        platform = overrides.get(device_id) or inventory.get(device_id) or manifest.platform
        if platform is None:
            entries.append(
                (
                    device_id,
                    f"no platform for {device_id}: give platform, or list it in platforms or the inventory",
                )
            )
            continue
        entries.append(
            DroppedDevice.model_validate(
                {
                    "device_id": device_id,
                    "platform": platform,
                    "running_config_key": manifest.running_prefix + running,
                    "intended_config_key": manifest.intended_prefix + intended,
                }
            )
        )
    return entries
