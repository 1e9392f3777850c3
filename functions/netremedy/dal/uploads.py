"""DynamoDB: upload rows (who may start a job from a pre-signed upload, and which job did), and the two job-row
writes a job started from an upload needs (its device count once read, or why it was refused)."""

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from netremedy.dal.clients import client
from netremedy.models.items import (
    JOB_SORT_KEY,
    UPLOAD_SORT_KEY,
    UploadItem,
    job_partition_key,
    upload_partition_key,
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _upload_key(upload_id: str) -> dict[str, Any]:
    return {"pk": {"S": upload_partition_key(upload_id)}, "sk": {"S": UPLOAD_SORT_KEY}}


def _job_key(job_id: str) -> dict[str, Any]:
    return {"pk": {"S": job_partition_key(job_id)}, "sk": {"S": JOB_SORT_KEY}}


def _failed_condition(exc: ClientError) -> bool:
    code: str = exc.response["Error"]["Code"]
    return code == "ConditionalCheckFailedException"


def put_upload(table: str, upload: UploadItem) -> None:
    values = {key: value for key, value in upload.model_dump().items() if value is not None}
    item = {key: _serializer.serialize(value) for key, value in values.items()}
    client("dynamodb").put_item(
        TableName=table,
        Item=_upload_key(upload.upload_id) | item,
        ConditionExpression="attribute_not_exists(pk)",
    )


def get_upload(table: str, upload_id: str, now_epoch: int) -> UploadItem | None:
    """The upload row; None when there is none or it is past its expiry (TTL deletes rows days late)."""
    response = client("dynamodb").get_item(TableName=table, Key=_upload_key(upload_id), ConsistentRead=True)
    if "Item" not in response:
        return None
    values = {key: _deserializer.deserialize(value) for key, value in response["Item"].items()}
    if int(values["expires_at"]) < now_epoch:
        return None
    return UploadItem.model_validate({key: values[key] for key in values if key not in ("pk", "sk")})


def use_upload(table: str, upload_id: str, owner: str, job_id: str) -> bool:
    """Bind the upload to ``job_id``: True for the one call that did (same owner, not used before)."""
    try:
        client("dynamodb").update_item(
            TableName=table,
            Key=_upload_key(upload_id),
            UpdateExpression="SET job_id = :job",
            ConditionExpression="attribute_exists(pk) AND #owner = :owner AND attribute_not_exists(job_id)",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":job": {"S": job_id}, ":owner": {"S": owner}},
        )
    except ClientError as exc:
        if _failed_condition(exc):
            return False
        raise
    return True


def set_total_devices(table: str, job_id: str, total: int, now: str) -> bool:
    """Record the device count of a pending job read from its upload; False once the job is no longer pending.

    A redelivered start sets the same count again (the manifest did not change)."""
    try:
        client("dynamodb").update_item(
            TableName=table,
            Key=_job_key(job_id),
            UpdateExpression="SET total_devices = :total, updated_at = :now",
            ConditionExpression="#status = :pending AND "
            "(attribute_not_exists(total_devices) OR total_devices = :total)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":total": {"N": str(total)},
                ":now": {"S": now},
                ":pending": {"S": "pending"},
            },
        )
    except ClientError as exc:
        if _failed_condition(exc):
            return False
        raise
    return True


def set_error_details(table: str, job_id: str, details: list[dict[str, str]]) -> None:
    """Why a pending job's manifest was refused, field by field (the job is failed next, with its reason)."""
    try:
        client("dynamodb").update_item(
            TableName=table,
            Key=_job_key(job_id),
            UpdateExpression="SET error_details = :details",
            ConditionExpression="#status = :pending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":details": _serializer.serialize(details),
                ":pending": {"S": "pending"},
            },
        )
    except ClientError as exc:
        if not _failed_condition(exc):  # the job has ended meanwhile (cancelled): its state stays as it is
            raise
