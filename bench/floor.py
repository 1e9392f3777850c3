"""The floor: the same devices' remediation and rollback computed in this process by hier_config, on one core,
through the service's own ``compute_remediation`` (the same input checks, the same text)."""

import gc
import hashlib
import time
from dataclasses import dataclass

from corpus import Device

from netremedy.logic.remediation import RemediationError, compute_remediation


def digest(remediation: str, rollback: str) -> str:
    return hashlib.sha256(f"{remediation}\0{rollback}".encode()).hexdigest()


@dataclass
class FloorResult:
    devices: int
    seconds: float
    cpu_seconds: float
    succeeded: int
    failed: int
    digests: dict[str, str]  # device_id -> digest of the text, or "failed"

    def as_dict(self) -> dict[str, float | int]:
        return {
            "devices": self.devices,
            "seconds": round(self.seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "devices_per_s": round(self.devices / self.seconds, 1) if self.seconds else 0.0,
            "succeeded": self.succeeded,
            "failed": self.failed,
        }


def run_floor(devices: list[Device]) -> FloorResult:
    """Only the compute_remediation calls are timed (the digest that checks the pipeline's text is not)."""
    digests: dict[str, str] = {}
    succeeded = failed = 0
    seconds = cpu_seconds = 0.0
    gc.collect()
    for device in devices:
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            text = compute_remediation(device.pair.platform, device.pair.running, device.pair.intended)
        except RemediationError:
            seconds += time.perf_counter() - started
            cpu_seconds += time.process_time() - cpu_started
            digests[device.device_id] = "failed"
            failed += 1
            continue
        seconds += time.perf_counter() - started
        cpu_seconds += time.process_time() - cpu_started
        digests[device.device_id] = digest(text.remediation or "", text.rollback or "")
        succeeded += 1
    return FloorResult(len(devices), seconds, cpu_seconds, succeeded, failed, digests)
