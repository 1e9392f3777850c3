"""Remediation and rollback text for one device, and what hier_config knows about each platform.

With ``logic.fleet_report``, the only modules that import hier_config: the API handlers that do not compute
remediation never load it, which keeps their cold start small.
"""

import ast
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version

from hier_config import (
    HConfig,
    HConfigChild,
    MatchRule,
    Platform,
    TagRule,
    WorkflowRemediation,
    get_hconfig,
    get_hconfig_driver,
)
from hier_config.exceptions import DuplicateChildError
from hier_config.platforms.driver_base import HConfigDriverBase

from netremedy.logic.config_checks import ConfigRejectedError, check_device_configs
from netremedy.logic.error_text import bounded_error, exception_summary, quoted_excerpt
from netremedy.logic.risk_rules import evaluate_risks
from netremedy.models.devices import OUTPUT_NAMES
from netremedy.models.options import RemediationOptions
from netremedy.models.platforms import PLATFORM_NAMES, PlatformInfo, aliases_of
from netremedy.models.risks import RiskFlag

# Made without validation (its defaults are valid by construction): building RemediationOptions' validator
# at import costs the worker's cold start about 25 ms, for jobs that mostly have no options.
_DEFAULT_OPTIONS = RemediationOptions.model_construct()


@dataclass(frozen=True)
class RemediationText:
    """The outputs asked for (the others are None), whether the device is compliant (its remediation under
    the options is empty: computed whatever the outputs) and the lock-out risks of that remediation."""

    remediation: str | None = None
    rollback: str | None = None
    diff: str | None = None
    future: str | None = None
    compliant: bool = False
    risks: tuple[RiskFlag, ...] = ()

    def outputs(self) -> dict[str, str]:
        return {name: text for name in OUTPUT_NAMES if (text := getattr(self, name)) is not None}


class RemediationError(Exception):
    """hier_config could not process the device; the message is meant for the engineer who sent it.

    The message is bounded (``error_text.bounded_error``): it becomes the device's stored ``error``."""

    def __init__(self, message: str) -> None:
        super().__init__(bounded_error(message))


_PLATFORMS_BY_NAME = {platform.name.lower(): platform for platform in Platform}


def platform_from_name(name: str) -> Platform:
    """Map a public platform name to hier_config's enum by member *name* (the values are numbers)."""
    try:
        return _PLATFORMS_BY_NAME[name]
    except KeyError:
        valid = ", ".join(sorted(_PLATFORMS_BY_NAME))
        raise ValueError(f"unknown platform {name!r}; valid platforms: {valid}") from None


_PARSE_HINTS = {
    "DuplicateChildError": "hier_config needs each section once: merge or remove the duplicate lines",
}


# hier_config's DuplicateChildError message: this prefix, then the repr of the section's path as a tuple.
_DUPLICATE_PREFIX = "Found a duplicate section: "


def _duplicate_path(exc: DuplicateChildError) -> tuple[str, ...] | None:
    message = str(exc)
    if not message.startswith(_DUPLICATE_PREFIX):
        return None
    try:
        path = ast.literal_eval(message[len(_DUPLICATE_PREFIX) :])
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(path, tuple) and path and all(isinstance(line, str) for line in path):
        return path
    return None


def _line_number(text: str, line: str) -> int | None:
    """Where the duplicate is, when that is certain: the line (whitespace collapsed, as hier_config does)
    appears exactly twice, so the second one is where hier_config stopped."""
    numbers = [
        number for number, raw in enumerate(text.splitlines(), start=1) if " ".join(raw.split()) == line
    ]
    return numbers[1] if len(numbers) == 2 else None


