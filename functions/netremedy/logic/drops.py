"""S3 config drops: a manifest under the drop prefix starts a job; its outcome is written next to it.

``incoming/x.json`` (prefix ``settings.drop_prefix``) leads to ``accepted/x.json`` naming the job, or to
``errors/x.json`` saying why the manifest was refused (then no job exists and nothing is lost: fix the
manifest and upload it again). Each upload (S3 event) starts at most one job, however often its event is
delivered; writing one marker removes the other, and only the newest upload of a key writes them.
"""

from dataclasses import dataclass
from typing import Any, Literal

from netremedy.dal import blob_store, job_table
from netremedy.dal.job_table import JobExistsError
from netremedy.logic.clock import expiry_epoch, iso, utc_now
from netremedy.logic.jobs import ACCOUNT_OWNER, new_job_id, record_failed_at_start, resume_fan_out, start_job
from netremedy.logic.lifecycle import end_job
from netremedy.logic.manifests import DropRefusedError, load_drop
from netremedy.models.object_keys import accepted_key, errors_key, results_prefix
from netremedy.models.settings import ServiceSettings


@dataclass(frozen=True)
class DropOutcome:
    """``accepted``: a job started; ``resumed``: a redelivery finished a start that died half-way;
    ``duplicate``: this upload's outcome was complete already; ``superseded``: a newer upload of the key is
    known, so this one writes no marker; ``refused``: ``errors/`` says why; ``ignored``: not a drop."""

    outcome: Literal["accepted", "resumed", "duplicate", "superseded", "refused", "ignored"]
    job_id: str | None = None
    marker_key: str | None = None


# S3 sequencers are hex strings of varying length, compared after left-padding the shorter with zeros.
_SEQUENCER_WIDTH = 64


@dataclass(frozen=True)
class DropUpload:
    """One upload of a manifest as its S3 event names it: what tells two uploads apart, even of identical
    bytes, and which of two uploads of a key is the newer.

    S3 gives each PUT a ``sequencer``, greater for a later PUT of the same key, and, in a versioned bucket, a
    ``versionId``. An event without a sequencer (moto leaves it out; the local stack's emulator adds it) is
    ordered by its ``eventTime`` (milliseconds), the ETag telling two uploads of the same millisecond apart.
    One with neither (written by hand) is told apart by its ETag only, and not ordered.
    """

    etag: str
    sequencer: str | None = None
    version_id: str | None = None
    event_time: str | None = None

    @property
    def order(self) -> tuple[str, str] | None:
        """(series, position): positions compare as strings, within one series only."""
        if self.sequencer:
            return "sequencer", self.sequencer.upper().rjust(_SEQUENCER_WIDTH, "0")
        if self.event_time:
            return "event-time", self.event_time
        return None

    @property
    def claim_id(self) -> str:
        if self.sequencer:
            return f"sequencer:{self.sequencer.upper()}:{self.version_id or ''}"
        if self.event_time:
            return f"event-time:{self.event_time}:{self.etag}"
        return f"etag:{self.etag}"

    def describe(self) -> dict[str, str | None]:
        return {
            "etag": self.etag,
            "sequencer": self.sequencer,
            "version_id": self.version_id,
            "event_time": self.event_time,
        }


