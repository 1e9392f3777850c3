"""The ConfigPrefixes parameter and the setting it becomes accept the same values and default alike."""

import re

from netremedy.models.settings import CONFIG_PREFIXES_PATTERN, ServiceSettings
from netremedy_local.template import load_yaml
from tests.conftest import PROJECT_ROOT

TEMPLATE = load_yaml(PROJECT_ROOT / "template.yaml")
PARAMETER = TEMPLATE["Parameters"]["ConfigPrefixes"]


def test_every_function_gets_config_prefixes_from_the_parameter_with_the_same_default_and_pattern() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["CONFIG_PREFIXES"] == {"Ref": "ConfigPrefixes"}
    assert ServiceSettings.model_fields["config_prefixes"].default == PARAMETER["Default"] == ""
    assert PARAMETER["AllowedPattern"] == CONFIG_PREFIXES_PATTERN


def test_the_pattern_takes_comma_separated_prefixes_that_end_with_a_slash() -> None:
    accepted = ["", "backups/", "backups/,intended/site1/", "a.b_c-d/e/"]
    refused = ["backups", "backups/,", ",backups/", "backups/ ,intended/", "/backups/", "back ups/"]
    assert all(re.fullmatch(CONFIG_PREFIXES_PATTERN, value) for value in accepted)
    assert not any(re.fullmatch(CONFIG_PREFIXES_PATTERN, value) for value in refused)
