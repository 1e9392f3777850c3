"""Remediation options: every output and filter equals what hier_config itself produces for the same input,
and options that could only give a surprising result are refused with the field named."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from hier_config import HConfig, MatchRule, Platform, TagRule, WorkflowRemediation, get_hconfig
from pydantic import ValidationError

from netremedy.logic.remediation import RemediationError, compute_remediation
from netremedy.models.api import BatchRemediationRequest
from netremedy.models.options import RemediationOptions
from tests.conftest import CORPUS_DIR, corpus_pairs, require_corpus

TAGS_CASE = CORPUS_DIR / "cisco_ios" / "hier_config_workflow_tags"


def _text(config: HConfig) -> str:
    return "\n".join(child.cisco_style_text() for child in config.all_children_sorted())


def _workflow(platform_name: str, running: str, intended: str) -> WorkflowRemediation:
    platform = Platform[platform_name.upper()]
    return WorkflowRemediation(get_hconfig(platform, running), get_hconfig(platform, intended))


def _case(case: Path) -> tuple[str, str]:
    return (case / "running.conf").read_text(), (case / "intended.conf").read_text()


def _upstream_tag_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = yaml.safe_load((TAGS_CASE / "tag_rules.yml").read_text())
    return rules


def _as_hier_config(rules: list[dict[str, Any]]) -> tuple[TagRule, ...]:
    return tuple(
        TagRule(
            match_rules=tuple(MatchRule(**match) for match in rule["match_rules"]),
            apply_tags=frozenset(rule["apply_tags"]),
        )
        for rule in rules
    )


def test_defaults_give_exactly_the_plain_remediation_and_rollback() -> None:
    result = compute_remediation("cisco_ios", "hostname a", "hostname b", options=RemediationOptions())
    assert result.outputs() == {
        "remediation": "no hostname a\nhostname b",
        "rollback": "no hostname b\nhostname a",
    }


def test_upstream_tag_case_matches_hier_configs_own_expected_files() -> None:
    """hier_config's own workflow test: its tag rules, then 'safe' lines only, equal its fixture files."""
    require_corpus()
    running, intended = _case(TAGS_CASE)
    options = RemediationOptions.model_validate(
        {"tag_rules": _upstream_tag_rules(), "include_tags": ["safe"]}
    )
    safe = compute_remediation("cisco_ios", running, intended, options=options)
    assert safe.remediation == (TAGS_CASE / "remediation_safe_tags.conf").read_text().rstrip("\n")
    assert safe.rollback == (TAGS_CASE / "rollback.conf").read_text()
    plain = compute_remediation("cisco_ios", running, intended)
    assert plain.remediation == (TAGS_CASE / "remediation.conf").read_text().rstrip("\n")


@pytest.mark.parametrize(
    ("include", "exclude"), [(["safe"], []), ([], ["manual"]), (["safe", "manual"], ["manual"])]
)
def test_tag_filters_equal_remediation_config_filtered_text(include: list[str], exclude: list[str]) -> None:
    require_corpus()
    running, intended = _case(TAGS_CASE)
    rules = _upstream_tag_rules()
    workflow = _workflow("cisco_ios", running, intended)
    workflow.apply_remediation_tag_rules(_as_hier_config(rules))
    expected = workflow.remediation_config_filtered_text(include, exclude)
    options = RemediationOptions.model_validate(
        {"tag_rules": rules, "include_tags": include, "exclude_tags": exclude}
    )
    result = compute_remediation("cisco_ios", running, intended, options=options)
    assert result.remediation == expected
    assert result.rollback == _text(workflow.rollback_config)  # tags filter the remediation only


def _pairs_with_changes() -> list[tuple[str, Path]]:
    return [(platform, case) for platform, case in corpus_pairs() if "circular" not in case.name][:40]


@pytest.mark.parametrize(("platform_name", "case"), _pairs_with_changes(), ids=lambda value: str(value)[-40:])
def test_diff_and_future_equal_hier_config_on_corpus(platform_name: str, case: Path) -> None:
    """'diff' is hier_config's unified_diff running -> intended; 'future' is running.future(remediation)."""
    running, intended = _case(case)
    workflow = _workflow(platform_name, running, intended)
    expected_diff = "\n".join(workflow.running_config.unified_diff(workflow.generated_config))
    try:
        expected_future: str | None = _text(workflow.running_config.future(workflow.remediation_config))
    except Exception:  # hier_config's future() is experimental and fails on a few configs
        expected_future = None
    if expected_future is None:
        with pytest.raises(RemediationError, match="could not predict the configuration after remediation"):
            compute_remediation(
                platform_name, running, intended, options=RemediationOptions(outputs=["future"])
            )
        result = compute_remediation(
            platform_name, running, intended, options=RemediationOptions(outputs=["diff"])
        )
        assert result.outputs() == {"diff": expected_diff}
        return
    result = compute_remediation(
        platform_name, running, intended, options=RemediationOptions(outputs=["diff", "future"])
    )
    assert result.outputs() == {"diff": expected_diff, "future": expected_future}


