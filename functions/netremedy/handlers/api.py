"""The REST API resolver every API function is built with, the caller's identity, and the one map from errors to
HTTP responses."""

import base64
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from netremedy.logic.jobs import JobFinishedError, JobNotFoundError, JobSubmissionError
from netremedy.logic.report_link import ReportNotReadyError
from netremedy.logic.response_size import response_json
from netremedy.logic.results import (
    BundleNotReadyError,
    DeviceNotFoundError,
    InvalidPageTokenError,
    ResultExpiredError,
)
from netremedy.models.api import MAX_REQUEST_BODY_BYTES, ErrorDetail, ErrorResponse
from netremedy.observability import logger

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


ANONYMOUS = "anonymous"
# Nesting a request body may have: the deepest body the API accepts nests 7 levels (options.tag_rules[].
# match_rules[]...). Deeper JSON is refused before validation, whatever the stack depth at parse time, so it
# never reaches code that recurses (json.loads raises RecursionError near 1,000 levels).
MAX_JSON_DEPTH = 64
_TOO_DEEP = f"nested more than {MAX_JSON_DEPTH} levels deep"
# An assumed-role session: arn:<partition>:sts::<account>:assumed-role/<role name>/<session name>.
_ASSUMED_ROLE = re.compile(
    r"^arn:(?P<partition>[\w-]+):sts::(?P<account>\d+):assumed-role/(?P<role>[^/]+)/[^/]+$"
)


def stable_principal(user_arn: str) -> str:
    """The principal that owns what a caller creates: the role for an assumed-role session, else the ARN.

    A session ARN names one session, and botocore starts a new session (name) per process, so owning by it
    would hide a job from the next command of the same role. The session ARN does not carry the role's path,
    so the role ARN is written without it; role names are unique in an account, so it is still one role.
    IAM users, the root user and federated users are already stable and stay as they are.
    """
    match = _ASSUMED_ROLE.match(user_arn)
    if match is None:
        return user_arn
    return f"arn:{match['partition']}:iam::{match['account']}:role/{match['role']}"


def caller_identity(router: Router) -> str:
    """Who is calling: the stable IAM principal behind the SigV4 signature API Gateway verified, or
    "anonymous" where the request is unsigned (the local stack without its caller header)."""
    context = router.current_event.raw_event.get("requestContext") or {}
    user_arn = (context.get("identity") or {}).get("userArn")
    return stable_principal(str(user_arn)) if user_arn else ANONYMOUS


def documented_responses(status: int, model: Any, description: str, *errors: int) -> dict[int, Any]:
    """OpenAPI response entries: the success body, then each error status with the ErrorResponse body."""
    success = {status: {"description": description, "content": {"application/json": {"model": model}}}}
    return success | documented_errors(*errors)


def documented_errors(*statuses: int) -> dict[int, Any]:
    """OpenAPI response entries for error statuses, all with the ErrorResponse body."""
    descriptions = {
        400: "Malformed request (invalid JSON, unusable header)",
        404: "No such job (or not the caller's)",
        409: "Conflict with the job's current state",
        410: "The device's outputs have expired",
        413: f"Request body over {MAX_REQUEST_BODY_BYTES:,} bytes (5 MiB)",
        415: "Body is not application/json",
        422: "A field is invalid; details name it",
        503: "The job could not be started; retry",
    }
    return {
        status: {
            "description": descriptions[status],
            "content": {"application/json": {"model": ErrorResponse}},
        }
        for status in statuses
    }


def error_response(
    status: int, error: str, message: str, details: Sequence[ErrorDetail] = (), job_id: str | None = None
) -> Response[Any]:
    body = ErrorResponse(error=error, message=message, details=list(details), job_id=job_id)
    return Response(
        status_code=status, content_type="application/json", body=body.model_dump_json(exclude_none=True)
    )


def _field_path(location: Sequence[Any]) -> str:
    parts = [part for part in location if part != "body"] if len(location) > 1 else list(location)
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def _readable(message: str) -> str:
    # pydantic prefixes the messages of custom validators with "Value error, "; the user needs only the rest.
    return message.removeprefix("Value error, ")


def _validation_failed(exc: RequestValidationError) -> Response[str]:
    errors = list(exc.errors())
    invalid = [error for error in errors if error.get("type") == "json_invalid"]
    if invalid:
        too_deep = (invalid[0].get("ctx") or {}).get("error") == _TOO_DEEP
        return error_response(
            400,
            "invalid_json",
            f"The request body is {_TOO_DEEP}" if too_deep else "The request body is not valid JSON",
        )
    details = [
        ErrorDetail(
            field=_field_path(error.get("loc", ())), message=_readable(str(error.get("msg", "invalid value")))
        )
        for error in errors
    ]
    summary = "; ".join(f"{detail.field}: {detail.message}" for detail in details[:3])
    if len(details) > 3:
        summary += f"; and {len(details) - 3} more"
    return error_response(422, "validation_error", summary, details)


def _refusal(status: int, body: ErrorResponse) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": body.model_dump_json(exclude_none=True),
        "isBase64Encoded": False,
    }


def _nests_deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists and objects more than ``limit`` levels deep (without recursing)."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                if depth == limit:
                    return True
                pending.append((child, depth + 1))
    return False


