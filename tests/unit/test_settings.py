"""Settings are read from the environment once, and checked when any handler is imported (cold start)."""

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from netremedy.models.settings import ServiceSettings, SettingsError, load_settings, required_variables
from tests.conftest import FAKE_ENVIRONMENT, PROJECT_ROOT


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The complete fake environment, nothing else the settings read, and no cached settings either side."""
    for field in ServiceSettings.model_fields.values():
        monkeypatch.delenv(str(field.alias), raising=False)
    for name, value in FAKE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    load_settings.cache_clear()
    yield monkeypatch
    load_settings.cache_clear()


def test_the_tests_fake_environment_sets_every_required_variable() -> None:
    assert set(required_variables()) == set(FAKE_ENVIRONMENT)
    assert required_variables() == [
        "TABLE_NAME",
        "BUCKET_NAME",
        "DEVICE_QUEUE_URL",
        "FINALIZE_QUEUE_URL",
        "FANOUT_QUEUE_URL",
    ]


def test_a_handler_module_without_its_variables_fails_at_import_naming_each() -> None:
    # Given a fresh interpreter, as Lambda's, with two required variables missing
    env = {name: value for name, value in os.environ.items() if name not in ("TABLE_NAME", "BUCKET_NAME")}
    env |= {
        name: value for name, value in FAKE_ENVIRONMENT.items() if name not in ("TABLE_NAME", "BUCKET_NAME")
    }
    # When it imports a handler module
    run = subprocess.run(
        [sys.executable, "-c", "import netremedy.handlers.job_status"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=PROJECT_ROOT / "functions",
    )
    # Then the import fails with one line naming both
    assert run.returncode != 0
    assert (
        "netremedy.models.settings.SettingsError: missing environment variable(s): TABLE_NAME, BUCKET_NAME"
        in run.stderr.splitlines()
    ), run.stderr


def test_missing_and_malformed_variables_are_all_named(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.delenv("FANOUT_QUEUE_URL")
    settings_env.setenv("TABLE_NAME", "")  # an empty variable is a missing one
    settings_env.setenv("JOB_TTL_DAYS", "seven")
    settings_env.setenv("DROP_PREFIX", "incoming")  # the template's pattern wants the trailing slash
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith("missing environment variable(s): TABLE_NAME, FANOUT_QUEUE_URL; invalid ")
    assert "DROP_PREFIX (String should match pattern" in message
    assert "JOB_TTL_DAYS (Input should be a valid integer" in message
    # The value itself is not repeated (environment values can be anything)
    assert "seven" not in message


def test_defaults_apply_and_values_are_typed(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("DEVICES_PER_MESSAGE", "3")
    settings = load_settings()
    assert (settings.table_name, settings.devices_per_message) == ("unset-table", 3)
    assert (settings.drop_prefix, settings.job_ttl_days, settings.job_deadline_seconds) == (
        "incoming/",
        7,
        5400,
    )
    assert settings.event_bus_name == "default" and settings.message_max_bytes == 262_144
    # Read once per container: the same object until the cache is cleared
    assert load_settings() is settings


@pytest.mark.parametrize(
    ("name", "value"), [("DEVICES_PER_MESSAGE", "0"), ("JOB_TTL_DAYS", "366"), ("JOB_DEADLINE_SECONDS", "-1")]
)
def test_out_of_range_values_are_refused(settings_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    settings_env.setenv(name, value)
    with pytest.raises(SettingsError, match=f"invalid environment variable\\(s\\): {name} "):
        load_settings()


def test_an_empty_optional_variable_falls_back_to_its_default(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("EVENT_BUS_NAME", "")
    assert load_settings().event_bus_name == "default"
