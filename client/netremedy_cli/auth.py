"""SigV4 signing for a deployed API: API Gateway's IAM authorizer refuses unsigned requests."""

import re
from urllib.parse import urlsplit

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError
from requests import PreparedRequest
from requests.auth import AuthBase

from netremedy_cli.errors import CliError

SERVICE = "execute-api"
_EXECUTE_API_HOST = re.compile(r"^[^.]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$")
# Headers the signature covers besides Host and the X-Amz-* ones botocore adds. The rest (User-Agent,
# Accept-Encoding, Connection) may be rewritten on the way and are left out of the signature.
_SIGNED_HEADERS = ("content-type", "idempotency-key", "x-netremedy-caller")


def needs_signing(url: str, force: bool = False) -> bool:
    """A deployed API Gateway (``*.amazonaws.com``) always requires SigV4; anything else only on request."""
    host = (urlsplit(url).hostname or "").lower()
    return force or host == "amazonaws.com" or host.endswith(".amazonaws.com")


def region_from_host(url: str) -> str | None:
    """The region of an ``<id>.execute-api.<region>.amazonaws.com`` URL, which must match the signature's."""
    match = _EXECUTE_API_HOST.match((urlsplit(url).hostname or "").lower())
    return match.group(1) if match else None


class SigV4(AuthBase):
    """A requests auth hook signing the exact bytes requests will send, with botocore's signer."""

    def __init__(self, credentials: Credentials, region: str) -> None:
        self.credentials = credentials
        self.region = region

    @classmethod
    def from_environment(cls, url: str) -> "SigV4":
        """Credentials and region from the standard AWS chain (env, profile, SSO, instance role...)."""
        try:
            session = botocore.session.get_session()
            credentials = session.get_credentials()
            region = region_from_host(url) or session.get_config_variable("region")
        except BotoCoreError as exc:
            raise CliError(f"cannot load AWS credentials: {exc}") from None
        if credentials is None:
            raise CliError(
                "no AWS credentials found for SigV4 signing: configure them as for the AWS CLI "
                "(AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, aws sso login, ...)"
            )
        if not region:
            raise CliError(f"cannot tell the AWS region of {url}: set AWS_REGION (or AWS_DEFAULT_REGION)")
        return cls(credentials, region)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        body = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
        headers = {name: value for name, value in request.headers.items() if name.lower() in _SIGNED_HEADERS}
        unsigned = AWSRequest(method=request.method, url=request.url, data=body or b"", headers=headers)
        try:
            frozen = self.credentials.get_frozen_credentials()
        except BotoCoreError as exc:  # a refreshable source (SSO, role) that cannot refresh
            raise CliError(f"cannot refresh AWS credentials: {exc}") from None
        SigV4Auth(frozen, SERVICE, self.region).add_auth(unsigned)
        for name, value in unsigned.headers.items():
            request.headers[name] = value
        return request
