"""Each function under its own execution role on the local stack, with IAM enforced by the emulator.

The stack creates every function's role from the translated template (its inline policies, SAM's policy
templates already expanded, and its managed policies), assumes it as Lambda would, and then turns the
emulator's IAM enforcement on: from then on each request is allowed only if the signer's policies allow it,
and the ``testing`` key every local client signs with is the emulator's administrator.

A poller process runs one function, so its environment holds that role's credentials, as Lambda's does.
The API and scheduled functions share the stack's main process and its cached boto3 clients, so there every
client signs with the credentials of the function whose invocation is running in the current context
(``invoking``): a context variable, copied into the threads a handler starts through a ThreadPoolExecutor.
An AWS call made outside any invocation there fails rather than borrowing someone else's role.
"""

import concurrent.futures
import contextvars
import functools
import json
import os
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
from botocore.credentials import Credentials, ReadOnlyCredentials

from netremedy_local.emulator import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY
from netremedy_local.provision import ResolvedStack
from netremedy_local.template import StackModel

_OFF = ("off", "0", "false", "no")
_ON = ("on", "1", "true", "yes", "")


def enforcement_requested(environ: Mapping[str, str]) -> bool:
    """``LOCAL_IAM``: on unless ``off`` (for debugging a policy-independent problem)."""
    value = environ.get("LOCAL_IAM", "on").strip().lower()
    if value not in _OFF + _ON:
        raise ValueError(f"LOCAL_IAM must be on or off, not {value!r}")
    return value not in _OFF


@dataclass(frozen=True)
class RoleSession:
    """An assumed-role session of one function's execution role."""

    role_arn: str
    access_key_id: str
    secret_access_key: str
    session_token: str

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets in a function's environment for its role."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


def function_roles(model: StackModel) -> dict[str, str]:
    """Each function's execution role, by logical id (``Role: !GetAtt XRole.Arn``, as SAM writes it)."""
    roles = {}
    for function_id in model.functions:
        role = model.resources[function_id]["Properties"]["Role"]
        if not (isinstance(role, dict) and "Fn::GetAtt" in role):
            raise ValueError(
                f"{function_id}: the local stack needs the role as a template resource, not {role!r}"
            )
        roles[function_id] = role["Fn::GetAtt"][0]
    return roles


def role_name(stack_name: str, role_id: str) -> str:
    return f"{stack_name}-{role_id}"[:64]  # IAM's limit; CloudFormation names roles stack-logical id too


def versioned(document: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's policy templates have no Version, which IAM reads as 2008-10-17 (no policy variables, which
    they do not use) and moto refuses; the statements are what counts."""
    return {"Version": "2012-10-17", **document}


def create_role(stack: ResolvedStack, role_id: str, properties: Mapping[str, Any]) -> str:
    """The role as CloudFormation creates it: trust policy, inline policies, managed policies. Its ARN."""
    iam = boto3.client("iam", region_name=stack.region)
    name = role_name(stack.stack_name, role_id)
    resolved = stack.resolve(dict(properties))
    arn: str = iam.create_role(
        RoleName=name,
        Path=resolved.get("Path", "/"),
        AssumeRolePolicyDocument=json.dumps(resolved["AssumeRolePolicyDocument"]),
    )["Role"]["Arn"]
    for policy in resolved.get("Policies", []):
        iam.put_role_policy(
            RoleName=name,
            PolicyName=policy["PolicyName"],
            PolicyDocument=json.dumps(versioned(policy["PolicyDocument"])),
        )
    for policy_arn in resolved.get("ManagedPolicyArns", []):
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return arn


def function_sessions(model: StackModel, stack: ResolvedStack) -> dict[str, RoleSession]:
    """Create every function's role and assume it, as Lambda does for each execution environment."""
    sts = boto3.client("sts", region_name=stack.region)
    roles = function_roles(model)
    arns = {
        role_id: create_role(stack, role_id, model.resources[role_id]["Properties"])
        for role_id in set(roles.values())
    }
    sessions = {}
    for function_id, role_id in roles.items():
        # moto never expires a session, so these keys last as long as the stack (Lambda refreshes its own).
        credentials = sts.assume_role(RoleArn=arns[role_id], RoleSessionName=function_id[:64])["Credentials"]
        sessions[function_id] = RoleSession(
            role_arn=arns[role_id],
            access_key_id=credentials["AccessKeyId"],
            secret_access_key=credentials["SecretAccessKey"],
            session_token=credentials["SessionToken"],
        )
    return sessions


