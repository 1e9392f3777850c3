"""A job's compliance counters as its status, results summary, fleet report and summary.json report them.

The worker says whether each device is compliant; the job row counts them as they are recorded
(``models.items.job_counter_increments``, in the exactly-once transaction): this module only reads them.
"""

from typing import Any

from netremedy.models.api import PlatformCounts
from netremedy.models.items import PLATFORM_COUNTERS, JobItem


def platform_breakdown(job: JobItem) -> dict[str, PlatformCounts]:
    """Per platform, sorted by name; a counter no device has reached yet reads as 0."""
    breakdown: dict[str, PlatformCounts] = {}
    for platform in sorted(job.platform_counts):
        counts = {counter: job.platform_counts[platform].get(counter, 0) for counter in PLATFORM_COUNTERS}
        total = counts["compliant"] + counts["non_compliant"] + counts["failed"]
        breakdown[platform] = PlatformCounts(total=total, **counts)
    return breakdown


def compliance_fields(job: JobItem) -> dict[str, Any]:
    """The compliance fields of JobStatusResponse, JobSummary, FleetReportResponse and summary.json, as JSON."""
    return {
        "compliant_devices": job.compliant_devices,
        "non_compliant_devices": job.non_compliant_devices,
        "held_devices": job.held_devices,
        "by_platform": {
            platform: counts.model_dump() for platform, counts in platform_breakdown(job).items()
        },
    }
