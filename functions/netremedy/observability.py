"""The one place that builds the Powertools logger and metrics. Log ids and counts, never configuration text.

Metrics are CloudWatch embedded metric format (EMF) lines in the function's log: no API call, no latency.
"""

import traceback

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

METRICS_NAMESPACE = "netremedy"

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)


def count_devices(succeeded: int, failed: int, remediation_lines: int = 0) -> None:
    """Devices counted for the first time (redeliveries are not counted again)."""
    if succeeded:
        metrics.add_metric(name="DevicesSucceeded", unit=MetricUnit.Count, value=succeeded)
    if failed:
        metrics.add_metric(name="DevicesFailed", unit=MetricUnit.Count, value=failed)
    if remediation_lines:
        metrics.add_metric(name="RemediationLines", unit=MetricUnit.Count, value=remediation_lines)


def job_duration(seconds: float) -> None:
    metrics.add_metric(name="JobDuration", unit=MetricUnit.Seconds, value=seconds)


def error_origin(exc: BaseException) -> str:
    """Where an exception was raised, as ``file:line in function`` of the innermost frame: enough to find the
    cause of a failure whose message may not be logged (messages can quote configuration text)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown"
    frame = frames[-1]
    return f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name}"