def enforce(endpoint: str) -> None:
    """Turn on the emulator's IAM enforcement for every request from now on (moto's reset-auth)."""
    # Not form-encoded (urllib's default), or the server reads the body as a form and finds no count.
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


# --- signing as the invoking function, in a process shared by several functions ------------------------------

_invoking: contextvars.ContextVar[ReadOnlyCredentials | None] = contextvars.ContextVar(
    "netremedy_local_invoking_function", default=None
)
_sessions: dict[str, ReadOnlyCredentials] = {}


class OutsideInvocationError(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "an AWS call outside any function's invocation in the local stack's API process, where each "
            "function signs as its own role (a thread started without the invocation's context?)"
        )


class _InvokingFunctionCredentials(Credentials):  # type: ignore[misc]  # botocore has no type hints
    """What botocore signs with: the credentials of the function whose invocation runs in this context, asked
    for at each signature (botocore reads them through these properties and ``get_frozen_credentials``)."""

    method = "netremedy-local-function-role"

    def __init__(self) -> None:  # no keys of its own
        pass

    def get_frozen_credentials(self) -> Any:
        current = _invoking.get()
        if current is None:
            raise OutsideInvocationError()
        return current

    @property
    def access_key(self) -> str:
        return str(self.get_frozen_credentials().access_key)

    @property
    def secret_key(self) -> str:
        return str(self.get_frozen_credentials().secret_key)

    @property
    def token(self) -> str | None:
        token: str | None = self.get_frozen_credentials().token
        return token

    @property
    def account_id(self) -> str | None:
        account: str | None = self.get_frozen_credentials().account_id
        return account


def _context_copied(submit: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(submit)
    def submit_in_context(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return submit(self, contextvars.copy_context().run, fn, *args, **kwargs)

    return submit_in_context


def sign_as_invoking_function(sessions: Mapping[str, RoleSession]) -> None:
    """From now on every boto3 client of this process without explicit keys signs as ``invoking`` says."""
    _sessions.update(
        {
            function_id: ReadOnlyCredentials(
                session.access_key_id, session.secret_access_key, session.session_token
            )
            for function_id, session in sessions.items()
        }
    )
    credentials = _InvokingFunctionCredentials()
    botocore.session.Session.get_credentials = lambda self: credentials
    executor = concurrent.futures.ThreadPoolExecutor
    executor.submit = _context_copied(executor.submit)  # type: ignore[method-assign]


@contextmanager
def invoking(function_id: str) -> Iterator[None]:
    """An invocation of ``function_id``: its AWS calls sign as its role (nothing changes with IAM off)."""
    credentials = _sessions.get(function_id)
    if credentials is None:
        yield
        return
    token = _invoking.set(credentials)
    try:
        yield
    finally:
        _invoking.reset(token)


def poller_environment(sessions: Mapping[str, RoleSession], function_id: str) -> dict[str, str]:
    """The role credentials of a poller process running ``function_id`` (none with IAM off)."""
    session = sessions.get(function_id)
    return session.environment() if session else {}


def administrator_environment() -> dict[str, str]:
    """The stack's own identity on the embedded emulator: its administrator (emulator_server)."""
    return {"AWS_ACCESS_KEY_ID": ADMIN_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET_ACCESS_KEY}


def clear_other_credentials(environ: dict[str, str] | os._Environ[str]) -> None:
    """A session token or profile from the developer's shell would make the administrator's key invalid."""
    for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE"):
        environ.pop(name, None)
