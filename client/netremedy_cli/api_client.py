"""HTTP access to the netremedy API: where it is, signing, and every failure mapped to a CliError."""

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from netremedy_cli.auth import SigV4, needs_signing
from netremedy_cli.errors import ApiError, CliError, FieldError

DEFAULT_URL = "http://127.0.0.1:8000"
URL_ENV = "NETREMEDY_URL"
LOCAL_STACK_FILE = Path(".local") / "stack.json"
CALLER_HEADER = "x-netremedy-caller"
# The API's limit on a request body (netremedy.models.api.MAX_REQUEST_BODY_BYTES; the service answers 413
# request_too_large over it), and Lambda's on the event that carries the body as a JSON string (so quotes,
# backslashes and line breaks count twice), with room for the headers and request context around it; the
# local stack enforces both. Checked before sending: a server that refuses a large body mid-upload shows up as
# a reset connection, which would read like an outage, and a refused event as a bare "Request Too Long".
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_EVENT_BYTES = 6 * 1024 * 1024
EVENT_ENVELOPE_BYTES = 16 * 1024
# Devices one POST may carry (netremedy.models.api.MAX_DEVICES_PER_JOB); more go through an upload.
MAX_DEVICES_PER_POST = 10_000
# (connect, read): creating a job of thousands of devices takes tens of seconds on the local stack.
TIMEOUT = (10.0, 300.0)

JsonObject = dict[str, Any]


FROM_FLAG = "from --url"
FROM_ENV = f"from {URL_ENV}"
FROM_STACK_FILE = f"from {LOCAL_STACK_FILE}, the local stack started here"
FROM_DEFAULT = f"the default; set --url or {URL_ENV} for another"


@dataclass(frozen=True)
class ApiLocation:
    url: str
    origin: str  # where the URL came from, one of the FROM_* phrases, to tell the user