def test_future_that_hier_config_cannot_predict_fails_the_device_saying_what_to_leave_out() -> None:
    require_corpus()
    case = CORPUS_DIR / "cisco_xr" / "derived_hcedit_netutils_iosxr_dfw1-core-01"
    running, intended = _case(case)
    with pytest.raises(
        RemediationError,
        match="hier_config could not predict the configuration after remediation "
        r"\(DuplicateChildError.*leave 'future' out of options.outputs",
    ):
        compute_remediation("cisco_xr", running, intended, options=RemediationOptions(outputs=["future"]))
    assert compute_remediation("cisco_xr", running, intended).remediation  # the plain outputs still work


def test_future_with_a_tag_filter_applies_only_the_returned_lines() -> None:
    require_corpus()
    running, intended = _case(TAGS_CASE)
    rules = _upstream_tag_rules()
    workflow = _workflow("cisco_ios", running, intended)
    workflow.apply_remediation_tag_rules(_as_hier_config(rules))
    safe_only = workflow.remediation_config_filtered_text(["safe"], [])
    expected = _text(workflow.running_config.future(get_hconfig(Platform.CISCO_IOS, safe_only)))
    options = RemediationOptions.model_validate(
        {"tag_rules": rules, "include_tags": ["safe"], "outputs": ["remediation", "future"]}
    )
    result = compute_remediation("cisco_ios", running, intended, options=options)
    assert result.future == expected
    assert result.future != _text(workflow.running_config.future(workflow.remediation_config))


def test_sectional_exiting_equals_hier_config_lines_with_exits() -> None:
    running = "router bgp 65000\n address-family ipv4 unicast\n  network 10.0.0.0 mask 255.0.0.0\n"
    intended = "router bgp 65000\n address-family ipv4 unicast\n  network 10.1.0.0 mask 255.255.0.0\n"
    workflow = _workflow("cisco_ios", running, intended)
    result = compute_remediation(
        "cisco_ios", running, intended, options=RemediationOptions(sectional_exiting=True)
    )
    assert result.remediation == "\n".join(workflow.remediation_config.lines(sectional_exiting=True))
    assert result.rollback == "\n".join(workflow.rollback_config.lines(sectional_exiting=True))
    assert "exit-address-family" in (result.remediation or "")
    assert "exit-address-family" not in (
        compute_remediation("cisco_ios", running, intended).remediation or ""
    )


def test_outputs_subset_leaves_the_others_out() -> None:
    result = compute_remediation(
        "cisco_ios", "hostname a", "hostname b", options=RemediationOptions(outputs=["rollback"])
    )
    assert result.outputs() == {"rollback": "no hostname b\nhostname a"}


def _refusal(body: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        BatchRemediationRequest.model_validate(
            {
                "device_configs": [
                    {
                        "device_id": "r1",
                        "platform": "cisco_ios",
                        "running_config": "a",
                        "intended_config": "b",
                    }
                ],
                "options": body,
            }
        )
    return str(caught.value)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"include_tags": ["safe"]}, "include_tags: 'safe' is applied by no tag_rules entry"),
        (
            {
                "tag_rules": [{"match_rules": [{"startswith": "x"}], "apply_tags": ["a"]}],
                "exclude_tags": ["b"],
            },
            "exclude_tags: 'b' is applied by no tag_rules entry",
        ),
        ({"tag_rules": [{"match_rules": [{}], "apply_tags": ["a"]}]}, "set at least one of equals"),
        (
            {"tag_rules": [{"match_rules": [{"re_search": "("}], "apply_tags": ["a"]}]},
            "not a valid regular expression",
        ),
        ({"tag_rules": [{"match_rules": [{"startswith": "x"}], "apply_tags": []}]}, "apply_tags"),
        ({"outputs": []}, "outputs"),
        ({"outputs": ["diff", "diff"]}, "lists an output more than once"),
        ({"outputs": ["patch"]}, "outputs"),
        (
            {
                "tag_rules": [{"match_rules": [{"startswith": "x"}], "apply_tags": ["a"]}],
                "include_tags": ["a"],
                "sectional_exiting": True,
            },
            "sectional_exiting cannot be combined",
        ),
        ({"colour": True}, "colour"),
    ],
)
def test_options_that_cannot_work_are_refused_naming_the_field(
    options: dict[str, Any], expected: str
) -> None:
    assert expected in _refusal(options)


def test_default_options_are_not_carried_in_device_messages() -> None:
    """The common case keeps its messages as small as before; options travel only when set."""
    from netremedy.logic.fanout import plan_fanout
    from netremedy.models.devices import DeviceConfig

    device = DeviceConfig(device_id="r1", platform="cisco_ios", running_config="a", intended_config="b")
    plain = plan_fanout(
        "j", [device], allow_empty_intended=False, message_max_bytes=262_144, options=RemediationOptions()
    )
    tagged = plan_fanout(
        "j",
        [device],
        allow_empty_intended=False,
        message_max_bytes=262_144,
        options=RemediationOptions(outputs=["diff"]),
    )
    assert '"options"' not in plain.batches[0][0].body
    assert '"outputs":["diff"]' in tagged.batches[0][0].body


def test_the_unvalidated_default_options_equal_validated_ones() -> None:
    """logic.remediation makes its default options without validation (the worker's cold start): they must be
    the options a request without any gets, field for field."""
    from netremedy.logic import remediation

    assert remediation._DEFAULT_OPTIONS == RemediationOptions.model_validate({})
    assert remediation._DEFAULT_OPTIONS.model_dump() == RemediationOptions().model_dump()
