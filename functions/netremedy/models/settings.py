"""Configuration read once per container from the environment the template sets."""

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class ServiceSettings:
    table_name: str
    bucket_name: str
    device_queue_url: str
    finalize_queue_url: str
    fanout_queue_url: str
    # Jobs with more devices than this are fanned out after the POST answers (API Gateway allows 29 s).
    inline_fanout_max_devices: int
    # ... and so are jobs that would take more SendMessageBatch calls than this: the POST answers after one
    # S3 put and one SQS send instead of waiting for every device batch.
    inline_fanout_max_batches: int
    job_ttl_days: int
    # A job still open this long after creation is finished by the sweeper: its missing devices fail.
    job_deadline_seconds: int
    # A device's remediation + rollback above this many bytes go to S3 (DynamoDB items max out at 400 KB).
    result_inline_limit_bytes: int
    # A device message above this many bytes carries an S3 key instead of the configs (claim check); a send
    # batch stays under the same total, the SQS limit for one SendMessageBatch call.
    message_max_bytes: int
    # Up to this many devices travel in one device message (fewer when their configs are big).
    devices_per_message: int
    # Where JobCompleted events go.
    event_bus_name: str = "default"


@lru_cache(maxsize=1)
def load_settings() -> ServiceSettings:
    env = os.environ
    return ServiceSettings(
        table_name=env.get("TABLE_NAME", ""),
        bucket_name=env.get("BUCKET_NAME", ""),
        device_queue_url=env.get("DEVICE_QUEUE_URL", ""),
        finalize_queue_url=env.get("FINALIZE_QUEUE_URL", ""),
        fanout_queue_url=env.get("FANOUT_QUEUE_URL", ""),
        inline_fanout_max_devices=int(env.get("INLINE_FANOUT_MAX_DEVICES", "1000")),
        inline_fanout_max_batches=int(env.get("INLINE_FANOUT_MAX_BATCHES", "2")),
        job_ttl_days=int(env.get("JOB_TTL_DAYS", "7")),
        job_deadline_seconds=int(env.get("JOB_DEADLINE_SECONDS", "5400")),
        result_inline_limit_bytes=int(env.get("RESULT_INLINE_LIMIT_BYTES", "100000")),
        message_max_bytes=int(env.get("MESSAGE_MAX_BYTES", "262144")),
        devices_per_message=int(env.get("DEVICES_PER_MESSAGE", "25")),
        event_bus_name=env.get("EVENT_BUS_NAME", "default"),
    )
