"""Shared test helpers: where the project and the shared corpus are."""

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = PROJECT_ROOT.parent / "shared" / "corpus"
SPEC_FILE = PROJECT_ROOT.parent / "shared" / "spec" / "batch-operations.md"


def corpus_pairs() -> list[tuple[str, Path]]:
    """Every ``<platform>/<case>/{running,intended}.conf`` pair of the corpus, as (platform, case dir)."""
    if not CORPUS_DIR.is_dir():
        return []
    return sorted(
        (case.parent.name, case)
        for case in CORPUS_DIR.glob("*/*")
        if (case / "running.conf").is_file() and (case / "intended.conf").is_file()
    )


def require_corpus() -> None:
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"the shared corpus is not here ({CORPUS_DIR}); it exists beside the project in CI only")
