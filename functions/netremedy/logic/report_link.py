"""The download link of a completed job's HTML report (written by logic.html_report on completion).

Apart from logic.html_report so that the API function answering it loads neither Jinja2 nor hier_config.
"""

from netremedy.dal import blob_store
from netremedy.logic.jobs import load_job
from netremedy.logic.lifecycle import effective_status
from netremedy.models.api import REPORT_URL_SECONDS, ReportLinkResponse
from netremedy.models.object_keys import report_key
from netremedy.models.settings import ServiceSettings


class ReportNotReadyError(Exception):
    pass


def report_link(settings: ServiceSettings, job_id: str, caller: str) -> ReportLinkResponse:
    """A time-limited link to the job's report; ReportNotReadyError until the job completed and it is written."""
    job = load_job(settings, job_id, caller)
    key = report_key(job_id)
    status = effective_status(job)
    if status != "completed" or not blob_store.exists(settings.bucket_name, key):
        written = (
            "is written once it completes" if status != "completed" else "is being written; retry shortly"
        )
        raise ReportNotReadyError(f"job {job_id} is {status}; its HTML report {written}")
    return ReportLinkResponse(
        job_id=job_id,
        url=blob_store.presigned_get_url(settings.bucket_name, key, REPORT_URL_SECONDS),
        expires_in=REPORT_URL_SECONDS,
    )
