"""Platform names accepted by the API.

hier_config's ``Platform`` enum values are numbers ("1".."14"), so the public name is the lowercase member
*name*. The list is spelled out here (not imported) so that the API handlers never import hier_config, which
keeps their cold start small; a unit test keeps it equal to ``hier_config.Platform``.
"""

from typing import Literal, get_args

PlatformName = Literal[
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

PLATFORM_NAMES: tuple[str, ...] = get_args(PlatformName)
