"""What the worker needs per device, to size its Lambda memory: CPU-ms and peak memory per size class.

Each class runs in a fresh process (so ``ru_maxrss``, the process's high-water mark, is that class's): the
worker's handler module is imported (its cold-start RSS), then every corpus pair of the class is computed as
the worker computes it (``compute_remediation``) and packed into its DynamoDB item, timed by CPU time, with
tracemalloc's peak of the Python heap taken per device. Run: ``.venv/bin/python bench/memory_sizing.py``.
"""

import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from coldstart import _environment
from corpus import SIZE_CLASSES, load_pairs

HERE = Path(__file__).resolve().parent


def measure(size_class: str) -> dict[str, Any]:
    """In this process: import the worker, then compute every pair of ``size_class``: one round under
    tracemalloc, two for CPU time."""
    import netremedy.handlers.remediate_devices  # noqa: F401  (its import is part of what the process holds)
    from netremedy.dal.job_table import device_item_size
    from netremedy.logic.remediation import RemediationError, compute_remediation
    from netremedy.models.items import DeviceResultItem

    import_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pairs = [pair for pair in load_pairs() if pair.size_class == size_class]
    peaks: list[tuple[int, str]] = []
    cpu_seconds, computed = 0.0, 0
    for round_ in range(3):
        for pair in pairs:
            if round_ == 0:
                tracemalloc.start()
            started = time.process_time()
            try:
                text = compute_remediation(pair.platform, pair.running, pair.intended)
            except RemediationError:
                tracemalloc.stop()
                continue
            item = DeviceResultItem.model_validate(
                {"job_id": "j", "device_id": "d", "status": "success", "finished_at": "", "expires_at": 0}
                | text.outputs()
            )
            device_item_size(item)
            if round_ == 0:  # tracemalloc slows the round it watches: CPU time from the other two
                peaks.append((tracemalloc.get_traced_memory()[1], pair.name))
                tracemalloc.stop()
            else:
                cpu_seconds += time.process_time() - started
                computed += 1
    largest = max(peaks)
    return {
        "pairs": len(pairs),
        "cpu_ms_per_device": round(cpu_seconds / computed * 1000, 2) if computed else None,
        "python_heap_peak_mb_per_device_max": round(largest[0] / 2**20, 1),
        "largest_pair": largest[1],
        "import_rss_mb": round(import_rss_mb, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(measure(sys.argv[2])))
        return
    results = {}
    for size_class in SIZE_CLASSES:
        output = subprocess.run(
            [sys.executable, str(Path(__file__)), "--one", size_class],
            check=True,
            capture_output=True,
            text=True,
            cwd=HERE,
            env=_environment(),  # placeholders for the settings the handlers check at import
        ).stdout
        results[size_class] = json.loads(output)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
