"""The worker process's garbage collector policy (a Lambda runtime concern, not domain logic).

hier_config's trees link children to parents, so a device's trees are cyclic garbage: ``logic.remediation``
unlinks them once a device's outputs are computed, so that reference counting frees them, but whatever else
a device leaves cyclic (the trees of the optional ``future`` output, an exception's traceback) only the
collector frees. With Python's default thresholds a device of a few thousand lines triggers many young and
some full collections while its trees are alive, and each full one walks the whole heap (boto3, botocore's
models, Powertools, pydantic: tens of MB that never become garbage). The policy:

- ``freeze_start_up_objects()`` once the handler module has imported: the start-up objects move to the
  permanent generation, which no collection walks;
- ``one_collection_per_device()`` around each device: no automatic collection while it computes, then one
  young collection, which frees whatever cyclic garbage it left (0.015 ms when it left none).

Measured with bench/gc_policy.py (medians of 3, CPU-ms per device medium / small / large, trees unlinked):
default 42.5 / 3.66 / 1,362; freeze 42.9 / 3.75 / 1,421; this policy 36.6 / 3.33 / 1,298 (44.2 / 3.61 /
1,339 with the trees left linked); collector off 40.9 / 4.10 / 1,299. Details in the README's Benchmarks
section.
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
