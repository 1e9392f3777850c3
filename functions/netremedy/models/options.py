"""Remediation options: applied to every device of a job (or to the one device of a synchronous request).

``tag_rules`` mirror hier_config's own ``TagRule``/``MatchRule`` shape so that rules users already keep for
hier_config work unchanged; they are re-created as hier_config objects only in ``logic.remediation``, which
keeps hier_config out of the API handlers.
"""

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

from netremedy.models.match_rules import MatchRule
from netremedy.models.risks import MAX_RISK_RULES, RiskRuleInput

Output = Literal["remediation", "rollback", "diff", "future"]
DEFAULT_OUTPUTS: tuple[Output, ...] = ("remediation", "rollback")
MAX_TAG_RULES = 100

Tag = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^\S+$")]
# "flag": a risky device succeeds with its risks listed; "hold": its remediation is withheld (status "held").
OnRisk = Literal["flag", "hold"]


class TagRule(BaseModel):
    """hier_config's TagRule: lines matched by the chain of ``match_rules`` (one per level) get ``apply_tags``."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    match_rules: list[MatchRule] = Field(min_length=1, max_length=16)
    apply_tags: list[Tag] = Field(min_length=1, max_length=32)


class RemediationOptions(BaseModel):
    """How remediation is computed and what each device's result holds. The defaults give the plain
    remediation and rollback, exactly as without options."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    tag_rules: list[TagRule] = Field(
        default=[],
        max_length=MAX_TAG_RULES,
        description="hier_config TagRules applied to each remediation, e.g. "
        '[{"match_rules": [{"startswith": "ip access-list"}], "apply_tags": ["acl"]}]',
    )
    include_tags: list[Tag] = Field(
        default=[], max_length=32, description="Keep only remediation lines carrying one of these tags"
    )
    exclude_tags: list[Tag] = Field(
        default=[], max_length=32, description="Drop remediation lines carrying one of these tags"
    )
    sectional_exiting: StrictBool = Field(
        default=False,
        description="Close sections with the platform's exit commands (e.g. 'exit-address-family')",
    )
    outputs: list[Output] = Field(
        default=list(DEFAULT_OUTPUTS),
        min_length=1,
        max_length=4,
        description="What each device result holds: 'remediation', 'rollback', 'diff' (hier_config's unified "
        "diff, running -> intended) and 'future' (the configuration predicted after the remediation)",
    )
    risk_rules: list[RiskRuleInput] = Field(
        default=[],
        max_length=MAX_RISK_RULES,
        description="Lock-out risk rules of your own, evaluated with the built-in ones (GET /api/v1/platforms "
        "lists those), e.g. "
        '[{"id": "site.bgp", "why": "drops the uplink", "match_rules": [{"startswith": "router bgp"}]}]',
    )
    on_risk: OnRisk = Field(
        default="flag",
        description="'flag': a device with risky lines succeeds with them listed in `risks`; 'hold': its "
        "remediation is withheld and its result is status 'held' with the risky lines",
    )

    @field_validator("outputs")
    @classmethod
    def _each_once(cls, outputs: list[Output]) -> list[Output]:
        if len(set(outputs)) != len(outputs):
            raise ValueError("lists an output more than once")
        return outputs

    @field_validator("risk_rules")
    @classmethod
    def _unique_rule_ids(cls, rules: list[RiskRuleInput]) -> list[RiskRuleInput]:
        ids = [rule.id for rule in rules]
        if len(set(ids)) != len(ids):
            raise ValueError("gives a rule id more than once")
        return rules

    @model_validator(mode="after")
    def _consistent(self) -> "RemediationOptions":
        applied = {tag for rule in self.tag_rules for tag in rule.apply_tags}
        for field in ("include_tags", "exclude_tags"):
            unknown = sorted(set(getattr(self, field)) - applied)
            if unknown:
                # A tag no rule applies would silently filter everything (include) or nothing (exclude).
                raise ValueError(f"{field}: {', '.join(map(repr, unknown))} is applied by no tag_rules entry")
        if self.sectional_exiting and (self.include_tags or self.exclude_tags):
            raise ValueError(
                "sectional_exiting cannot be combined with include_tags/exclude_tags: hier_config's "
                "tag-filtered remediation has no sectional exits"
            )
        return self

    @property
    def is_default(self) -> bool:
        return self == RemediationOptions()

    @property
    def filters_by_tags(self) -> bool:
        return bool(self.include_tags or self.exclude_tags)
