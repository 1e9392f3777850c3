"""Shared test helpers: where the project and the shared corpus are, and a complete fake environment."""

import functools
import os
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import pytest

from netremedy_local.template import load_yaml

# The fixtures forget the service's clients and their botocore session between tests (clear_clients), and
# the tests make clients of their own, so each test's new sessions parsed botocore's JSON models again (0.3 s
# of a unit test's 0.8 s, cProfile of tests/unit/test_lifecycle.py). One loader for the whole test run keeps
# what it parsed; sessions, clients, credentials and moto's hooks are still new each time.
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)

# Importing any handler validates the settings (netremedy.handlers), and test modules import handlers when
# they are collected: every variable the functions need gets a placeholder first. Tests that reach AWS set
# real values (tests/unit/conftest.py's ``aws`` fixture); the local stack sets its own for its functions.
FAKE_ENVIRONMENT = {
    "TABLE_NAME": "unset-table",
    "BUCKET_NAME": "unset-bucket",
    "DEVICE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/unset-devices",
    "FINALIZE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/unset-finalize",
    "FANOUT_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/unset-fanout",
}
for _name, _value in FAKE_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)

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


@functools.cache
def job_table_properties() -> dict[str, Any]:
    """template.yaml's JobTable properties, parsed once per session: the tests that build the table (every unit
    test using ``aws``, every emulator test) would otherwise parse the whole template each time (~0.1 s)."""
    properties: dict[str, Any] = load_yaml(PROJECT_ROOT / "template.yaml")["Resources"]["JobTable"][
        "Properties"
    ]
    return properties
