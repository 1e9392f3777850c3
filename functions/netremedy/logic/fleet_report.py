"""The fleet report of a job: which remediation lines recur across its devices, most common first.

Built with hier_config's own ``RemediationReporter``: each device's remediation is parsed back into a tree
and merged, so the same line under the same parents counts once per device. One reporter per platform,
because a line means different things on different operating systems.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from hier_config import HConfig, RemediationReporter, get_hconfig
from hier_config.exceptions import DuplicateChildError

from netremedy.dal import job_table
from netremedy.logic.compliance import compliance_fields
from netremedy.logic.jobs import load_job
from netremedy.logic.lifecycle import effective_status
from netremedy.logic.remediation import platform_from_name
from netremedy.logic.response_size import response_bytes
from netremedy.logic.results import public_result
from netremedy.models.api import (
    MAX_REPORT_DEVICE_IDS,
    REPORT_LIMIT_DEFAULT,
    DeviceSuccess,
    FleetReportResponse,
    ReportChange,
)
from netremedy.models.settings import ServiceSettings

# Bytes of changes as Lambda returns them (logic.response_size): far under its 6 MB.
_REPORT_BYTES = 4_000_000


@dataclass
class _PlatformChanges:
    reporter: RemediationReporter = field(default_factory=RemediationReporter)
    # Devices with the same remediation text share one parse and one merge (a fleet-wide change gives many
    # devices the same text): merging the same tree again would only add an instance to lines it already
    # has. None: the text does not read back as a config (DuplicateChildError).
    config_by_text: dict[str, HConfig | None] = field(default_factory=dict)
    # The devices of each merged config, by id() of the config, as hier_config identifies a remediation's
    # instances (config_by_text keeps the configs referenced, so the ids stay theirs).
    devices_by_config: dict[int, list[str]] = field(default_factory=dict)


@dataclass
class _Counts:
    reported: int = 0
    unchanged: int = 0
    failed: int = 0
    without_remediation: int = 0
    unanalysed: int = 0


def _collect(settings: ServiceSettings, job_id: str) -> tuple[dict[str, _PlatformChanges], _Counts]:
    by_platform: dict[str, _PlatformChanges] = defaultdict(_PlatformChanges)
    counts = _Counts()
    for item in job_table.query_device_results(settings.table_name, job_id):
        result = public_result(settings, item)
        # A result whose outputs expired in S3 is failed too.
        if not isinstance(result, DeviceSuccess):
            counts.failed += 1
            continue
        if result.remediation is None or item.platform is None:
            counts.without_remediation += 1
            continue
        if not result.remediation.strip():
            counts.unchanged += 1
            continue
        changes = by_platform[item.platform]
        counts.reported += 1
        if result.remediation not in changes.config_by_text:
            config = _parsed(item.platform, result.remediation)
            if config is not None:
                changes.reporter.add_remediation(config)
            changes.config_by_text[result.remediation] = config
        config = changes.config_by_text[result.remediation]
        if config is None:
            counts.unanalysed += 1
            continue
        changes.devices_by_config.setdefault(id(config), []).append(item.device_id)
    return by_platform, counts


def _parsed(platform: str, remediation: str) -> HConfig | None:
    """The remediation as a config; None if it cannot be read back as one."""
    try:
        return get_hconfig(platform_from_name(platform), remediation)
    except DuplicateChildError:
        # Some remediations do not read back as a config (a negated multi-line banner repeats its body's lines
        # at the top level): the device has changes, but its lines cannot be merged with the others.
        return None


def _all_changes(by_platform: dict[str, _PlatformChanges]) -> list[tuple[str, list[str], list[str]]]:
    """(platform, path, sorted device ids) of every distinct change, in config order within a platform.

    A change is a leaf line; a section header with lines under it is their context (it is in their path),
    not a change of its own, or every changed interface would count twice.
    """
    changes = []
    for platform in sorted(by_platform):
        platform_changes = by_platform[platform]
        if not platform_changes.devices_by_config:
            continue
        for child in platform_changes.reporter.get_all_changes():
            if not child.is_leaf:
                continue
            devices = sorted(
                {
                    device
                    for instance in child.instances
                    for device in platform_changes.devices_by_config[instance.id]
                }
            )
            changes.append((platform, list(child.path()), devices))
    return changes


def fleet_report(
    settings: ServiceSettings,
    job_id: str,
    caller: str,
    *,
    min_devices: int = 1,
    limit: int = REPORT_LIMIT_DEFAULT,
) -> FleetReportResponse:
    job = load_job(settings, job_id, caller)
    by_platform, counts = _collect(settings, job_id)
    every_change = _all_changes(by_platform)
    # Most devices first; ties keep config order, so a section stays ahead of its lines.
    ranked = sorted(
        (change for change in every_change if len(change[2]) >= min_devices),
        key=lambda change: -len(change[2]),
    )
    covered: set[str] = set()
    listed: list[ReportChange] = []
    size = 0
    for platform, path, devices in ranked[:limit]:
        covered.update(devices)
        entry = ReportChange(
            platform=platform,
            line=path[-1],
            path=path,
            device_count=len(devices),
            device_ids=devices[:MAX_REPORT_DEVICE_IDS],
            device_ids_truncated=len(devices) > MAX_REPORT_DEVICE_IDS,
            devices_covered=len(covered),
        )
        size += response_bytes(entry) + len(",")
        if size > _REPORT_BYTES:
            break
        listed.append(entry)
    return FleetReportResponse(
        job_id=job_id,
        status=effective_status(job),
        total_devices=job.total_devices,
        devices_with_changes=counts.reported,
        devices_without_changes=counts.unchanged,
        failed_devices=counts.failed,
        devices_without_remediation=counts.without_remediation,
        devices_not_analysed=counts.unanalysed,
        **compliance_fields(job),
        unique_changes=len(every_change),
        changes=listed,
        truncated=len(listed) < len(ranked),
    )
