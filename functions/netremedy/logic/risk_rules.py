"""Lock-out risk: the built-in rules (data, in hier_config's match-rule shape) and their evaluation.

A rule's ``match_rules`` is a chain with one MatchRule per level, matched as hier_config's
``is_lineage_match`` does: a rule of N levels flags a remediation line at depth N whose parents match the
first N-1 levels, so a one-level rule on a section flags the section line. Some rules take names from the
device's running configuration (``names_from``): an ACL is only risky when a VTY line or management service
applies it, a ``username`` line only when it changes or removes an existing user.

Evaluation is one read-only pass over the remediation lines whose text is returned (after the tag filter):
the rules are compiled once per platform, prefix matches are carried down the tree with the walk.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from hier_config import HConfig, HConfigChild

from netremedy.models.match_rules import MatchRule
from netremedy.models.platforms import PLATFORM_NAMES
from netremedy.models.risks import MAX_RISKS_PER_DEVICE, NamesFrom, RiskFlag, RiskRule, RiskRuleInput

NAMES_PLACEHOLDER = "{names}"
# Platform -> the prefix of its rule ids; the other platforms share the generic rules.
_FAMILIES = {
    "cisco_ios": "ios",
    "cisco_nxos": "nxos",
    "cisco_xr": "xr",
    "arista_eos": "eos",
    "juniper_junos": "junos",
}
_GENERIC_PLATFORMS = [name for name in PLATFORM_NAMES if name not in _FAMILIES]
_NO = r"^(no )?"
_SET = r"^(set|delete) "
# A management VRF's usual names (Mgmt-intf on IOS-XE routers, Mgmt-vrf on Catalyst, management on NX-OS...).
_MGMT_VRF = r"(?i:\S*(mgmt|management)\S*)"

WHY_AAA = "changes how logins are authenticated or authorized: a mistake refuses every login, yours included"
WHY_AAA_SERVER = (
    "changes the TACACS+/RADIUS servers that authenticate logins: unreachable servers refuse them"
)
WHY_LINE_TRANSPORT = (
    "changes which protocols the management lines accept (SSH, telnet): your session may be one"
)
WHY_LINE_ACL = "changes the ACL that filters who may reach the management lines"
WHY_LINE_LOGIN = "changes how the management lines log users in"
WHY_REMOTE_SERVICE = "changes the SSH/HTTP(S)/NETCONF/gNMI service remote management uses"
WHY_HOST_KEY = "removes or regenerates the host keys: SSH sessions drop and clients refuse the new key"
WHY_USER = "changes or removes an existing local user (the fallback when AAA servers are unreachable)"
WHY_LAST_USER = (
    "removes the last local user of the running config: with AAA servers unreachable no one can log in"
)
WHY_ENABLE = "changes the privileged-mode (enable) password"
WHY_MGMT_INTERFACE = "changes the management interface's state, address or VRF: its sessions drop"
WHY_MGMT_VRF = "changes the management VRF or its routes: management traffic may no longer be routed"
WHY_BOUND_ACL = "changes or removes an ACL that the running config applies to VTY or management access"
WHY_COPP = "changes control-plane policing: too strict a policy drops management traffic to the device"


def _rule(
    platform: str,
    name: str,
    family: str,
    why: str,
    *levels: str,
    names_from: NamesFrom | None = None,
) -> RiskRule:
    """A rule for one platform family; each level is a regular expression (``re_search``)."""
    prefix = _FAMILIES.get(platform, "generic")
    # model_construct: validating would build RiskRule's validator and compile every platform's patterns at
    # import (most of this module's import time, a cold start cost); evaluation compiles the device
    # platform's only. A unit test validates every built-in rule.
    return RiskRule.model_construct(
        id=f"{prefix}.{name}",
        family=family,
        why=why,
        platforms=[platform] if platform in _FAMILIES else list(_GENERIC_PLATFORMS),
        match_rules=[MatchRule.model_construct(re_search=level) for level in levels],
        names_from=names_from,
    )


def _cisco_like(platform: str) -> list[RiskRule]:
    """Rules that read the same on IOS, NX-OS, IOS-XR and EOS (each gets its own copy, with its own id)."""
    return [
        _rule(platform, "aaa.new-model", "aaa", WHY_AAA, _NO + r"aaa new-model$"),
        _rule(
            platform,
            "aaa.method-list",
            "aaa",
            WHY_AAA,
            _NO + r"aaa (authentication|authorization|accounting) ",
        ),
        _rule(platform, "aaa.server-group", "aaa", WHY_AAA_SERVER, _NO + r"aaa group server "),
        _rule(
            platform, "aaa.server", "aaa", WHY_AAA_SERVER, _NO + r"(tacacs|radius)(-server| server| host)\b"
        ),
        _rule(
            platform,
            "user.change",
            "local-users",
            WHY_USER,
            _NO + r"username (" + NAMES_PLACEHOLDER + r")(\s|$)",
            names_from="local_users",
        ),
        _rule(platform, "enable-secret", "local-users", WHY_ENABLE, _NO + r"enable (secret|password)\b"),
        _rule(
            platform,
            "mgmt-interface.remove",
            "management-interface",
            WHY_MGMT_INTERFACE,
            r"^(no |default )interface (" + NAMES_PLACEHOLDER + r")$",
            names_from="management_interfaces",
        ),
        _rule(
            platform,
            "mgmt-interface.change",
            "management-interface",
            WHY_MGMT_INTERFACE,
            r"^interface (" + NAMES_PLACEHOLDER + r")$",
            _NO
            + r"(shutdown|ip address|ipv4 address|ipv6 address|vrf|vrf forwarding|vrf member|ip vrf forwarding)\b",
            names_from="management_interfaces",
        ),
        _rule(platform, "copp", "control-plane", WHY_COPP, _NO + r"control-plane\b"),
    ]


def _ios() -> list[RiskRule]:
    p = "cisco_ios"
    line = r"^line (vty|con|console|aux)\b"
    return [
        *_cisco_like(p),
        _rule(p, "vty.transport-input", "vty", WHY_LINE_TRANSPORT, line, _NO + r"transport input\b"),
        _rule(p, "vty.access-class", "vty", WHY_LINE_ACL, line, _NO + r"(ipv6 )?access-class\b"),
        _rule(p, "vty.login", "vty", WHY_LINE_LOGIN, line, _NO + r"(login|password|authorization exec)\b"),
        _rule(p, "vty.remove", "vty", WHY_LINE_LOGIN, r"^no line (vty|con|console)\b"),
        _rule(p, "ssh", "remote-access", WHY_REMOTE_SERVICE, _NO + r"ip ssh\b"),
        _rule(
            p,
            "http",
            "remote-access",
            WHY_REMOTE_SERVICE,
            _NO + r"ip http (secure-server|server|authentication)\b",
        ),
        _rule(
            p,
            "netconf",
            "remote-access",
            WHY_REMOTE_SERVICE,
            _NO + r"(netconf-yang|netconf|restconf|gnmi-yang)\b",
        ),
        _rule(p, "host-key", "remote-access", WHY_HOST_KEY, r"^crypto key (zeroize|generate)\b"),
        _rule(
            p, "mgmt-vrf.route", "management-vrf", WHY_MGMT_VRF, _NO + r"ip(v6)? route vrf " + _MGMT_VRF + " "
        ),
        _rule(
            p, "mgmt-vrf", "management-vrf", WHY_MGMT_VRF, r"^no (vrf definition|ip vrf) " + _MGMT_VRF + "$"
        ),
        _rule(
            p,
            "acl.bound",
            "access-acl",
            WHY_BOUND_ACL,
            _NO
            + r"(ip access-list (standard |extended )?|ipv6 access-list |access-list )("
            + NAMES_PLACEHOLDER
            + r")(\s|$)",
            names_from="access_acls",
        ),
        _rule(p, "copp.policy", "control-plane", WHY_COPP, _NO + r"policy-map (?i:\S*copp\S*)$"),
    ]


def _nxos() -> list[RiskRule]:
    p = "cisco_nxos"
    line = r"^line (vty|console)$"
    return [
        *_cisco_like(p),
        _rule(p, "feature.aaa", "aaa", WHY_AAA_SERVER, _NO + r"feature (tacacs\+|radius|ldap)$"),
        _rule(p, "vty.access-class", "vty", WHY_LINE_ACL, line, _NO + r"(ipv6 )?access-class\b"),
        _rule(
            p,
            "ssh",
            "remote-access",
            WHY_REMOTE_SERVICE,
            _NO + r"(feature (ssh|telnet|nxapi|netconf|restconf|grpc)|ssh server|nxapi|grpc)\b",
        ),
        _rule(p, "host-key", "remote-access", WHY_HOST_KEY, _NO + r"ssh key\b"),
        _rule(
            p,
            "mgmt-vrf.route",
            "management-vrf",
            WHY_MGMT_VRF,
            r"^vrf context management$",
            _NO + r"ipv?6? route\b",
        ),
        _rule(p, "mgmt-vrf", "management-vrf", WHY_MGMT_VRF, r"^no vrf context management$"),
        _rule(
            p,
            "acl.bound",
            "access-acl",
            WHY_BOUND_ACL,
            _NO + r"ipv?6? access-list (" + NAMES_PLACEHOLDER + r")$",
            names_from="access_acls",
        ),
        _rule(
            p,
            "copp.policy",
            "control-plane",
            WHY_COPP,
            _NO + r"(copp profile|policy-map type control-plane)\b",
        ),
    ]


def _xr() -> list[RiskRule]:
    p = "cisco_xr"
    line = r"^line (default|console|template \S+)$"
    return [
        *_cisco_like(p),
        _rule(p, "vty.transport-input", "vty", WHY_LINE_TRANSPORT, line, _NO + r"transport input\b"),
        _rule(p, "vty.access-class", "vty", WHY_LINE_ACL, line, _NO + r"access-class\b"),
        _rule(
            p, "vty.login", "vty", WHY_LINE_LOGIN, line, _NO + r"(login authentication|authorization exec)\b"
        ),
        _rule(p, "vty-pool", "vty", WHY_LINE_LOGIN, _NO + r"vty-pool\b"),
        _rule(
            p,
            "ssh",
            "remote-access",
            WHY_REMOTE_SERVICE,
            _NO + r"(ssh server|netconf-yang agent|netconf agent|grpc|xml agent|http server)\b",
        ),
        _rule(p, "host-key", "remote-access", WHY_HOST_KEY, r"^crypto key (zeroize|generate)\b"),
        _rule(p, "mgmt-vrf", "management-vrf", WHY_MGMT_VRF, r"^no vrf " + _MGMT_VRF + "$"),
        _rule(
            p,
            "mgmt-vrf.route",
            "management-vrf",
            WHY_MGMT_VRF,
            r"^router static$",
            _NO + r"vrf " + _MGMT_VRF + "$",
        ),
        _rule(
            p,
            "acl.bound",
            "access-acl",
            WHY_BOUND_ACL,
            _NO + r"ipv[46] access-list (" + NAMES_PLACEHOLDER + r")$",
            names_from="access_acls",
        ),
        _rule(p, "copp.lpts", "control-plane", WHY_COPP, _NO + r"lpts\b"),
    ]


def _eos() -> list[RiskRule]:
    p = "arista_eos"
    return [
        *_cisco_like(p),
        _rule(p, "aaa.root", "aaa", WHY_AAA, _NO + r"aaa root\b"),
        _rule(
            p,
            "management-api",
            "remote-access",
            WHY_REMOTE_SERVICE,
            _NO + r"management (ssh|api|telnet|console|security)\b",
        ),
        _rule(
            p, "mgmt-vrf.route", "management-vrf", WHY_MGMT_VRF, _NO + r"ipv?6? route vrf " + _MGMT_VRF + " "
        ),
        _rule(
            p,
            "mgmt-vrf",
            "management-vrf",
            WHY_MGMT_VRF,
            r"^no vrf (instance |definition )?" + _MGMT_VRF + "$",
        ),
        _rule(
            p,
            "acl.bound",
            "access-acl",
            WHY_BOUND_ACL,
            _NO + r"ipv?6? access-list (standard )?(" + NAMES_PLACEHOLDER + r")$",
            names_from="access_acls",
        ),
        _rule(
            p,
            "copp.policy",
            "control-plane",
            WHY_COPP,
            _NO + r"(system control-plane|policy-map type copp)\b",
        ),
    ]


def _junos() -> list[RiskRule]:
    # hier_config's Junos driver turns curly-brace configs into flat "set" lines, negated as "delete".
    p = "juniper_junos"
    return [
        _rule(
            p,
            "aaa",
            "aaa",
            WHY_AAA,
            _SET + r"system (authentication-order|accounting|tacplus-options|radius-options)\b",
        ),
        _rule(p, "aaa.server", "aaa", WHY_AAA_SERVER, _SET + r"system (tacplus-server|radius-server)\b"),
        _rule(
            p,
            "services",
            "remote-access",
            WHY_REMOTE_SERVICE,
            _SET + r"system services (ssh|telnet|netconf|web-management|extension-service|rest)\b",
        ),
        _rule(
            p,
            "user.change",
            "local-users",
            WHY_USER,
            _SET + r"system login user (" + NAMES_PLACEHOLDER + r")(\s|$)",
            names_from="local_users",
        ),
        _rule(p, "root-authentication", "local-users", WHY_ENABLE, _SET + r"system root-authentication\b"),
        _rule(
            p,
            "mgmt-interface",
            "management-interface",
            WHY_MGMT_INTERFACE,
            _SET + r"interfaces (fxp0|em0|me0|vme|re0:mgmt-0|re1:mgmt-0)\b",
        ),
        _rule(
            p,
            "mgmt-vrf",
            "management-vrf",
            WHY_MGMT_VRF,
            _SET + r"(system management-instance|routing-instances mgmt_junos)\b",
        ),
        _rule(
            p,
            "copp.lo0-filter",
            "control-plane",
            WHY_COPP,
            _SET + r"interfaces lo0 unit \d+ family inet6? filter\b",
        ),
        _rule(
            p,
            "acl.bound",
            "access-acl",
            WHY_BOUND_ACL,
            _SET + r"firewall (family inet6? )?filter (" + NAMES_PLACEHOLDER + r")\s",
            names_from="access_acls",
        ),
    ]


def _generic() -> list[RiskRule]:
    """Best-effort keywords for the platforms without a family of their own (Comware, VRP, ProCurve, AOS-CX,
    FortiOS, SR Linux, FastIron, VyOS): top-level lines, and lines of top-level management sections."""
    p = "generic"
    keywords = (
        r"(?i)\b(aaa|tacacs\+?|hwtacacs|radius|ssh|ssh-server|stelnet|telnet|https?-server|netconf|gnmi|"
        r"gnmi-server|grpc|user-interface|local-user|username|login user|allowaccess|authorized-managers)\b"
    )
    section = r"(?i)^(config )?(system|aaa|management|user-interface|line|service)\b"
    return [
        _rule(p, "remote-access", "remote-access", WHY_REMOTE_SERVICE, keywords),
        _rule(p, "remote-access.section", "remote-access", WHY_REMOTE_SERVICE, section, keywords),
    ]


BUILT_IN_RULES: tuple[RiskRule, ...] = (*_ios(), *_nxos(), *_xr(), *_eos(), *_junos(), *_generic())


# --- names read from the running config -----------------------------------------------------------------

_ACCESS_ACL_PATTERNS: dict[str, list[tuple[str | None, str]]] = {
    # (section line, child line) -> the ACL name group; None section: a top-level line.
    "cisco_ios": [
        (r"^line (vty|con|console|aux)\b", r"^(ipv6 )?access-class (\S+)"),
        (None, r"^ip http access-class (ipv4 )?(\S+)"),
        (None, r"^ip ssh (ipv4 )?access-list (\S+)"),
    ],
    "cisco_nxos": [(r"^line vty$", r"^(ipv6 )?access-class (\S+)")],
    "cisco_xr": [
        (r"^line (default|template \S+)$", r"^access-class (ingress )?(\S+)"),
        (None, r"^ssh server (ipv4|ipv6) access-list (\S+)"),
    ],
    "arista_eos": [(r"^management (ssh|api http-commands|telnet)$", r"^ipv?6? access-group (\S+)")],
    "juniper_junos": [(None, r"^set interfaces lo0 unit \d+ family inet6? filter (input|input-list) (\S+)")],
}
_MGMT_NAME = re.compile(r"^(mgmt\d|Management\d|MgmtEth\S+)")
_MGMT_VRF_CHILD = re.compile(r"^(vrf( forwarding| member)?|ip vrf forwarding) " + _MGMT_VRF + "$")
_USER_PATTERNS = {
    "juniper_junos": re.compile(r"^set system login user (\S+)"),
}
_USER_PATTERN = re.compile(r"^username (\S+)")
# How a line is negated: (prefix of the negation, what it replaces). Junos negates "set x" as "delete x".
_NEGATION = {"juniper_junos": ("delete ", "set ")}


def _access_acls(platform: str, running: HConfig) -> set[str]:
    names: set[str] = set()
    for section, child_pattern in _ACCESS_ACL_PATTERNS.get(platform, []):
        child_re = re.compile(child_pattern)
        if section is None:
            lines: Iterable[HConfigChild] = running.children
        else:
            section_re = re.compile(section)
            lines = (line for top in running.children if section_re.search(top.text) for line in top.children)
        names.update(
            match.group(match.lastindex or 0) for line in lines if (match := child_re.search(line.text))
        )
    return names


def _management_interfaces(running: HConfig) -> set[str]:
    """Interfaces named as management ports, or members of a management VRF."""
    names = set()
    for top in running.children:
        if not top.text.startswith("interface "):
            continue
        name = top.text.removeprefix("interface ")
        if _MGMT_NAME.match(name) or any(_MGMT_VRF_CHILD.match(child.text) for child in top.children):
            names.add(name)
    return names


def _local_users(platform: str, running: HConfig) -> set[str]:
    pattern = _USER_PATTERNS.get(platform, _USER_PATTERN)
    return {match.group(1) for top in running.children if (match := pattern.match(top.text))}


def _names(names_from: NamesFrom, platform: str, running: HConfig) -> set[str]:
    if names_from == "access_acls":
        return _access_acls(platform, running)
    if names_from == "local_users":
        return _local_users(platform, running)
    return _management_interfaces(running)


# --- compilation and evaluation ---------------------------------------------------------------------------

_Matcher = Callable[[str], bool]


def _as_tuple(value: str | list[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def _matcher(rule: MatchRule, names: str | None) -> _Matcher:
    """hier_config's HConfigChild.is_match for one MatchRule, with ``{names}`` already resolved."""
    equals = _as_tuple(rule.equals)
    startswith = _as_tuple(rule.startswith)
    endswith = _as_tuple(rule.endswith)
    contains = _as_tuple(rule.contains)
    pattern = rule.re_search
    if pattern is not None and names is not None:
        pattern = pattern.replace(NAMES_PLACEHOLDER, names)
    compiled = re.compile(pattern) if pattern is not None else None

    def matches(text: str) -> bool:
        return (
            (equals is None or text in equals)
            and (startswith is None or text.startswith(startswith))
            and (endswith is None or text.endswith(endswith))
            and (contains is None or any(part in text for part in contains))
            and (compiled is None or compiled.search(text) is not None)
        )

    return matches