@dataclass(frozen=True)
class _Drop:
    settings: ServiceSettings
    bucket: str
    key: str
    upload: DropUpload

    @property
    def source(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def accepted(self) -> str:
        return accepted_key(self.key.removeprefix(self.settings.drop_prefix))

    @property
    def refused(self) -> str:
        return errors_key(self.key.removeprefix(self.settings.drop_prefix))

    def expires_at(self) -> int:
        return expiry_epoch(utc_now(), self.settings.job_ttl_days)

    def is_latest(self) -> bool:
        """No newer upload of the key has been seen (this one is recorded as the newest if it is)."""
        order = self.upload.order
        return order is None or job_table.hold_latest_drop(
            self.settings.table_name, self.source, *order, self.expires_at()
        )

    def advance(self, stage: str) -> None:
        job_table.advance_drop(self.settings.table_name, self.source, self.upload.claim_id, stage)

    def write_marker(self, key: str, other: str, document: dict[str, Any]) -> bool:
        """Write this upload's outcome and remove the other kind's; False (nothing written) if a newer upload
        of the key has been seen: its outcome is the current one."""
        if not self.is_latest():
            return False
        blob_store.put_json(self.bucket, key, {"source": self.source, **self.upload.describe(), **document})
        blob_store.delete(self.bucket, other)
        return True


def _start(drop: _Drop, job_id: str, first: bool) -> int | None:
    """Start the job of the upload, or finish the fan-out of a start that died half-way; its device count."""
    drop_read = load_drop(drop.settings, drop.bucket, drop.key)
    if first or job_table.get_job(drop.settings.table_name, job_id) is None:
        try:
            # The drop function is asynchronous already, with 15 minutes: it queues the devices itself.
            return start_job(
                drop_read.devices,
                drop_read.allow_empty_intended,
                drop.settings,
                options=drop_read.options,
                owner=ACCOUNT_OWNER,
                source=drop.source,
                job_id=job_id,
                fan_out_now=True,
                failed=drop_read.failed,
            ).total_devices
        except JobExistsError:  # another delivery of the same event recorded it meanwhile: resume it
            pass
    record_failed_at_start(drop.settings, job_id, drop_read.failed, keep_pending=False)
    resume_fan_out(
        drop.settings, job_id, drop_read.devices, drop_read.allow_empty_intended, drop_read.options
    )
    return drop_read.total_devices


def start_dropped_job(
    settings: ServiceSettings,
    bucket: str,
    key: str,
    etag: str,
    *,
    sequencer: str | None = None,
    version_id: str | None = None,
    event_time: str | None = None,
) -> DropOutcome:
    """Start the job of one upload of a dropped manifest, or finish what an earlier delivery of its event left
    undone.

    The upload's claim moves ``claimed`` -> ``started`` (the job exists, every device queued) -> ``accepted``,
    or ``claimed`` -> ``refused``; each stage is recorded only after its work, so a delivery that dies
    anywhere leaves a stage that its redelivery resumes from.
    """
    if not key.startswith(settings.drop_prefix) or key.endswith("/"):
        return DropOutcome("ignored")
    drop = _Drop(settings, bucket, key, DropUpload(etag, sequencer, version_id, event_time))
    job_id, first = job_table.claim_drop(
        settings.table_name, drop.source, drop.upload.claim_id, new_job_id(), drop.expires_at()
    )
    stage = (
        "claimed" if first else job_table.drop_stage(settings.table_name, drop.source, drop.upload.claim_id)
    )
    if stage == "accepted":
        return DropOutcome("duplicate", job_id, drop.accepted)
    if stage == "refused":
        return DropOutcome("duplicate", None, drop.refused)
    # An older upload's event, delivered late: the newer upload starts its own job and writes the outcome.
    if not drop.is_latest():
        return DropOutcome("superseded", job_id)
    if stage == "started":
        job = job_table.get_job(settings.table_name, job_id)
        total = job.total_devices if job is not None else None
    else:
        try:
            total = _start(drop, job_id, first)
        except DropRefusedError as refused:
            if not first:  # a job whose start died may exist; its inputs are no longer acceptable
                end_job(settings, job_id, "failed", f"the dropped manifest was refused on a retry: {refused}")
            return _refuse(drop, refused)
        drop.advance("started")
    document = {
        "job_id": job_id,
        "total_devices": total,
        "accepted_at": iso(utc_now()),
        "results_prefix": results_prefix(job_id),
    }
    if not drop.write_marker(drop.accepted, drop.refused, document):
        return DropOutcome("superseded", job_id)
    drop.advance("accepted")
    return DropOutcome("accepted" if first else "resumed", job_id, drop.accepted)


def _refuse(drop: _Drop, refused: DropRefusedError) -> DropOutcome:
    document: dict[str, Any] = {
        "error": str(refused),
        "details": refused.details,
        "refused_at": iso(utc_now()),
    }
    if not drop.write_marker(drop.refused, drop.accepted, document):
        return DropOutcome("superseded")
    drop.advance("refused")
    return DropOutcome("refused", marker_key=drop.refused)
