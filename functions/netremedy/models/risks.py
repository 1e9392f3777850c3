"""Lock-out risk: rules that flag remediation lines which could cut the management session, and the flags.

A rule is data in the shape of hier_config's tag-rule match rules (``models.match_rules.MatchRule``, one per
level of the tree), so the built-in rules can be listed by ``GET /api/v1/platforms`` and users can send
their own in ``options.risk_rules``. They are evaluated in ``logic.risk_rules``.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from netremedy.models.match_rules import MatchRule
from netremedy.models.platforms import PlatformName

# A device result lists at most this many flags (a rule matching every line must not grow the row past
# DynamoDB's 400 KB).
MAX_RISKS_PER_DEVICE = 200
MAX_RISK_RULES = 100

RiskRuleId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
RiskWhy = Annotated[str, StringConstraints(min_length=1, max_length=300)]
# Where a built-in rule takes names from the device's running configuration: its match texts hold the
# placeholder ``{names}``, replaced by those names (escaped) when the rule is compiled for one device.
NamesFrom = Literal["access_acls", "local_users", "management_interfaces"]


class RiskRuleInput(BaseModel):
    """A rule sent in ``options.risk_rules``: every remediation line whose path matches ``match_rules`` (one
    MatchRule per level, like a TagRule's) is flagged with ``id`` and ``why``."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    id: RiskRuleId = Field(description="Names the rule in each flag", examples=["site.bgp.neighbor-removal"])
    why: RiskWhy = Field(description="What could go wrong, shown with each flag")
    platforms: list[PlatformName] = Field(
        default=[], max_length=32, description="Platforms the rule applies to; empty: every platform"
    )
    match_rules: list[MatchRule] = Field(min_length=1, max_length=16)


class RiskRule(RiskRuleInput):
    """A built-in rule (listed by ``GET /api/v1/platforms``)."""

    family: str = Field(description="What the rule protects, e.g. 'aaa', 'vty', 'management-interface'")
    names_from: NamesFrom | None = Field(
        default=None,
        description="The rule's match texts hold '{names}', replaced per device by names read from its "
        "running config: 'access_acls' (ACLs applied to VTY/SSH/HTTP access), 'local_users' (usernames), "
        "'management_interfaces' (interfaces named as management ports or in a management VRF)",
    )


class RiskFlag(BaseModel):
    """One remediation line that could cut remote access to the device."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    line: str = Field(description="The remediation line")
    path: list[str] = Field(
        description="The line's parents from the top of the config, not including the line"
    )
    rule: str = Field(description="The id of the rule that flagged it", examples=["ios.vty.access-class"])
    why: str = Field(description="Why the line is risky")