@dataclass(frozen=True)
class _Compiled:
    id: str
    why: str
    levels: tuple[_Matcher, ...]
    names_from: NamesFrom | None


def _compile(rule: RiskRuleInput, names: str | None = None) -> _Compiled:
    names_from = rule.names_from if isinstance(rule, RiskRule) else None
    return _Compiled(
        rule.id, rule.why, tuple(_matcher(level, names) for level in rule.match_rules), names_from
    )


@lru_cache(maxsize=len(PLATFORM_NAMES))
def _static_rules(platform: str) -> tuple[_Compiled, ...]:
    return tuple(
        _compile(rule) for rule in BUILT_IN_RULES if platform in rule.platforms and rule.names_from is None
    )


def _rules_for(platform: str, running: HConfig, user_rules: Sequence[RiskRuleInput]) -> list[_Compiled]:
    rules = list(_static_rules(platform))
    found: dict[NamesFrom, set[str]] = {}
    for rule in BUILT_IN_RULES:
        if rule.names_from is not None and platform in rule.platforms:
            if rule.names_from not in found:
                found[rule.names_from] = _names(rule.names_from, platform, running)
            names = found[rule.names_from]
            if names:  # no such names on the device: nothing this rule could flag
                rules.append(_compile(rule, "|".join(re.escape(name) for name in sorted(names))))
    rules.extend(_compile(rule) for rule in user_rules if not rule.platforms or platform in rule.platforms)
    return rules


