"""compute_remediation: exactly hier_config's output, or a RemediationError an engineer can act on."""

import pytest
from hier_config import HConfig, Platform, WorkflowRemediation, get_hconfig
from netremedy.logic.remediation import RemediationError, RemediationText, compute_remediation
from netremedy.models.platforms import PLATFORM_NAMES

RUNNING = "hostname a\ninterface x\n description one"
INTENDED = "hostname b\ninterface x\n description two"


def _text(config: HConfig) -> str:
    return "\n".join(child.cisco_style_text() for child in config.all_children_sorted())


def _hier_config_directly(platform_name: str, running: str, intended: str) -> RemediationText:
    platform = Platform[platform_name.upper()]
    workflow = WorkflowRemediation(get_hconfig(platform, running), get_hconfig(platform, intended))
    return RemediationText(
        remediation=_text(workflow.remediation_config), rollback=_text(workflow.rollback_config)
    )


def test_spec_example_hostname_change() -> None:
    """Given the spec's router1 example, the remediation and rollback are the documented text."""
    result = compute_remediation("cisco_ios", "hostname router1", "hostname router1-new")
    assert result.remediation == "no hostname router1\nhostname router1-new"
    assert result.rollback == "no hostname router1-new\nhostname router1"


@pytest.mark.parametrize("platform_name", PLATFORM_NAMES)
def test_output_equals_hier_config_for_every_platform(platform_name: str) -> None:
    """Given a small config pair, for every platform the service's text equals hier_config's own."""
    expected = _hier_config_directly(platform_name, RUNNING, INTENDED)
    result = compute_remediation(platform_name, RUNNING, INTENDED)
    assert result == expected
    assert result.remediation  # the pair differs, so there is something to do


def test_duplicate_child_in_running_config_is_reported() -> None:
    """Given a running config repeating a line in one section, the error names the field and the cause."""
    running = "interface Gi1\n description a\n description a"
    with pytest.raises(RemediationError) as caught:
        compute_remediation("cisco_ios", running, "interface Gi1\n description b")
    message = str(caught.value)
    assert "running_config" in message
    assert "DuplicateChildError" in message
    assert "intended_config" not in message


def test_duplicate_child_in_intended_config_names_intended() -> None:
    """Given the duplicate is in the intended config, the error names intended_config instead."""
    with pytest.raises(RemediationError, match=r"^intended_config .*DuplicateChildError"):
        compute_remediation("cisco_ios", "hostname a", "hostname b\nhostname b")


def test_nul_byte_in_running_config_is_refused_with_line() -> None:
    """Given a NUL byte on line 2 of the running config, the error says NUL and line 2."""
    with pytest.raises(RemediationError) as caught:
        compute_remediation("cisco_ios", "hostname a\ninter\x00face x", INTENDED)
    message = str(caught.value)
    assert "NUL" in message
    assert "running_config" in message
    assert "line 2" in message


@pytest.mark.parametrize("intended", ["", "   ", "\n\t \n"])
def test_empty_intended_is_refused_by_default(intended: str) -> None:
    """Given an empty or whitespace-only intended config, the error points at allow_empty_intended."""
    with pytest.raises(RemediationError, match="allow_empty_intended"):
        compute_remediation("cisco_ios", RUNNING, intended)


def test_empty_intended_allowed_equals_hier_config() -> None:
    """Given allow_empty_intended, an empty intended config yields hier_config's full negation."""
    result = compute_remediation("cisco_ios", RUNNING, "", allow_empty_intended=True)
    assert result == _hier_config_directly("cisco_ios", RUNNING, "")
    assert result.remediation


def test_unknown_platform_is_a_value_error() -> None:
    """Given a platform hier_config does not know, compute_remediation refuses it."""
    with pytest.raises(ValueError, match="valid platforms"):
        compute_remediation("not_a_platform", RUNNING, INTENDED)


@pytest.mark.parametrize("intended", ["!", "end", "!\n!\nend\n"])
def test_an_intended_config_with_no_lines_is_refused_unless_allowed(intended: str) -> None:
    running = "hostname r1\ninterface Gi1\n description up"
    with pytest.raises(RemediationError, match="allow_empty_intended"):
        compute_remediation("cisco_ios", running, intended)
    allowed = compute_remediation("cisco_ios", running, intended, allow_empty_intended=True)
    workflow = WorkflowRemediation(
        get_hconfig(Platform.CISCO_IOS, running), get_hconfig(Platform.CISCO_IOS, intended)
    )
    assert allowed.remediation == "\n".join(
        c.cisco_style_text() for c in workflow.remediation_config.all_children_sorted()
    )