def _describe(exc: Exception, text: str | None = None) -> str:
    """The exception for an error message, with no config line quoted in full (they can be any length).
    ``text`` is the configuration being parsed, to locate a duplicate line in it."""
    if isinstance(exc, DuplicateChildError) and (path := _duplicate_path(exc)) is not None:
        *sections, line = path
        number = _line_number(text, line) if text is not None else None
        where = f" at line {number}" if number is not None else ""
        scope = (
            "in section " + " > ".join(quoted_excerpt(section) for section in sections)
            if sections
            else "at the top level"
        )
        return f"{exc.__class__.__name__}{where}: the line {quoted_excerpt(line)} appears twice {scope}"
    return exception_summary(exc)


@lru_cache(maxsize=len(Platform))
def _driver(platform: Platform) -> HConfigDriverBase:
    """One driver per platform for the process. get_hconfig(platform, ...) builds a new one each call (its
    rules are pydantic models: 0.2-0.35 ms, twice a device); a driver's rules are only read while hier_config
    parses and compares, so every tree of a platform can share one."""
    return get_hconfig_driver(platform)


def _parse(platform: Platform, field: str, text: str) -> HConfig:
    try:
        return get_hconfig(_driver(platform), text)
    except Exception as exc:  # hier_config raises a variety of errors for text it cannot structure
        hint = _PARSE_HINTS.get(exc.__class__.__name__, "check that the platform matches the configuration")
        raise RemediationError(
            f"{field} could not be parsed as {platform.name.lower()} ({_describe(exc, text)}); {hint}"
        ) from exc


def _as_text(config: HConfig) -> str:
    return "\n".join(child.cisco_style_text() for child in config.all_children_sorted())


def hier_config_tag_rules(options: RemediationOptions) -> tuple[TagRule, ...]:
    return tuple(
        TagRule(
            match_rules=tuple(
                MatchRule(**rule.model_dump(exclude_none=True)) for rule in tag_rule.match_rules
            ),
            apply_tags=frozenset(tag_rule.apply_tags),
        )
        for tag_rule in options.tag_rules
    )


def _config_text(config: HConfig, *, sectional_exiting: bool) -> str:
    if sectional_exiting:
        return "\n".join(config.lines(sectional_exiting=True))
    return _as_text(config)


def _remediation_lines(workflow: WorkflowRemediation, options: RemediationOptions) -> list[HConfigChild]:
    """The lines of the remediation text returned (the tag-filtered ones when the options filter), in order."""
    if options.filters_by_tags:
        return list(
            workflow.remediation_config.all_children_sorted_by_tags(
                options.include_tags, options.exclude_tags
            )
        )
    return list(workflow.remediation_config.all_children_sorted())


def _outputs(
    workflow: WorkflowRemediation, platform: Platform, options: RemediationOptions
) -> RemediationText:
    """Each requested output, computed the way hier_config's own API computes it, and the risk flags of the
    remediation returned."""
    wanted = set(options.outputs)
    if options.tag_rules:
        workflow.apply_remediation_tag_rules(hier_config_tag_rules(options))
    lines = _remediation_lines(workflow, options)
    risks = evaluate_risks(platform.name.lower(), workflow.running_config, lines, options.risk_rules)
    remediation: str | None = None
    if wanted & {"remediation", "future"}:
        if options.filters_by_tags:
            remediation = workflow.remediation_config_filtered_text(
                options.include_tags, options.exclude_tags
            )
        else:
            remediation = _config_text(
                workflow.remediation_config, sectional_exiting=options.sectional_exiting
            )
    future: str | None = None
    if "future" in wanted:
        # The configuration after applying the remediation returned (so after the tag filter, if any).
        applied = (
            get_hconfig(_driver(platform), remediation or "")
            if options.filters_by_tags
            else workflow.remediation_config
        )
        try:
            future = _as_text(workflow.running_config.future(applied))
        except Exception as exc:  # hier_config marks future() experimental; it fails on some configs
            raise RemediationError(
                f"hier_config could not predict the configuration after remediation ({_describe(exc)}); "
                "leave 'future' out of options.outputs to get the other outputs for this device"
            ) from exc
    return RemediationText(
        remediation=remediation if "remediation" in wanted else None,
        rollback=(
            _config_text(workflow.rollback_config, sectional_exiting=options.sectional_exiting)
            if "rollback" in wanted
            else None
        ),
        diff="\n".join(workflow.running_config.unified_diff(workflow.generated_config))
        if "diff" in wanted
        else None,
        future=future,
        compliant=not lines,
        risks=tuple(risks),
    )