def locate_api(
    explicit: str | None, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> ApiLocation:
    """--url, else $NETREMEDY_URL, else the API of the local stack started here (``make serve``), else the
    local stack's default address. Never another address: no port is probed, so a command cannot end up
    talking to some other stack that happens to answer."""
    environ = os.environ if environ is None else environ
    candidates = (
        (explicit, FROM_FLAG),
        (environ.get(URL_ENV), FROM_ENV),
        (_local_stack_url(cwd or Path.cwd()), FROM_STACK_FILE),
        (DEFAULT_URL, FROM_DEFAULT),
    )
    url, origin = next((url, origin) for url, origin in candidates if url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(f"invalid API URL {url!r} ({origin}): expected http(s)://host[:port]")
    return ApiLocation(url.rstrip("/"), origin)


def _local_stack_url(cwd: Path) -> str | None:
    """``api_url`` of ``.local/stack.json``; a stale or half-written file is ignored, not an error."""
    try:
        description = json.loads((cwd / LOCAL_STACK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    url = description.get("api_url") if isinstance(description, dict) else None
    return url if isinstance(url, str) and url else None


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1", "0.0.0.0")


class ApiClient:
    """The API's calls the CLI needs, each returning the decoded JSON body or raising CliError."""

    def __init__(
        self,
        base_url: str,
        *,
        caller: str | None = None,
        sigv4: bool = False,
        session: requests.Session | None = None,
        origin: str = FROM_FLAG,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.origin = origin
        self.session = session or requests.Session()
        # Reading a job is safe to repeat: ride out a dropped connection or a 502/503/504 while polling.
        # Connection refusals are not retried so a stopped server is reported at once.
        retry = Retry(
            total=3,
            connect=0,
            read=2,
            status=2,
            backoff_factor=0.5,
            allowed_methods={"GET"},
            status_forcelist=(502, 503, 504),
            raise_on_status=False,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        if caller:
            self.session.headers[CALLER_HEADER] = caller
        self.auth = SigV4.from_environment(self.base_url) if needs_signing(self.base_url, sigv4) else None

    def submit(self, body: JsonObject, idempotency_key: str | None = None) -> JsonObject:
        """POST /api/v1/batch/remediation: creates the job, answers ``{job_id, total_devices}``."""
        headers = {"Content-Type": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return self._call("POST", "/api/v1/batch/remediation", data=self._encode(body), headers=headers)

    def status(self, job_id: str) -> JsonObject:
        """GET /api/v1/batch/jobs/{id}: status, progress and counters."""
        return self._call("GET", f"/api/v1/batch/jobs/{_segment(job_id)}")

    def results(self, job_id: str, page_size: int | None = None) -> JsonObject:
        """Every result of the job, following ``next_token`` page after page, as one body
        ``{job_id, status, results, summary}``. Status and summary are the first page's: pages are ordered by
        device_id, so a device finishing while later pages are read may be missing from the earlier ones, and
        a first page that says ``completed`` is the only proof that every result is final."""
        first = self.results_page(job_id, limit=page_size)
        results = list(first["results"])
        token = first.get("next_token")
        seen: set[str] = set()
        while token:
            if token in seen:  # a server answering the same token again would keep us here forever
                raise CliError(f"the API repeated the results page token {token!r} of job {job_id}")
            seen.add(token)
            page = self.results_page(job_id, next_token=token, limit=page_size)
            results.extend(page["results"])
            token = page.get("next_token")
        return {
            "job_id": first["job_id"],
            "status": first["status"],
            "results": results,
            "summary": first["summary"],
        }

    def results_page(
        self, job_id: str, next_token: str | None = None, limit: int | None = None
    ) -> JsonObject:
        """GET /api/v1/batch/jobs/{id}/results: one page of per-device results, a summary and
        ``next_token`` (null on the last page)."""
        query = {"limit": limit, "next_token": next_token}
        body = self._call("GET", f"/api/v1/batch/jobs/{_segment(job_id)}/results", query=query)
        if not isinstance(body.get("results"), list):
            raise CliError(f"unexpected results page for job {job_id}: no results list")
        body["results"] = [self._inline(item) if isinstance(item, dict) else item for item in body["results"]]
        return body

    def device_result(self, job_id: str, device_id: str) -> JsonObject:
        """GET /api/v1/batch/jobs/{id}/results/{device_id}: one device's result (404 while it has none)."""
        return self._inline(
            self._call(
                "GET", f"/api/v1/batch/jobs/{_segment(job_id)}/results/{_segment(device_id, 'device id')}"
            )
        )

    def _inline(self, result: JsonObject) -> JsonObject:
        """A result too large for an API response carries ``output_url`` instead of its outputs: the result
        with the outputs read from that link, as if it had been returned inline."""
        url = result.get("output_url")
        if not isinstance(url, str):
            return result
        device = result.get("device_id")
        try:
            # Pre-signed: the URL is its own authorization (no SigV4 signature, no caller header).
            response = self.session.get(url, headers={CALLER_HEADER: None}, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise CliError(f"cannot download the outputs of device {device!r}: {exc}") from None
        if response.status_code != 200:
            raise CliError(
                f"cannot download the outputs of device {device!r}: HTTP {response.status_code} from S3 (the "
                "link is valid for an hour: read the results again for a new one)"
            )
        try:
            outputs = response.json()
        except ValueError:
            outputs = None
        if not isinstance(outputs, dict):
            raise CliError(f"the outputs of device {device!r} are not a JSON object")
        inline = {name: value for name, value in result.items() if name not in ("output_url", "expires_in")}
        return inline | outputs

    def report(self, job_id: str, min_devices: int | None = None, limit: int | None = None) -> JsonObject:
        """GET /api/v1/batch/jobs/{id}/report: the remediation lines the job's devices have in common."""
        return self._call(
            "GET",
            f"/api/v1/batch/jobs/{_segment(job_id)}/report",
            query={"min_devices": min_devices, "limit": limit},
        )

    def report_html(self, job_id: str) -> bytes:
        """GET /api/v1/batch/jobs/{id}/report.html: the job's HTML report, downloaded from the pre-signed link
        the route redirects to (its body holds the link too; the redirect is not followed, so no signature or
        caller header goes to S3)."""
        link = self._call("GET", f"/api/v1/batch/jobs/{_segment(job_id)}/report.html", allow_redirects=False)
        url = link.get("url")
        if not isinstance(url, str):
            raise CliError(f"unexpected answer for the HTML report of job {job_id}: no url")
        try:
            response = self.session.get(url, headers={CALLER_HEADER: None}, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise CliError(f"cannot download the HTML report of job {job_id}: {exc}") from None
        if response.status_code != 200:
            raise CliError(
                f"cannot download the HTML report of job {job_id}: HTTP {response.status_code} from S3"
            )
        return response.content

    def platforms(self) -> JsonObject:
        """GET /api/v1/platforms: ``{"platforms": [{name, support, driver, ...}]}``."""
        return self._call("GET", "/api/v1/platforms")

    def remediate_one(self, body: JsonObject) -> JsonObject:
        """POST /api/v1/remediation: one device computed now; answers its result (success or failed)."""
        return self._call(
            "POST",
            "/api/v1/remediation",
            data=self._encode(body),
            headers={"Content-Type": "application/json"},
        )

    def jobs_page(
        self,
        *,
        status: str | None = None,
        owner: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> JsonObject:
        """GET /api/v1/batch/jobs: ``{"jobs": [...], "next_token"}``, the caller's jobs newest first."""
        query = {"status": status, "owner": owner, "limit": limit, "next_token": next_token}
        body = self._call("GET", "/api/v1/batch/jobs", query=query)
        if not isinstance(body.get("jobs"), list):
            raise CliError("unexpected job listing: no jobs list; is the API older than `netremedy jobs`?")
        return body

    # --- big jobs: a manifest uploaded to S3 first, then a job started from it ---------------------------

    @staticmethod
    def fits_one_post(body: JsonObject) -> bool:
        """Whether the body can go as it is in one POST: within the request and event limits and
        MAX_DEVICES_PER_POST devices; a bigger job goes through an upload (``submit_by_upload``)."""
        if len(body.get("device_configs") or []) > MAX_DEVICES_PER_POST:
            return False
        try:
            ApiClient._encode(body)
        except CliError:
            return False
        return True

    def submit_by_upload(
        self, body: JsonObject, idempotency_key: str | None = None
    ) -> tuple[JsonObject, int]:
        """Upload the devices as a JSON Lines manifest through ``POST /api/v1/batch/uploads``, then start one
        job from it (``{"manifest_upload": id}`` with the body's options); answers the created job and the
        manifest's size in bytes."""
        manifest = b"".join(
            json.dumps(device, ensure_ascii=False).encode("utf-8") + b"\n"
            for device in body["device_configs"]
        )
        form = self._call(
            "POST",
            "/api/v1/batch/uploads",
            data=json.dumps({"format": "jsonl"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        if len(manifest) > int(form["max_bytes"]):
            raise CliError(
                f"the devices make a {len(manifest):,}-byte manifest; an upload takes at most "
                f"{int(form['max_bytes']):,}: split the devices into several jobs"
            )
        self._upload(str(form["url"]), form["fields"], manifest)
        start = {name: value for name, value in body.items() if name != "device_configs"}
        start["manifest_upload"] = form["upload_id"]
        return self.submit(start, idempotency_key), len(manifest)

    @staticmethod
    def _upload(url: str, fields: Mapping[str, str], manifest: bytes) -> None:
        # A plain request, not this session's: the form carries its own signature, and the caller header
        # or SigV4 is for the API, not for S3.
        try:
            response = requests.post(
                url, data=dict(fields), files={"file": ("manifest.jsonl", manifest)}, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            raise CliError(f"the manifest upload to {urlsplit(url).netloc} failed: {exc}") from None
        if response.status_code not in (200, 201, 204):
            code = re.search(r"<Code>([^<]*)</Code>", response.text)
            message = re.search(r"<Message>([^<]*)</Message>", response.text)
            raise CliError(
                f"S3 refused the manifest upload ({response.status_code} "
                f"{code.group(1) if code else response.reason}): {message.group(1) if message else 'no message'}"
            )

    def _unreachable_hint(self) -> str:
        """What to do when nothing answers, by where the URL came from."""
        if self.origin == FROM_STACK_FILE:
            return (
                f"{FROM_STACK_FILE}, which no longer answers: start it again with `make serve`, or remove "
                f"{LOCAL_STACK_FILE} and give --url"
            )
        advice = "is `make serve` running?" if _is_loopback(self.base_url) else "check --url and network"
        return advice if self.origin == FROM_FLAG else f"{self.origin}; {advice}"

    @staticmethod
    def _encode(body: JsonObject) -> bytes:
        text = json.dumps(body, ensure_ascii=False)
        data = text.encode("utf-8")
        if len(data) > MAX_BODY_BYTES:
            raise CliError(
                f"the request is {len(data):,} bytes; the API accepts at most {MAX_BODY_BYTES:,} (5 MiB): "
                "split the devices into several jobs, or drop them in S3"
            )
        event_bytes = len(json.dumps(text, ensure_ascii=False).encode("utf-8")) + EVENT_ENVELOPE_BYTES
        if event_bytes > MAX_EVENT_BYTES:
            raise CliError(
                f"the request's Lambda event would be about {event_bytes:,} bytes (the body as a JSON string, "
                f"where quotes, backslashes and line breaks count twice); Lambda accepts at most "
                f"{MAX_EVENT_BYTES:,}: split the devices into several jobs, or drop them in S3"
            )
        return data

    def _call(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: Mapping[str, str | int | None] | None = None,
        allow_redirects: bool = True,
    ) -> JsonObject:
        url = self.base_url + path + _query_string(query or {})
        try:
            response = self.session.request(
                method,
                url,
                data=data,
                headers=headers,
                auth=self.auth,
                timeout=TIMEOUT,
                allow_redirects=allow_redirects,
            )
        except requests.Timeout:
            raise CliError(f"{self.base_url} did not answer within {TIMEOUT[1]:.0f} s") from None
        except requests.ConnectionError:
            raise CliError(f"cannot reach {self.base_url} ({self._unreachable_hint()})") from None
        except requests.RequestException as exc:
            raise CliError(f"request to {url} failed: {exc}") from None
        if response.status_code >= 400:
            raise error_from_response(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise CliError(
                f"unexpected answer from {url} (HTTP {response.status_code}): not a JSON object; "
                "is --url the netremedy API?"
            )
        return body


def _segment(value: str, what: str = "job id") -> str:
    """Job ids are UUIDs and device ids letters, digits, '.', '_', '-': refuse anything that would change the
    path instead of quoting it silently."""
    if not value or any(char in value for char in "/?#%") or value.strip() != value or value in (".", ".."):
        raise CliError(f"invalid {what} {value!r}")
    return value


def _query_string(query: Mapping[str, str | int | None]) -> str:
    """``?a=1&b=2`` of the parameters that are set, sorted and percent-encoded as SigV4's canonical query
    string is (RFC 3986 unreserved characters left as they are), so the signed URL is the URL sent."""
    pairs = sorted((name, str(value)) for name, value in query.items() if value is not None)
    if not pairs:
        return ""
    return "?" + "&".join(f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}" for name, value in pairs)


def error_from_response(response: requests.Response) -> ApiError:
    """The API's error body, or API Gateway's own ``{"message": ...}`` (403 on a bad signature, ...)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        snippet = " ".join(response.text.split())[:200] or response.reason or "no body"
        return ApiError(status, "http_error", f"HTTP {status} from {response.url}: {snippet}")
    details = [
        FieldError(str(item.get("field", "")), _tidy(str(item.get("message", ""))))
        for item in body.get("details") or []
        if isinstance(item, dict)
    ]
    message = _tidy(body["message"]) if "error" in body else f"HTTP {status}: {body['message']}"
    if isinstance(body.get("job_id"), str):
        message += f" (job {body['job_id']} is recorded as failed)"
    return ApiError(status, str(body.get("error", "http_error")), message, details)


def _tidy(message: str) -> str:
    """pydantic prefixes a custom validator's message with "Value error, ": noise to whoever reads it."""
    return message.replace(": Value error, ", ": ").removeprefix("Value error, ")
