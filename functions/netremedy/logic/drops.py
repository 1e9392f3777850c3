"""S3 config drops: a manifest under the drop prefix starts a job; its outcome is written next to it.

``incoming/x.json`` (prefix ``settings.drop_prefix``) leads to ``accepted/x.json`` naming the job, or to
``errors/x.json`` saying why the manifest was refused (then no job exists and nothing is lost: fix the
manifest and upload it again). The same upload (key and ETag) delivered twice starts one job.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from netremedy.dal import blob_store, job_table
from netremedy.logic.clock import expiry_epoch, iso, utc_now
from netremedy.logic.jobs import ACCOUNT_OWNER, new_job_id, start_job
from netremedy.models.api import MAX_CONFIG_BYTES
from netremedy.models.drops import MAX_MANIFEST_BYTES, DropManifest
from netremedy.models.object_keys import accepted_key, errors_key, results_prefix
from netremedy.models.settings import ServiceSettings

_FETCHERS = 16


class DropRefusedError(Exception):
    def __init__(self, message: str, details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


@dataclass(frozen=True)
class DropOutcome:
    outcome: Literal["accepted", "duplicate", "refused", "ignored"]
    job_id: str | None = None
    marker_key: str | None = None


def _validation_details(exc: ValidationError) -> list[dict[str, str]]:
    details = []
    for error in exc.errors()[:20]:
        path = ""
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        details.append({"field": path or "manifest", "message": error["msg"]})
    return details


def _read_manifest(settings: ServiceSettings, bucket: str, key: str) -> DropManifest:
    try:
        text = blob_store.get_text(bucket, key, MAX_MANIFEST_BYTES)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DropRefusedError(f"the manifest cannot be read as UTF-8 JSON text: {exc}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise DropRefusedError(f"the manifest is not valid JSON ({exc})") from None
    except RecursionError:
        # Refused at once: it would fail the same way on every retry of the drop.
        raise DropRefusedError(
            "the manifest is not valid JSON for this service: it is nested too deeply to read"
        ) from None
    try:
        return DropManifest.model_validate(document)
    except ValidationError as exc:
        details = _validation_details(exc)
        raise DropRefusedError(
            f"the manifest does not match the batch schema ({len(exc.errors())} problem(s))", details
        ) from None


def _fetch_referenced(bucket: str, manifest: DropManifest) -> dict[str, str]:
    keys = sorted({key for device in manifest.device_configs for key in device.config_keys()})
    texts: dict[str, str] = {}
    missing: list[str] = []
    unreadable: list[str] = []

    def fetch(key: str) -> None:
        try:
            texts[key] = blob_store.get_text(bucket, key, MAX_CONFIG_BYTES)
        except (ValueError, UnicodeDecodeError):
            unreadable.append(key)
        except Exception as exc:
            if not blob_store.is_missing(exc):
                raise
            missing.append(key)

    with ThreadPoolExecutor(max_workers=_FETCHERS) as pool:
        list(pool.map(fetch, keys))
    if missing or unreadable:
        details = [{"field": key, "message": "no such object in the bucket"} for key in sorted(missing)[:20]]
        details += [
            {"field": key, "message": f"not UTF-8 text, or over {MAX_CONFIG_BYTES} bytes"}
            for key in sorted(unreadable)[:20]
        ]
        raise DropRefusedError(
            f"{len(missing)} referenced config object(s) are missing and {len(unreadable)} unreadable",
            details,
        )
    return texts


def start_dropped_job(settings: ServiceSettings, bucket: str, key: str, etag: str) -> DropOutcome:
    if not key.startswith(settings.drop_prefix) or key.endswith("/"):
        return DropOutcome("ignored")
    name = key.removeprefix(settings.drop_prefix)
    source = f"s3://{bucket}/{key}"
    now = utc_now()
    job_id, first = job_table.claim_drop(
        settings.table_name, source, etag, new_job_id(), expiry_epoch(now, settings.job_ttl_days)
    )
    accepted, refused_key = accepted_key(name), errors_key(name)
    if not first and (
        job_table.get_job(settings.table_name, job_id) is not None or blob_store.exists(bucket, refused_key)
    ):
        return DropOutcome("duplicate", job_id)
    try:
        manifest = _read_manifest(settings, bucket, key)
        texts = _fetch_referenced(bucket, manifest)
        try:
            devices = [device.resolve(texts) for device in manifest.device_configs]
        except ValidationError as exc:
            raise DropRefusedError(
                "a device's configuration is not acceptable", _validation_details(exc)
            ) from None
    except DropRefusedError as refused:
        document: dict[str, Any] = {
            "source": source,
            "etag": etag,
            "error": str(refused),
            "details": refused.details,
            "refused_at": iso(utc_now()),
        }
        blob_store.put_json(bucket, refused_key, document)
        return DropOutcome("refused", marker_key=refused_key)
    # The drop function is asynchronous already, with 15 minutes: it queues the devices itself.
    created = start_job(
        devices,
        manifest.allow_empty_intended,
        settings,
        options=manifest.options,
        owner=ACCOUNT_OWNER,
        source=source,
        job_id=job_id,
        fan_out_now=True,
    )
    blob_store.put_json(
        bucket,
        accepted,
        {
            "job_id": created.job_id,
            "source": source,
            "etag": etag,
            "total_devices": created.total_devices,
            "accepted_at": iso(utc_now()),
            "results_prefix": results_prefix(created.job_id),
        },
    )
    return DropOutcome("accepted", created.job_id, accepted)
