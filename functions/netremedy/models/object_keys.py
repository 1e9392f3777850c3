"""Where the service keeps things in the result bucket: every S3 key it writes is built here.

Each prefix below expires through a lifecycle rule of ``ResultBucket`` in template.yaml (a test keeps the two
equal); objects users keep under other prefixes, such as the configs a drop manifest references and the drop
prefix itself, never expire. DynamoDB keys live in ``models.items``.
"""

# Claim checks of what a job was given: its device list, a request waiting for asynchronous fan-out, and device
# payloads too big for a message.
INPUTS_PREFIX = "inputs/"
# Device results too big for a table item.
OUTPUTS_PREFIX = "outputs/"
# A completed job's results written back: the bundle, one object per device (drop jobs) and summary.json.
RESULTS_PREFIX = "results/"
# The outcome of a dropped manifest, under the manifest's name relative to the drop prefix.
ACCEPTED_PREFIX = "accepted/"
ERRORS_PREFIX = "errors/"
# Manifests uploaded through a pre-signed POST (POST /api/v1/batch/uploads), read by the starting function only.
UPLOADS_PREFIX = "uploads/"

SERVICE_PREFIXES = (
    INPUTS_PREFIX,
    OUTPUTS_PREFIX,
    RESULTS_PREFIX,
    ACCEPTED_PREFIX,
    ERRORS_PREFIX,
    UPLOADS_PREFIX,
)


def manifest_key(job_id: str) -> str:
    """The job's device ids, so that the sweeper can tell which devices never reported."""
    return f"{INPUTS_PREFIX}{job_id}/devices.json"


def request_key(job_id: str) -> str:
    """The validated devices of a job waiting for asynchronous fan-out."""
    return f"{INPUTS_PREFIX}{job_id}/request.json"


def payload_key(job_id: str, device_id: str) -> str:
    """A device payload too big for a device message (claim check)."""
    return f"{INPUTS_PREFIX}{job_id}/{device_id}.json"


def output_key(job_id: str, device_id: str) -> str:
    """A device's outputs too big for its result item (claim check)."""
    return f"{OUTPUTS_PREFIX}{job_id}/{device_id}.json"


def results_prefix(job_id: str) -> str:
    return f"{RESULTS_PREFIX}{job_id}/"


def bundle_key(job_id: str) -> str:
    """Every result of a completed job as JSON Lines (what the bundle link serves)."""
    return f"{results_prefix(job_id)}results.jsonl"


def summary_key(job_id: str) -> str:
    """Written last by the write-back: its presence says the rest is complete."""
    return f"{results_prefix(job_id)}summary.json"


def devices_prefix(job_id: str) -> str:
    return f"{results_prefix(job_id)}devices/"


def device_key(job_id: str, device_id: str) -> str:
    return f"{devices_prefix(job_id)}{device_id}.json"


def accepted_key(name: str) -> str:
    """The marker naming the job a drop started; ``name`` is the manifest's key after the drop prefix."""
    return f"{ACCEPTED_PREFIX}{name}"


def errors_key(name: str) -> str:
    """The marker saying why a dropped manifest was refused."""
    return f"{ERRORS_PREFIX}{name}"


def report_key(job_id: str) -> str:
    """The completed job's self-contained HTML report (logic.html_report)."""
    return f"{results_prefix(job_id)}report.html"


def upload_key(upload_id: str, manifest_format: str) -> str:
    """An uploaded manifest; its suffix (.json or .jsonl) says how to read it, as a drop's does."""
    return f"{UPLOADS_PREFIX}{upload_id}.{manifest_format}"
