"""Platform names accepted by the API, and the other spellings accepted for them.

hier_config's ``Platform`` enum values are numbers ("1".."14"), so the public name is the lowercase member
*name*. The list is spelled out here (not imported) so that the API handlers never import hier_config, which
keeps their cold start small; a unit test keeps it equal to ``hier_config.Platform``.

``PlatformName`` also accepts the spellings of hier-config-api (the hier_config REST API), so that its
payloads work unchanged, and normalises them to hier_config's name on validation: everything past the API
(messages, rows, results) holds only canonical names.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

CanonicalPlatformName = Literal[
    "arista_eos",
    "aruba_aoscx",
    "cisco_ios",
    "cisco_nxos",
    "cisco_xr",
    "fortinet_fortios",
    "generic",
    "hp_comware5",
    "hp_procurve",
    "huawei_vrp",
    "juniper_junos",
    "nokia_srl",
    "ruckus_fastiron",
    "vyos",
]

PLATFORM_NAMES: tuple[str, ...] = get_args(CanonicalPlatformName)

# alias -> hier_config name. Only spellings hier-config-api 0.1.0 really accepts (its PlatformService map);
# its other names (cisco_ios, cisco_nxos, juniper_junos, arista_eos, generic) are hier_config's already.
PLATFORM_ALIASES: Mapping[str, str] = MappingProxyType({"cisco_iosxr": "cisco_xr"})

PlatformAlias = Literal["cisco_iosxr"]


def canonical_platform(value: Any) -> Any:
    """The hier_config name of an alias; anything else as it is, for the Literal to accept or refuse."""
    return PLATFORM_ALIASES.get(value, value) if isinstance(value, str) else value


def aliases_of(name: str) -> list[str]:
    return sorted(alias for alias, canonical in PLATFORM_ALIASES.items() if canonical == name)


PlatformName = Annotated[
    CanonicalPlatformName,
    # The documented input is every name or alias; the validated value is always the canonical name.
    BeforeValidator(canonical_platform, json_schema_input_type=Literal[CanonicalPlatformName, PlatformAlias]),
]


class PlatformInfo(BaseModel):
    model_config = ConfigDict(defer_build=True)

    name: str = Field(description="The value to send as `platform`", examples=["cisco_ios"])
    aliases: list[str] = Field(
        default=[],
        description="Other spellings accepted for this platform (hier-config-api's), answered as `name`",
        examples=[["cisco_iosxr"]],
    )
    support: Literal["platform driver", "generic driver"] = Field(
        description="'platform driver': hier_config has a driver for this OS (its negation and rule_count rules "
        "for ordering, idempotency, sectional exits...); 'generic driver': indentation only, no OS rules"
    )
    driver: str = Field(description="hier_config's driver class", examples=["HConfigDriverCiscoIOS"])
    negation_prefix: str = Field(description="How a line is negated on this platform", examples=["no "])
    rule_count: int = Field(description="Number of platform-specific rules in hier_config's driver")
    sectional_exiting: bool = Field(description="Whether options.sectional_exiting adds exit commands here")
    hier_config_version: str
