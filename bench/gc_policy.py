"""The worker's garbage collector policies compared: CPU per device and peak RSS of compute_remediation over
the corpus devices of each size class, each run in a fresh interpreter that has imported the worker's handler
module (so the heap a full collection walks is the worker's), policies interleaved and repeated.

    .venv/bin/python bench/gc_policy.py [--repeats 3] [--devices 200]
"""

import argparse
import json
import statistics
import subprocess
import sys
from typing import Any

from coldstart import _environment
from corpus import load_pairs, pairs_by_class

# "linked+" runs a policy with hier_config's trees left linked to their parents, as the worker had them before
# logic.remediation.unlink_trees: then only the collector frees a device's trees.
POLICIES = (
    "default",
    "freeze",
    "freeze+per_device",
    "linked+freeze+per_device",
    "linked+default",
    "freeze+gen0_50000",
    "disabled",
)

_PROBE = """
import gc, json, resource, sys, time
import netremedy.handlers.remediate_devices
from netremedy import runtime_gc
from netremedy.logic import remediation
from netremedy.logic.remediation import RemediationError, compute_remediation
policy, pairs, count = sys.argv[1], json.load(sys.stdin), int(sys.argv[2])
if policy.startswith("linked+"):
    remediation.unlink_trees = lambda *trees: None
    policy = policy.removeprefix("linked+")
if policy.startswith("freeze"):
    runtime_gc.freeze_start_up_objects()
if policy.endswith("gen0_50000"):
    gc.set_threshold(50_000, 10, 10)
if policy == "disabled":
    gc.disable()
per_device = runtime_gc.one_collection_per_device if policy.endswith("per_device") else None
texts = [(platform, open(r).read(), open(i).read()) for platform, r, i in pairs]
before = [s["collections"] for s in gc.get_stats()]
started = time.process_time()
for n in range(count):
    platform, running, intended = texts[n % len(texts)]
    try:
        if per_device is None:
            compute_remediation(platform, running, intended)
        else:
            with per_device():
                compute_remediation(platform, running, intended)
    except RemediationError:
        pass
cpu = time.process_time() - started
collections = [s["collections"] - b for s, b in zip(gc.get_stats(), before)]
gc.enable()
left = gc.collect()  # cyclic garbage the policy had not freed yet (all of it, when the collector was off)
print(json.dumps({"cpu_ms_per_device": cpu * 1000 / count, "garbage_left": left,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "collections": collections}))
"""


def _run(policy: str, pairs: list[list[str]], count: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, policy, str(count)],
        input=json.dumps(pairs),
        env=_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def compare(repeats: int, devices: dict[str, int]) -> dict[str, Any]:
    classes = pairs_by_class(load_pairs())
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(repeats):
        for size, count in devices.items():
            pairs = [[p.platform, str(p.running_path), str(p.intended_path)] for p in classes[size]]
            for policy in POLICIES:  # interleaved, so that a busy moment hits every policy alike
                samples.setdefault((size, policy), []).append(_run(policy, pairs, count))
    return {
        f"{size}/{policy}": {
            "cpu_ms_per_device_median": round(statistics.median(r["cpu_ms_per_device"] for r in runs), 2),
            "peak_rss_mb_median": round(statistics.median(r["peak_rss_mb"] for r in runs), 1),
            "collections_gen0_1_2_in_run": runs[0]["collections"],
            "garbage_left_after_run": runs[0]["garbage_left"],
            "runs": len(runs),
        }
        for (size, policy), runs in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--devices", type=int, default=200, help="medium and small devices per run")
    parser.add_argument("--large-devices", type=int, default=12, help="large devices per run (6 pairs)")
    args = parser.parse_args()
    devices = {"medium": args.devices, "small": args.devices, "large": args.large_devices}
    for name, row in compare(args.repeats, devices).items():
        print(f"{name:28s} {json.dumps(row)}")


if __name__ == "__main__":
    main()