def compute_remediation(
    platform_name: str,
    running_config: str,
    intended_config: str,
    *,
    allow_empty_intended: bool = False,
    options: RemediationOptions | None = None,
) -> RemediationText:
    """Exactly hier_config's output for the pair (remediation and rollback unless ``options`` ask for other
    outputs), or an error saying why not."""
    try:
        check_device_configs(running_config, intended_config, allow_empty_intended=allow_empty_intended)
    except ConfigRejectedError as exc:
        raise RemediationError(str(exc)) from exc
    platform = platform_from_name(platform_name)
    running = _parse(platform, "running_config", running_config)
    intended = _parse(platform, "intended_config", intended_config)
    if not allow_empty_intended and not any(True for _ in intended.children):
        # Text made only of comments or "end" parses to nothing, which would negate the whole device too.
        raise RemediationError(
            "intended_config holds no configuration lines (only comments, blank lines or 'end'): the "
            "remediation would remove the device's entire configuration. Send the intended configuration, "
            "or set allow_empty_intended to true if that is what you want"
        )
    workflow: WorkflowRemediation | None = None
    try:
        workflow = WorkflowRemediation(running, intended)
        return _outputs(workflow, platform, options or _DEFAULT_OPTIONS)
    except RemediationError:
        raise
    except Exception as exc:
        raise RemediationError(f"hier_config could not compute the remediation ({_describe(exc)})") from exc
    finally:
        # The workflow's attributes hold the two parsed trees and whichever outputs it computed.
        held = vars(workflow).values() if workflow is not None else (running, intended)
        unlink_trees(*(tree for tree in held if isinstance(tree, HConfig)))


def unlink_trees(*trees: HConfig) -> None:
    """Unlink every node of these trees from its parent, once nothing reads them any more.

    hier_config links each child to its parent, so a device's trees (thousands of nodes, 100,000 and more
    for a large device) are cyclic garbage that only the garbage collector frees, walking each node's
    containers several times. Unlinked, they are freed by reference counting when the last reference goes:
    the worker's CPU per medium device went from 44.2 to 36.6 ms, per large one from 1,339 to 1,298
    (bench/gc_policy.py, medians of 3; the README's "The worker's garbage collector").
    """
    pending: list[HConfig | HConfigChild] = list(trees)
    pop, push = pending.pop, pending.append
    while pending:
        for child in pop().children:
            child.parent = None  # type: ignore[assignment]  # the tree is discarded: no reader follows it
            push(child)


def _rule_count(driver: HConfigDriverBase) -> int:
    rules = driver.rules
    return sum(
        len(value) for name in type(rules).model_fields if isinstance(value := getattr(rules, name), list)
    )


@lru_cache(maxsize=1)
def platform_catalog() -> tuple[PlatformInfo, ...]:
    """Every platform name the API accepts, with what hier_config's driver for it provides."""
    hier_config_version = version("hier-config")
    catalog = []
    for name in PLATFORM_NAMES:
        driver = get_hconfig_driver(platform_from_name(name))
        count = _rule_count(driver)
        catalog.append(
            PlatformInfo(
                name=name,
                aliases=aliases_of(name),
                support="generic driver" if name == "generic" else "platform driver",
                driver=type(driver).__name__,
                negation_prefix=driver.negation_prefix,
                rule_count=count,
                sectional_exiting=bool(driver.rules.sectional_exiting),
                hier_config_version=hier_config_version,
            )
        )
    return tuple(catalog)
