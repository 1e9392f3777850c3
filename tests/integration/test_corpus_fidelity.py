"""Fidelity: every corpus pair through the API gives byte for byte what hier_config gives when called directly."""

from pathlib import Path
from typing import Any

import pytest
from hier_config import Platform, WorkflowRemediation, get_hconfig

from tests.conftest import corpus_pairs, require_corpus
from tests.integration.conftest import LocalStack

pytestmark = [pytest.mark.integration, pytest.mark.corpus]

PAIRS = corpus_pairs()


def _hier_config_direct(platform_name: str, running: str, intended: str) -> tuple[str, str]:
    """The reference: hier_config itself, as the issue and the spec define the output."""
    platform = Platform[platform_name.upper()]
    workflow = WorkflowRemediation(get_hconfig(platform, running), get_hconfig(platform, intended))
    remediation = "\n".join(c.cisco_style_text() for c in workflow.remediation_config.all_children_sorted())
    rollback = "\n".join(c.cisco_style_text() for c in workflow.rollback_config.all_children_sorted())
    return remediation, rollback


Reference = tuple[str, str] | Exception


@pytest.fixture(scope="module")
def submitted(local_stack: LocalStack) -> dict[str, str]:
    """Submit the corpus, one job per platform; the job ids by platform."""
    require_corpus()
    jobs: dict[str, str] = {}
    for platform in sorted({platform for platform, _ in PAIRS}):
        devices = [
            {
                "device_id": case.name,
                "platform": platform,
                "running_config": (case / "running.conf").read_text(encoding="utf-8"),
                "intended_config": (case / "intended.conf").read_text(encoding="utf-8"),
            }
            for pair_platform, case in PAIRS
            if pair_platform == platform
        ]
        jobs[platform] = local_stack.submit(devices)
    return jobs


@pytest.fixture(scope="module")
def references(submitted: dict[str, str]) -> dict[tuple[str, str], Reference]:
    """hier_config's own output for every pair, or the exception it refuses the pair with: computed in this
    process once the jobs are submitted, so that it overlaps the stack's work on them."""
    computed: dict[tuple[str, str], Reference] = {}
    for platform, case in PAIRS:
        running = (case / "running.conf").read_text(encoding="utf-8")
        intended = (case / "intended.conf").read_text(encoding="utf-8")
        try:
            computed[(platform, case.name)] = _hier_config_direct(platform, running, intended)
        except Exception as exc:  # noqa: BLE001 - the test checks that the service fails the device with it
            computed[(platform, case.name)] = exc
    return computed


@pytest.fixture(scope="module")
def service_results(
    local_stack: LocalStack, submitted: dict[str, str], references: dict[tuple[str, str], Reference]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Every device's result, collected once its platform's job has ended (after ``references``, which the
    stack's work overlaps)."""
    collected: dict[tuple[str, str], dict[str, Any]] = {}
    for platform, job_id in submitted.items():
        status = local_stack.wait(job_id, timeout=600)
        assert status["status"] == "completed", status
        for result in local_stack.results(job_id)["results"]:
            collected[(platform, result["device_id"])] = result
    return collected


def test_the_corpus_is_not_empty() -> None:
    require_corpus()
    assert len(PAIRS) >= 50, "the corpus should hold dozens of pairs; is ../shared/corpus complete?"


@pytest.mark.parametrize(("platform", "case"), PAIRS, ids=[f"{p}/{c.name}" for p, c in PAIRS])
def test_remediation_and_rollback_match_hier_config(
    service_results: dict[tuple[str, str], dict[str, Any]],
    references: dict[tuple[str, str], Reference],
    platform: str,
    case: Path,
) -> None:
    result = service_results[(platform, case.name)]
    expected = references[(platform, case.name)]
    # hier_config refuses the pair: the service must fail the device, naming why
    if isinstance(expected, Exception):
        assert result["status"] == "failed"
        assert type(expected).__name__ in result["error"]
        return
    assert result["status"] == "success", result.get("error")
    assert result["remediation"] == expected[0]
    assert result["rollback"] == expected[1]
