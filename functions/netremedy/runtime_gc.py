"""The worker process's garbage collector policy (a Lambda runtime concern, not domain logic).

hier_config's trees link children to parents, so every device leaves cyclic garbage that only the collector
frees; but with Python's default thresholds a device of a few thousand lines triggers many young and some full
collections while its trees are alive, and each full one walks the whole heap (boto3, botocore's models,
Powertools, pydantic: tens of MB that never become garbage). The policy:

- ``freeze_start_up_objects()`` once the handler module has imported: the start-up objects move to the
  permanent generation, which no collection walks;
- ``one_collection_per_device()`` around each device: no automatic collection while it computes, then one
  young collection, which frees all of its cyclic garbage (it was all allocated since the previous one).

Measured with bench/gc_policy.py (2 shared cores, load average about 12; medians of 3, CPU-ms per device
medium / small / large, peak RSS MB of the large run): default 25.5 / 2.34 / 911, 141 MB; freeze 21.6 / 2.19
/ 992, 133 MB; this policy 26.6 / 2.01 / 885, 128 MB; gen0 threshold 50,000 24.9 / 2.27 / 784, 302 MB;
collector off 18.8 / 2.16 / 737, 363 MB (a leak). The CPU differences are within this machine's noise (a
second medium run: 25.9 / 25.7 / 26.2 for the first three); this policy was chosen for the lowest peak
memory and no middle or full collection at all. Details in the README's Benchmarks section.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def freeze_start_up_objects() -> None:
    """Move every object tracked now out of all future collections. No collection first: it cost about
    35 ms of the cold start and found no garbage after the worker's import (measured)."""
    gc.freeze()


@contextmanager
def one_collection_per_device() -> Iterator[None]:
    """The collector off while the block runs (unless it was off already), one generation-0 collection
    after it: the block's garbage is freed, the objects alive before it are not walked again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect(0)
