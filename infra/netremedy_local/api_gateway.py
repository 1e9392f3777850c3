"""The local API Gateway's routing and events: which template function a request goes to, and the REST API
Lambda proxy (payload 1.0) event API Gateway would send it. The HTTP server itself is ``http_front``."""

import base64
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from netremedy_local import iam
from netremedy_local.runtime import Handler, LocalLambdaContext
from netremedy_local.template import LOCAL_ACCOUNT_ID, FunctionSpec, RouteSpec

# Locally there is no SigV4: this header stands in for the IAM principal API Gateway would have verified.
CALLER_HEADER = "x-netremedy-caller"
# A plain name is an IAM user of the local account; the characters and length are IAM's for user names.
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
_NAME = r"[A-Za-z0-9+=,.@_-]"
# IAM paths (/ops/, /division/team/) may hold any printable ASCII; they are part of a user's ARN.
_PATH = r"(?:[!-.0-~]+/)*"
# The principal ARNs API Gateway's IAM authorizer reports as identity.userArn (a role too, for callers that
# want to name the owner directly). Nothing else is a caller: no wildcard, no other service's ARN.
_PRINCIPAL_ARN = re.compile(
    rf"^arn:aws(?:-[a-z]+)*:(?:iam::[0-9]{{1,12}}:(?:root|(?:user|role)/{_PATH}{_NAME}{{1,64}})"
    rf"|sts::[0-9]{{1,12}}:(?:assumed-role/{_NAME}{{1,64}}/{_NAME}{{1,64}}|federated-user/{_NAME}{{2,32}}))$"
)


class _Route:
    def __init__(self, spec: RouteSpec, function: FunctionSpec, handler: Handler) -> None:
        self.spec = spec
        self.function = function
        self.handler = handler
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(spec.path))
        self.pattern = re.compile(f"^{pattern}$")
        # One Lambda execution environment handles one event at a time; so does this one.
        self.lock = threading.Lock()


def _principal_arn(caller: str) -> str | None:
    """The IAM principal a caller header stands for, or None when it names none (API Gateway's 403)."""
    if _PLAIN_NAME.match(caller):
        return f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:user/{caller}"
    return caller if _PRINCIPAL_ARN.match(caller) else None


def _unique_id(prefix: str, name: str) -> str:
    # IAM's unique ids (AIDA... for users, AROA... for roles): stable per principal, as on AWS.
    digest = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()
    return prefix + digest[:17]


def _identity(arn: str | None, source_ip: str, user_agent: str) -> dict[str, Any]:
    """``requestContext.identity`` of a REST API request, signed by ``arn`` (None: unsigned)."""
    identity: dict[str, Any] = {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": source_ip,
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": user_agent,
        "user": None,
    }
    if arn is None:
        return identity
    _, _, _, _, account, resource = arn.split(":", 5)
    kind, _, name = resource.partition("/")
    if kind == "root":
        caller, key_prefix = account, "AKIA"
    elif kind == "assumed-role":
        role, session = name.split("/")
        caller, key_prefix = f"{_unique_id('AROA', f'{account}:{role}')}:{session}", "ASIA"
    elif kind == "federated-user":
        caller, key_prefix = f"{account}:{name}", "ASIA"
    elif kind == "role":
        caller, key_prefix = _unique_id("AROA", f"{account}:{name.rsplit('/', 1)[-1]}"), "ASIA"
    else:
        caller, key_prefix = _unique_id("AIDA", arn), "AKIA"
    identity.update(
        accountId=account,
        caller=caller,
        user=caller,
        userArn=arn,
        accessKey=_unique_id(key_prefix, arn)[:20],
    )
    return identity


def _query(query: str) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """API Gateway's two views of the query string: the last value of each name, and all of them."""
    multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        multi.setdefault(name, []).append(value)
    if not multi:
        return None, None
    return {name: values[-1] for name, values in multi.items()}, multi


def _forbidden(message: str) -> dict[str, Any]:
    """What API Gateway answers a request whose credentials it refuses."""
    return {
        "statusCode": 403,
        "headers": {"Content-Type": "application/json", "x-amzn-ErrorType": "IncompleteSignatureException"},
        "body": json.dumps({"message": message}),
        "isBase64Encoded": False,
    }


class ApiFront:
    def __init__(
        self, routes: list[tuple[RouteSpec, FunctionSpec, Handler]], region: str, stack_name: str
    ) -> None:
        self.routes = [_Route(*route) for route in routes]
        self.region = region
        self.stack_name = stack_name

    def match(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        for route in self.routes:
            if route.spec.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None

    def event(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        route: _Route,
        path_parameters: dict[str, str],
        source_ip: str,
    ) -> dict[str, Any]:
        """The Lambda proxy integration event of a REST API (payload format 1.0) for this request. Locally
        the URL has no stage prefix; the event says which stage AWS would have served it from."""
        parts = urlsplit(target)
        query, multi_query = _query(parts.query)
        lowered = {name.lower(): value for name, value in headers.items()}
        caller = lowered.get(CALLER_HEADER)
        now = time.time()
        host = lowered.get("host", "localhost")
        try:
            text, is_base64 = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode("ascii"), True
        stage = route.spec.stage
        return {
            "resource": route.spec.path,
            "path": parts.path,
            "httpMethod": method,
            # REST APIs keep the header names as the client sent them.
            "headers": dict(headers),
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": hashlib.sha256(route.spec.path.encode()).hexdigest()[:6],
                "resourcePath": route.spec.path,
                "httpMethod": method,
                "extendedRequestId": base64.b64encode(secrets.token_bytes(10)).decode("ascii"),
                "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "path": f"/{stage}{parts.path}",
                "accountId": LOCAL_ACCOUNT_ID,
                "protocol": "HTTP/1.1",
                "stage": stage,
                "domainPrefix": host.split(".", 1)[0],
                "requestTimeEpoch": int(now * 1000),
                "requestId": str(uuid.uuid4()),
                "identity": _identity(
                    _principal_arn(caller) if caller else None, source_ip, lowered.get("user-agent", "")
                ),
                "domainName": host,
                "apiId": "local",
            },
            "body": text if body else None,
            "isBase64Encoded": is_base64,
        }

    def invoke(self, route: _Route, event: dict[str, Any]) -> dict[str, Any]:
        """Run the route's function on the event: its proxy response is what API Gateway answers. A caller
        header that names no principal is refused before the function runs, as bad SigV4 credentials are."""
        headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
        caller = headers.get(CALLER_HEADER)
        if caller and _principal_arn(caller) is None:
            return _forbidden(
                f"{CALLER_HEADER} must be an IAM principal ARN (user, role, root, assumed-role or "
                "federated-user) or a name of 1-64 letters, digits and +=,.@_- characters"
            )
        context = LocalLambdaContext(route.function, self.region, self.stack_name)
        with route.lock, iam.invoking(route.function.logical_id):
            result: dict[str, Any] = route.handler(event, context)
        return result