def evaluate_risks(
    platform: str,
    running: HConfig,
    lines: Iterable[HConfigChild],
    user_rules: Sequence[RiskRuleInput] = (),
) -> list[RiskFlag]:
    """The flags for ``lines`` (remediation lines in tree order, parents before children, as
    ``all_children_sorted`` yields them), at most MAX_RISKS_PER_DEVICE. Reads the trees, never changes them."""
    rules = _rules_for(platform, running, user_rules)
    flags: list[RiskFlag] = []
    # Per depth on the current branch: the line's text and the (rule, matched levels) prefixes it continues.
    path: list[str] = []
    open_prefixes: list[list[_Compiled]] = [rules]
    added_users: set[str] = set()
    removed_users: set[str] = set()
    for line in lines:
        depth = line.depth()
        del path[depth - 1 :]
        del open_prefixes[depth:]
        if depth == 1:
            _note_user(platform, line.text, added_users, removed_users)
        continuing: list[_Compiled] = []
        for rule in open_prefixes[depth - 1]:
            if len(rule.levels) < depth or not rule.levels[depth - 1](line.text):
                continue
            if len(rule.levels) == depth:
                if len(flags) < MAX_RISKS_PER_DEVICE:
                    flags.append(RiskFlag(line=line.text, path=list(path), rule=rule.id, why=rule.why))
            else:
                continuing.append(rule)
        path.append(line.text)
        open_prefixes.append(continuing)
    users = _local_users(platform, running)
    if users and users <= removed_users and not added_users:
        # Every local user goes and none comes: say so on those flags (a changed user is removed and
        # re-added, "no username a ..." then "username a ...", so it still counts as kept).
        return [
            flag.model_copy(update={"why": WHY_LAST_USER}) if flag.rule.endswith(".user.change") else flag
            for flag in flags
        ]
    return flags


def _note_user(platform: str, text: str, added: set[str], removed: set[str]) -> None:
    """Record the local user a top-level remediation line adds (or keeps) or removes."""
    pattern = _USER_PATTERNS.get(platform, _USER_PATTERN)
    prefix, positive = _NEGATION.get(platform, ("no ", ""))
    if text.startswith(prefix):
        if match := pattern.match(positive + text.removeprefix(prefix)):
            removed.add(match.group(1))
    elif match := pattern.match(text):
        added.add(match.group(1))
