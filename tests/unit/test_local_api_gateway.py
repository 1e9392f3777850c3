"""The local API Gateway builds the REST API Lambda proxy (payload 1.0) event API Gateway sends, and treats the
x-netremedy-caller header as the SigV4 principal: full ARNs as they are, plain names as IAM users of the
local account, anything else refused as API Gateway refuses bad credentials."""

import json
from typing import Any

import pytest

from netremedy_local.api_gateway import ApiFront
from netremedy_local.template import LOCAL_ACCOUNT_ID, FunctionSpec, RouteSpec

ROUTE = RouteSpec("GET", "/api/v1/batch/jobs/{job_id}/results", "JobResultsFunction", "v1")
SEEN: list[dict[str, Any]] = []


def _handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    SEEN.append(event)
    return {"statusCode": 200, "multiValueHeaders": {"Content-Type": ["application/json"]}, "body": "{}"}


def _front() -> ApiFront:
    return ApiFront(
        [(ROUTE, FunctionSpec("JobResultsFunction", "x.y", 29, 512, {}), _handler)], "us-east-1", "t"
    )


def _event(headers: dict[str, str], target: str = "/api/v1/batch/jobs/j1/results") -> dict[str, Any]:
    front = _front()
    matched = front.match("GET", target.split("?")[0])
    assert matched is not None
    route, path_parameters = matched
    return front.event("GET", target, headers, b"", route, path_parameters, "192.0.2.7")


def test_the_event_has_the_rest_api_proxy_shape_with_the_stage_in_the_context_path() -> None:
    # Given a request with a repeated query parameter and mixed-case headers
    event = _event(
        {"Host": "127.0.0.1:8000", "Accept": "application/json"},
        "/api/v1/batch/jobs/j1/results?limit=5&limit=7&next_token=",
    )
    # Then it is the payload 1.0 event of the route's resource, as API Gateway builds it
    assert (event["resource"], event["path"], event["httpMethod"]) == (
        "/api/v1/batch/jobs/{job_id}/results",
        "/api/v1/batch/jobs/j1/results",
        "GET",
    )
    assert event["headers"] == {"Host": "127.0.0.1:8000", "Accept": "application/json"}
    assert event["multiValueHeaders"] == {"Host": ["127.0.0.1:8000"], "Accept": ["application/json"]}
    # The single-value map keeps the last value of a repeated name, the multi-value map all of them
    assert event["queryStringParameters"] == {"limit": "7", "next_token": ""}
    assert event["multiValueQueryStringParameters"] == {"limit": ["5", "7"], "next_token": [""]}
    assert event["pathParameters"] == {"job_id": "j1"} and event["stageVariables"] is None
    context = event["requestContext"]
    assert (context["resourcePath"], context["httpMethod"], context["stage"]) == (ROUTE.path, "GET", "v1")
    assert context["path"] == "/v1/api/v1/batch/jobs/j1/results" and context["accountId"] == LOCAL_ACCOUNT_ID
    assert context["identity"]["sourceIp"] == "192.0.2.7" and context["identity"]["userArn"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("header", "user_arn", "caller_prefix"),
    [
        ("alice", f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:user/alice", "AIDA"),
        (
            "arn:aws:sts::123456789012:assumed-role/Ops/a",
            "arn:aws:sts::123456789012:assumed-role/Ops/a",
            "AROA",
        ),
        ("arn:aws:iam::210987654321:user/ops/bob", "arn:aws:iam::210987654321:user/ops/bob", "AIDA"),
        ("arn:aws:iam::210987654321:root", "arn:aws:iam::210987654321:root", "210987654321"),
    ],
)
def test_the_caller_header_becomes_the_signed_identity(
    header: str, user_arn: str, caller_prefix: str
) -> None:
    identity = _event({"x-netremedy-caller": header})["requestContext"]["identity"]
    assert identity["userArn"] == user_arn
    assert identity["accountId"] == user_arn.split(":")[4]
    assert identity["caller"] == identity["user"] and identity["caller"].startswith(caller_prefix)


def test_sessions_of_one_role_share_the_roles_unique_id_as_on_aws() -> None:
    # AWS reports identity.caller as <role id>:<session name>
    first = _event({"x-netremedy-caller": "arn:aws:sts::123456789012:assumed-role/Ops/a"})
    second = _event({"x-netremedy-caller": "arn:aws:sts::123456789012:assumed-role/Ops/b"})
    callers = [event["requestContext"]["identity"]["caller"] for event in (first, second)]
    assert callers[0].split(":")[0] == callers[1].split(":")[0] and [c.split(":")[1] for c in callers] == [
        "a",
        "b",
    ]


@pytest.mark.parametrize(
    "header",
    [
        "*",  # the account-wide owner of S3 drop jobs
        "arn:aws:iam::123456789012:user/*",
        "team#ci",
        "a" * 65,
        "arn:aws:s3:::netremedy-results",
        "arn:aws:sts::123456789012:root",
        "arn:aws:iam::123456789012:group/ops",
    ],
)
def test_a_caller_header_that_names_no_principal_is_refused_before_the_function_runs(header: str) -> None:
    front = _front()
    SEEN.clear()
    event = _event({"X-Netremedy-Caller": header})
    response = front.invoke(front.routes[0], event)
    assert response["statusCode"] == 403 and response["headers"]["Content-Type"] == "application/json"
    assert "x-netremedy-caller" in json.loads(response["body"])["message"]
    assert SEEN == []


def test_a_valid_caller_reaches_the_function_and_its_answer_is_returned() -> None:
    front = _front()
    SEEN.clear()
    event = _event({"x-netremedy-caller": "alice"})
    assert front.invoke(front.routes[0], event)["statusCode"] == 200
    assert SEEN == [event]
