"""Every job ends: jobs still open after their deadline are finished here.

A device whose message was lost (or whose fan-out died half way) never reports. Past the job's deadline,
each device without a result is recorded as failed with the reason, through the same exactly-once commit
as the workers use, so the job completes and the counters stay exact even if a late worker reports too.
"""

from dataclasses import dataclass, field

from netremedy.dal import blob_store, job_table
from netremedy.dal.clients import error_code
from netremedy.logic.clock import iso, utc_now
from netremedy.logic.counting import failed_result, record_results
from netremedy.logic.lifecycle import OPEN_STATES, end_job
from netremedy.models.object_keys import manifest_key
from netremedy.models.settings import ServiceSettings


@dataclass
class SweepReport:
    jobs_finished: list[str] = field(default_factory=list)
    jobs_failed: list[str] = field(default_factory=list)
    devices_failed: int = 0


def missing_device_reason(settings: ServiceSettings) -> str:
    minutes = settings.job_deadline_seconds / 60
    return (
        f"no result within the job's deadline ({minutes:g} minutes): the device's message was lost or never "
        "processed. Submit this device again"
    )


def sweep_overdue_jobs(settings: ServiceSettings) -> SweepReport:
    report = SweepReport()
    for job_id in job_table.overdue_job_ids(settings.table_name, iso(utc_now())):
        job = job_table.get_job(settings.table_name, job_id)
        if job is None or job.status not in OPEN_STATES:
            continue
        try:
            device_ids = blob_store.get_json(settings.bucket_name, manifest_key(job_id))["device_ids"]
        except Exception as exc:  # without its device list the job cannot be carried out at all  # noqa: BLE001
            reason = (
                f"the job's device list could not be read ({error_code(exc)}), so it could not be carried out"
            )
            if end_job(settings, job_id, "failed", reason):
                report.jobs_failed.append(job_id)
            continue
        recorded = {item.device_id for item in job_table.query_device_results(settings.table_name, job_id)}
        reason = missing_device_reason(settings)
        missing = [
            failed_result(settings, job_id, device_id, reason)
            for device_id in device_ids
            if device_id not in recorded
        ]
        # Nothing redelivers a sweep: a failed announcement is logged, not raised (see logic.lifecycle).
        count = record_results(settings, missing, {job_id}, redelivered_on_error=False)
        report.devices_failed += count.recorded
        if job_id in count.jobs_completed:
            report.jobs_finished.append(job_id)
    return report
