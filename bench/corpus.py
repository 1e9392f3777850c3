"""The benchmark's devices, made from the shared corpus of real configuration pairs.

A pair is ``<platform>/<case>/running.conf`` + ``intended.conf`` (the cases of ``manifest.json``). Size
classes go by the running config's line count: small < 100 lines, medium 100-1,500, large > 1,500. A mix of
N devices of a class cycles that class's pairs (in platform/case order) under unique device ids.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path(os.environ.get("NETREMEDY_CORPUS", ROOT.parent / "shared" / "corpus"))

SIZE_CLASSES = ("small", "medium", "large")


@dataclass(frozen=True)
class Pair:
    platform: str  # hier_config Platform member name, lower-cased: the service's platform name
    case: str
    running: str
    intended: str
    running_path: Path
    intended_path: Path

    @property
    def name(self) -> str:
        return f"{self.platform}/{self.case}"

    @property
    def running_lines(self) -> int:
        return len(self.running.splitlines())

    @property
    def size_class(self) -> str:
        lines = self.running_lines
        return "small" if lines < 100 else "medium" if lines <= 1500 else "large"


def load_pairs(corpus: Path = DEFAULT_CORPUS) -> list[Pair]:
    """Every running/intended pair the manifest lists (or, without a manifest, that the tree holds)."""
    if not corpus.is_dir():
        raise SystemExit(f"corpus not found at {corpus}: pass --corpus DIR or set NETREMEDY_CORPUS")
    manifest = corpus / "manifest.json"
    if manifest.exists():
        cases = json.loads(manifest.read_text())["cases"]
        locations = [
            (
                case["platform"],
                case["case"],
                corpus / case["dir"] / case["files"]["running"],
                corpus / case["dir"] / case["files"]["intended"],
            )
            for case in cases
            if "running" in case.get("files", {}) and "intended" in case.get("files", {})
        ]
    else:
        locations = [
            (p.parent.parent.name, p.parent.name, p, p.parent / "intended.conf")
            for p in corpus.glob("*/*/running.conf")
            if (p.parent / "intended.conf").exists()
        ]
    pairs = [
        Pair(
            platform,
            case,
            running.read_text(encoding="utf-8"),
            intended.read_text(encoding="utf-8"),
            running,
            intended,
        )
        for platform, case, running, intended in locations
    ]
    return sorted(pairs, key=lambda pair: pair.name)


def pairs_by_class(pairs: list[Pair]) -> dict[str, list[Pair]]:
    grouped: dict[str, list[Pair]] = {name: [] for name in SIZE_CLASSES}
    for pair in pairs:
        grouped[pair.size_class].append(pair)
    return grouped


@dataclass(frozen=True)
class Device:
    device_id: str
    pair: Pair

    def as_request(self) -> dict[str, str]:
        return {
            "device_id": self.device_id,
            "platform": self.pair.platform,
            "running_config": self.pair.running,
            "intended_config": self.pair.intended,
        }


def make_devices(pairs: list[Pair], count: int, prefix: str) -> list[Device]:
    if not pairs:
        raise SystemExit(f"the corpus has no pairs for the {prefix} mix")
    return [Device(f"{prefix}-{i:06d}", pairs[i % len(pairs)]) for i in range(count)]
