"""Remediation and rollback text for one device: the only module that imports hier_config."""

from dataclasses import dataclass

from hier_config import HConfig, Platform, WorkflowRemediation, get_hconfig

from netremedy.logic.config_checks import ConfigRejectedError, check_device_configs


@dataclass(frozen=True)
class RemediationText:
    remediation: str
    rollback: str


class RemediationError(Exception):
    """hier_config could not process the device; the message is meant for the engineer who sent it."""


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


def _parse(platform: Platform, field: str, text: str) -> HConfig:
    try:
        return get_hconfig(platform, text)
    except Exception as exc:  # hier_config raises a variety of errors for text it cannot structure
        detail = str(exc) or exc.__class__.__name__
        hint = _PARSE_HINTS.get(exc.__class__.__name__, "check that the platform matches the configuration")
        raise RemediationError(
            f"{field} could not be parsed as {platform.name.lower()} "
            f"({exc.__class__.__name__}: {detail}); {hint}"
        ) from exc


def _as_text(config: HConfig) -> str:
    return "\n".join(child.cisco_style_text() for child in config.all_children_sorted())


def compute_remediation(
    platform_name: str, running_config: str, intended_config: str, *, allow_empty_intended: bool = False
) -> RemediationText:
    """Exactly hier_config's remediation and rollback text for the pair, or an error saying why not."""
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
    try:
        workflow = WorkflowRemediation(running, intended)
        return RemediationText(
            remediation=_as_text(workflow.remediation_config),
            rollback=_as_text(workflow.rollback_config),
        )
    except Exception as exc:
        raise RemediationError(
            f"hier_config could not compute the remediation ({exc.__class__.__name__}: {exc})"
        ) from exc
