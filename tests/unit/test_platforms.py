"""Platform names: the public list mirrors hier_config's enum, and names map by member *name*."""

import pytest
from hier_config import Platform
from netremedy.logic.remediation import platform_from_name
from netremedy.models.platforms import PLATFORM_NAMES

HIER_CONFIG_NAMES = sorted({platform.name.lower() for platform in Platform})


def test_platform_names_match_hier_config_enum() -> None:
    """Given hier_config's Platform enum, the API's list is exactly its lowercase member names, sorted."""
    assert list(PLATFORM_NAMES) == HIER_CONFIG_NAMES
    assert len(PLATFORM_NAMES) == len(set(PLATFORM_NAMES)) == len(Platform) == 14


@pytest.mark.parametrize("name", PLATFORM_NAMES)
def test_platform_from_name_maps_by_member_name(name: str) -> None:
    """Given a public name, when it is mapped, then the enum member of the same name comes back."""
    assert platform_from_name(name) is Platform[name.upper()]


def test_cisco_ios_is_not_looked_up_by_value() -> None:
    """Given enum values are numeric strings, "cisco_ios" maps by name and "3" (its value) is refused."""
    assert Platform("3") is Platform.CISCO_IOS  # a lookup by value would accept "3"
    assert platform_from_name("cisco_ios") is Platform.CISCO_IOS
    with pytest.raises(ValueError, match="unknown platform '3'"):
        platform_from_name("3")


@pytest.mark.parametrize("value", [platform.value for platform in Platform])
def test_no_enum_value_is_accepted_as_a_name(value: str) -> None:
    """Given any of the numeric enum values, when used as a name, then it is rejected."""
    with pytest.raises(ValueError, match=f"unknown platform '{value}'"):
        platform_from_name(value)


def test_unknown_name_lists_valid_names() -> None:
    """Given an unknown platform, the ValueError names it and lists every valid platform."""
    with pytest.raises(ValueError, match="valid platforms") as caught:
        platform_from_name("cisco_catos")
    message = str(caught.value)
    assert "'cisco_catos'" in message
    assert ", ".join(HIER_CONFIG_NAMES) in message


@pytest.mark.parametrize("name", ["CISCO_IOS", "Cisco_Ios", "c\u0131sco_\u0131os"])
def test_platform_names_are_exact_lowercase(name: str) -> None:
    with pytest.raises(ValueError, match="unknown platform"):
        platform_from_name(name)