def _json_body(text: str) -> Any:
    """The body's JSON; nesting too deep is a JSONDecodeError, which Powertools reports as invalid JSON."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError(_TOO_DEEP, text, 0) from None
    if isinstance(value, (dict, list)) and _nests_deeper_than(value, MAX_JSON_DEPTH):
        raise json.JSONDecodeError(_TOO_DEEP, text, 0)
    return value


def _body_bytes(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4  # within two bytes, without decoding it
    # surrogatepass: a lone surrogate in the body is counted here and refused by validation.
    return len(body.encode("utf-8", "surrogatepass"))


def _too_large(event: dict[str, Any]) -> dict[str, Any] | None:
    """A body over the limit could have been refused by Lambda before reaching any function (its event over
    6 MB): refuse every such body, so the limit does not depend on the body's content."""
    size = _body_bytes(event)
    if size <= MAX_REQUEST_BODY_BYTES:
        return None
    limit = f"at most {MAX_REQUEST_BODY_BYTES:,} bytes (5 MiB)"
    body = ErrorResponse(
        error="request_too_large",
        message=f"The request body is {size:,} bytes; the API accepts {limit}. For a bigger job, upload its "
        "manifest (POST /api/v1/batch/uploads, then manifest_upload; netremedy submit does it by itself), or "
        "drop one under the drop prefix (S3 config drops)",
        details=[ErrorDetail(field="body", message=f"must be {limit}")],
    )
    return _refusal(413, body)


def _unreadable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """API Gateway base64-encodes a body that is not UTF-8 text: that can never be JSON."""
    if not event.get("isBase64Encoded") or not event.get("body"):
        return None
    try:
        base64.b64decode(event["body"]).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return _refusal(
            400, ErrorResponse(error="invalid_json", message="The request body is not UTF-8 JSON")
        )
    return None


def _unsupported_media_type(event: dict[str, Any]) -> dict[str, Any] | None:
    """Bodies must be JSON. Without this, Powertools would read a form-encoded body as form fields."""
    if not event.get("body"):
        return None
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        return None
    body = ErrorResponse(
        error="unsupported_media_type",
        message=f"Content-Type {content_type!r} is not supported; send the body as application/json",
        details=[ErrorDetail(field="headers.content-type", message="must be application/json")],
    )
    return _refusal(415, body)


def _no_job(exc: JobNotFoundError) -> Response[str]:
    return error_response(404, "job_not_found", f"No job with id {exc.args[0]!r}")


def _bad_token(exc: InvalidPageTokenError) -> Response[str]:
    return error_response(
        400, "invalid_next_token", str(exc), [ErrorDetail(field="next_token", message=str(exc))]
    )


def _no_device(exc: DeviceNotFoundError) -> Response[str]:
    return error_response(404, "device_not_found", str(exc))


def _result_expired(exc: ResultExpiredError) -> Response[str]:
    return error_response(410, "result_expired", str(exc))


def _bundle_not_ready(exc: BundleNotReadyError) -> Response[str]:
    return error_response(409, "bundle_not_ready", str(exc))


def _report_not_ready(exc: ReportNotReadyError) -> Response[str]:
    return error_response(409, "report_not_ready", str(exc))


def _finished(exc: JobFinishedError) -> Response[str]:
    return error_response(409, "job_finished", str(exc))


def _key_reused(exc: IdempotencyValidationError) -> Response[str]:
    detail = ErrorDetail(
        field="headers.idempotency-key", message="already used with a different request body"
    )
    return error_response(
        422,
        "idempotency_key_reused",
        "This Idempotency-Key was used for another request body; use a new key for a new request",
        [detail],
    )


def _key_in_progress(exc: IdempotencyAlreadyInProgressError) -> Response[str]:
    return error_response(
        409,
        "request_in_progress",
        "A request with this Idempotency-Key is still being processed; retry shortly",
    )


def _not_submitted(exc: JobSubmissionError) -> Response[str]:
    return error_response(
        503, "job_not_started", f"The job could not be started: {exc}; please retry", job_id=exc.job_id
    )


def _no_route(exc: NotFoundError) -> Response[str]:
    return error_response(404, "not_found", "No such API route")


def _unexpected(exc: Exception) -> Response[str]:
    # The type only: exception text can quote request content.
    logger.error("unhandled error", extra={"error_type": exc.__class__.__name__})
    return error_response(500, "internal_error", "Internal error; the request was not completed")


# The one map from errors to HTTP responses; Exception last, as the catch-all.
_ERROR_RESPONSES: tuple[tuple[type[Exception], Callable[[Any], Response[str]]], ...] = (
    (RequestValidationError, _validation_failed),
    (JobNotFoundError, _no_job),
    (InvalidPageTokenError, _bad_token),
    (DeviceNotFoundError, _no_device),
    (ResultExpiredError, _result_expired),
    (BundleNotReadyError, _bundle_not_ready),
    (ReportNotReadyError, _report_not_ready),
    (JobFinishedError, _finished),
    (IdempotencyValidationError, _key_reused),
    (IdempotencyAlreadyInProgressError, _key_in_progress),
    (JobSubmissionError, _not_submitted),
    (Exception, _unexpected),
)


def new_router() -> Router:
    """Powertools' Router, typed (its constructor carries no annotations)."""
    return Router()


def build_handler(router: Router) -> LambdaHandler:
    """A Lambda handler that serves ``router``'s routes, with validation and JSON errors."""
    app = APIGatewayRestResolver(
        enable_validation=True, serializer=response_json, json_body_deserializer=_json_body
    )
    app.include_router(router)
    for error_class, respond in _ERROR_RESPONSES:
        app.exception_handler(error_class)(respond)
    app.not_found(_no_route)

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        refusal = _too_large(event) or _unsupported_media_type(event) or _unreadable_body(event)
        if refusal is not None:
            return refusal
        return app.resolve(event, context)

    return handler
