"""Configuration read once per container from the environment the template sets, and checked at cold start.

Importing any handler reads it (``netremedy.handlers`` does so at import): a function deployed without a
variable it needs, or with one that does not parse, fails there with a ``SettingsError`` naming every such
variable, not on its first AWS call. An empty variable counts as missing.
"""

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, ValidationError

_KEY_PREFIX = r"[A-Za-z0-9._-]+/([A-Za-z0-9._-]+/)*"
CONFIG_PREFIXES_PATTERN = rf"^({_KEY_PREFIX}(,{_KEY_PREFIX})*)?$"


class SettingsError(Exception):
    pass


class ServiceSettings(BaseModel):
    """Each field is read from the environment variable named by its alias. The defaults of the variables the
    template sets from a parameter mirror the parameter's default (tests/infrastructure checks them)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str = Field(alias="TABLE_NAME")
    bucket_name: str = Field(alias="BUCKET_NAME")
    device_queue_url: str = Field(alias="DEVICE_QUEUE_URL")
    finalize_queue_url: str = Field(alias="FINALIZE_QUEUE_URL")
    fanout_queue_url: str = Field(alias="FANOUT_QUEUE_URL")
    # Where a dropped manifest starts a job (template parameter DropPrefix, with its pattern).
    drop_prefix: str = Field("incoming/", alias="DROP_PREFIX", pattern=r"^[A-Za-z0-9._-]+/$")
    job_ttl_days: int = Field(7, alias="JOB_TTL_DAYS", ge=1, le=365)
    # A job still open this long after creation is finished by the sweeper: its missing devices fail.
    job_deadline_seconds: int = Field(5400, alias="JOB_DEADLINE_SECONDS", ge=0)
    # Where JobCompleted events go.
    event_bus_name: str = Field("default", alias="EVENT_BUS_NAME", min_length=1)
    # Jobs with more devices than this are fanned out after the POST answers (API Gateway allows 29 s).
    inline_fanout_max_devices: int = Field(1000, alias="INLINE_FANOUT_MAX_DEVICES", ge=0)
    # ... and so are jobs that would take more SendMessageBatch calls than this: the POST answers after one
    # S3 put and one SQS send instead of waiting for every device batch.
    inline_fanout_max_batches: int = Field(2, alias="INLINE_FANOUT_MAX_BATCHES", ge=0)
    # A device's outputs above this many bytes go to S3 (claim check), as do outputs whose result item would
    # pass DynamoDB's 400 KB whatever this says (logic.worker).
    result_inline_limit_bytes: int = Field(100_000, alias="RESULT_INLINE_LIMIT_BYTES", ge=0)
    # A device message above this many bytes carries an S3 key instead of the configs (claim check); a send
    # batch stays under the same total, the SQS limit for one SendMessageBatch call.
    message_max_bytes: int = Field(262_144, alias="MESSAGE_MAX_BYTES", ge=1)
    # Up to this many devices travel in one device message (fewer when their configs are big).
    devices_per_message: int = Field(25, alias="DEVICES_PER_MESSAGE", ge=1)
    # Where a manifest's referenced configs may live (template parameter ConfigPrefixes, with its pattern): a
    # comma-separated list of key prefixes; empty, any key outside the service's own prefixes.
    config_prefixes: str = Field("", alias="CONFIG_PREFIXES", pattern=CONFIG_PREFIXES_PATTERN)

    @property
    def allowed_config_prefixes(self) -> tuple[str, ...]:
        return tuple(prefix for prefix in self.config_prefixes.split(",") if prefix)


def required_variables() -> list[str]:
    """The environment variables without a default: every function needs them set."""
    return [str(field.alias) for field in ServiceSettings.model_fields.values() if field.is_required()]


def _problems(exc: ValidationError) -> str:
    missing = [str(error["loc"][0]) for error in exc.errors() if error["type"] == "missing"]
    invalid = [f"{error['loc'][0]} ({error['msg']})" for error in exc.errors() if error["type"] != "missing"]
    parts = []
    if missing:
        parts.append(f"missing environment variable(s): {', '.join(missing)}")
    if invalid:
        # The message only, not the value: pydantic's messages do not quote the input.
        parts.append(f"invalid environment variable(s): {', '.join(invalid)}")
    return "; ".join(parts)


@lru_cache(maxsize=1)
def load_settings() -> ServiceSettings:
    try:
        return ServiceSettings.model_validate({name: value for name, value in os.environ.items() if value})
    except ValidationError as exc:
        raise SettingsError(_problems(exc)) from None
