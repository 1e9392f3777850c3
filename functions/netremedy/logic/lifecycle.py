"""A job's life: its states, the one table of which state may follow which, and the one way a job ends.

    pending --(a device counted)--> running --(every device counted)--> completed
       |                               |
       +------> failed | cancelled <---+

``pending`` and ``running`` are open; ``completed``, ``failed`` and ``cancelled`` are terminal: nothing follows
them. Every writer changes a job's state through this module, and the DynamoDB condition of each such write
takes its allowed source states from ``TRANSITIONS`` (the dal gets them as arguments):

- counting (``logic.counting``, for the worker, the dead-letter consumer and the sweeper) makes a job running
  with each commit (``COUNTING_SOURCES``), then ``end_job(..., "completed")`` once every device is counted;
- ``end_job(..., "failed", reason)`` when the POST or the fan-out function could not queue the devices, or the
  sweeper finds the job's device list gone; ``end_job(..., "cancelled")`` for DELETE.

**Close first, then the winner announces.** The close is one conditional update, so exactly one writer
wins; only that writer announces the end on the finalize queue (write-back and JobCompleted). A crash between
the two loses the announcement, so:

- the worker and the dead-letter consumer let a failed announcement raise (``strict_announce``): their batch
  is delivered again, and a redelivered batch that finds its job already completed, with none of that job's
  devices in the batch new (every one a duplicate), announces it again. The finalizer is idempotent: with
  summary.json present, nothing is written back twice;
- cancel, fail and the sweeper log a failed announcement: the job's state is already right, and nothing
  would come back to announce it again.

**A state readers have seen as terminal never changes.** Readers call a job whose devices are all counted
``completed`` (``effective_status``) even before its close. So failing or cancelling a job reads it and
conditions the close on the counters read (some device still uncounted); a job found all counted is
completed instead, and a lost race (a device counted meanwhile) reads again.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, get_args

from netremedy.dal import job_events, job_table
from netremedy.dal.clients import error_code
from netremedy.logic.clock import iso, utc_now
from netremedy.models.items import JobItem, JobState
from netremedy.models.settings import ServiceSettings
from netremedy.observability import logger

STATES: Final[tuple[JobState, ...]] = get_args(JobState)
_NOTHING: frozenset[JobState] = frozenset()
# The one table: the states each state may change to.
TRANSITIONS: Final[Mapping[JobState, frozenset[JobState]]] = MappingProxyType(
    {
        "pending": frozenset({"running", "failed", "cancelled"}),
        "running": frozenset({"completed", "failed", "cancelled"}),
        "completed": _NOTHING,
        "failed": _NOTHING,
        "cancelled": _NOTHING,
    }
)
OPEN_STATES: Final = frozenset(state for state in STATES if TRANSITIONS[state])
TERMINAL_STATES: Final = frozenset(state for state in STATES if not TRANSITIONS[state])


def can_change(source: JobState, target: JobState) -> bool:
    return target in TRANSITIONS[source]


def sources(target: JobState) -> tuple[JobState, ...]:
    """The states a job may change to ``target`` from, in the order of ``STATES``."""
    return tuple(state for state in STATES if can_change(state, target))


# A counted device makes its job running: from every state that may become running, or running already.
COUNTING_STATE: Final[JobState] = "running"
COUNTING_SOURCES: Final = (*sources(COUNTING_STATE), COUNTING_STATE)


def all_counted(job: JobItem) -> bool:
    # A job started from an upload has no total until its manifest is read: nothing is counted before.
    if job.total_devices is None:
        return False
    return job.completed_devices + job.failed_devices >= job.total_devices


def effective_status(job: JobItem) -> JobState:
    """The status readers see: an open job whose devices are all counted is completed, closed or not yet (the
    worker that counted its last device closes it next, or that worker's redelivered batch does)."""
    if job.status in OPEN_STATES and all_counted(job):
        return "completed"
    return job.status


def end_job(
    settings: ServiceSettings,
    job_id: str,
    to: JobState,
    reason: str | None = None,
    *,
    strict_announce: bool = False,
) -> bool:
    """End an open job as ``to`` and announce it; True only for the call that ended it so.

    ``completed`` happens once every device is counted (else False). ``failed`` (``reason`` says why) and
    ``cancelled`` happen while some device is not: a job found all counted is completed instead (announced
    by this call if it closed it) and False is returned, as for a job that had already ended or is gone.
    With ``strict_announce`` a failed announcement raises instead of being logged.
    """
    if to not in TERMINAL_STATES:
        raise ValueError(f"a job does not end as {to}")
    while True:
        job = job_table.get_job(settings.table_name, job_id)
        if job is None or job.status in TERMINAL_STATES:
            return False
        if all_counted(job):
            closed = _close(settings, job_id, "completed")
            if closed:
                _announce(settings, job_id, strict=strict_announce)
            return closed and to == "completed"
        if to == "completed":
            return False
        if _close(settings, job_id, to, counters=(job.completed_devices, job.failed_devices), error=reason):
            _announce(settings, job_id, strict=strict_announce)
            return True
        # Lost a race: a device was counted, or another writer ended the job, since the read.


def announce_again_if_completed(settings: ServiceSettings, job_id: str) -> bool:
    """Announce a completed job's end again, for a redelivered batch whose devices of the job were all counted
    before (its announcement may be what a crash lost); True if it did. A failure raises, for the next
    redelivery to try again."""
    job = job_table.get_job(settings.table_name, job_id)
    if job is None or job.status != "completed":
        return False
    job_events.announce_ended(settings.finalize_queue_url, job_id)
    return True


def _close(
    settings: ServiceSettings,
    job_id: str,
    to: JobState,
    *,
    counters: tuple[int, int] | None = None,
    error: str | None = None,
) -> bool:
    return job_table.close_job(
        settings.table_name,
        job_id,
        to,
        iso(utc_now()),
        from_states=sources(to),
        counters=counters,
        error=error,
    )


def _announce(settings: ServiceSettings, job_id: str, *, strict: bool) -> None:
    try:
        job_events.announce_ended(settings.finalize_queue_url, job_id)
    except Exception as exc:
        if strict:
            raise
        logger.error("job end not announced", extra={"job_id": job_id, "error_type": error_code(exc)})
