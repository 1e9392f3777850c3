"""Constants in the code that must equal values in template.yaml: the S3 prefixes that expire, receive counts,
and the settings' defaults that mirror template parameters."""

from typing import Any

from pydantic.fields import FieldInfo

from netremedy.handlers import fan_out_jobs
from netremedy.models.object_keys import SERVICE_PREFIXES
from netremedy.models.settings import ServiceSettings, required_variables
from netremedy_local.template import load_yaml
from tests.conftest import PROJECT_ROOT

TEMPLATE = load_yaml(PROJECT_ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]
GLOBAL_ENVIRONMENT: dict[str, Any] = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]


def _field(variable: str) -> FieldInfo:
    field: FieldInfo = next(field for field in ServiceSettings.model_fields.values() if field.alias == variable)
    return field


def _default(variable: str) -> Any:
    return _field(variable).default


def _constraint(variable: str, name: str) -> Any:
    """A constraint of the field (``ge``, ``le``, ``pattern``), as pydantic keeps it in the field's metadata."""
    return next(
        getattr(item, name) for item in _field(variable).metadata if getattr(item, name, None) is not None
    )


def test_the_prefixes_the_service_writes_are_exactly_the_result_buckets_expiring_prefixes() -> None:
    rules = RESOURCES["ResultBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = [
        rule["Prefix"] for rule in rules if rule["Status"] == "Enabled" and "ExpirationInDays" in rule
    ]
    assert sorted(expiring) == sorted(SERVICE_PREFIXES)
    # Each expires with the jobs and table rows, after JobTtlDays
    assert all(rule["ExpirationInDays"] == {"Ref": "JobTtlDays"} for rule in rules)


def test_the_drop_prefix_is_not_one_the_service_writes_or_expires() -> None:
    # A drop prefix under an expiring prefix would delete users' manifests; one the service writes would loop
    assert not any(PARAMETERS["DropPrefix"]["Default"].startswith(prefix) for prefix in SERVICE_PREFIXES)


def test_fan_out_gives_up_on_the_fanout_queues_last_receive() -> None:
    redrive = RESOURCES["FanoutQueue"]["Properties"]["RedrivePolicy"]
    assert fan_out_jobs.LAST_RECEIVE == redrive["maxReceiveCount"]


def test_settings_defaults_mirror_the_template_parameters_that_set_them() -> None:
    for variable, parameter in (
        ("DROP_PREFIX", "DropPrefix"),
        ("JOB_TTL_DAYS", "JobTtlDays"),
        ("JOB_DEADLINE_SECONDS", "JobDeadlineSeconds"),
    ):
        assert GLOBAL_ENVIRONMENT[variable] == {"Ref": parameter}
        assert _default(variable) == PARAMETERS[parameter]["Default"], variable
    assert _default("EVENT_BUS_NAME") == GLOBAL_ENVIRONMENT["EVENT_BUS_NAME"]


def test_settings_accept_exactly_what_the_template_parameters_allow() -> None:
    ttl = PARAMETERS["JobTtlDays"]
    assert (_constraint("JOB_TTL_DAYS", "ge"), _constraint("JOB_TTL_DAYS", "le")) == (
        ttl["MinValue"],
        ttl["MaxValue"],
    )
    assert _constraint("DROP_PREFIX", "pattern") == PARAMETERS["DropPrefix"]["AllowedPattern"]


def test_every_function_gets_every_required_variable_and_nothing_the_code_does_not_read() -> None:
    read = {str(field.alias) for field in ServiceSettings.model_fields.values()}
    assert set(required_variables()) <= set(GLOBAL_ENVIRONMENT)
    # Powertools reads its own; every other variable the template sets is one of the settings
    assert {name for name in GLOBAL_ENVIRONMENT if not name.startswith("POWERTOOLS_")} <= read
    for logical_id, resource in RESOURCES.items():
        if resource["Type"] == "AWS::Serverless::Function":
            overridden = resource["Properties"].get("Environment", {}).get("Variables", {})
            assert not set(required_variables()) & set(overridden), logical_id


def test_the_job_deadline_outlasts_every_retry_of_a_device_message() -> None:
    # The sweeper fails devices still missing at the deadline: it must come after SQS has given up on them
    queue = RESOURCES["DeviceQueue"]["Properties"]
    retries_seconds = queue["RedrivePolicy"]["maxReceiveCount"] * queue["VisibilityTimeout"]
    assert PARAMETERS["JobDeadlineSeconds"]["Default"] > retries_seconds
