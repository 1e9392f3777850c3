"""The worker's garbage collector policy: start-up objects frozen out of collections, and each device's
cyclic garbage freed by the one collection after it (memory does not grow device after device); and
hier_config's trees unlinked after each device, so that they are not cyclic garbage at all."""

import gc
import weakref
from collections.abc import Callable, Iterator

import pytest
from hier_config import Platform, get_hconfig

from netremedy import runtime_gc
from netremedy.logic import remediation
from netremedy.logic.remediation import compute_remediation


class _Node:
    """A parent-linked pair, as hier_config's trees are: only the collector frees it."""

    def __init__(self) -> None:
        self.child: _Node | None = None
        self.parent: _Node | None = None


def _cycle() -> "weakref.ref[_Node]":
    parent, child = _Node(), _Node()
    parent.child, child.parent = child, parent
    return weakref.ref(parent)


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the other tests run with the collector as they found it


def test_frozen_start_up_objects_are_not_scanned_by_any_collection(unfrozen: None) -> None:
    # Given a cycle that is alive when the start-up objects are frozen
    parent, child = _Node(), _Node()
    parent.child, child.parent = child, parent
    alive = weakref.ref(parent)
    runtime_gc.freeze_start_up_objects()
    # When it becomes garbage and a full collection runs
    del parent, child
    gc.collect()
    # Then the collection did not look at it (the permanent generation is never walked)
    assert gc.get_freeze_count() > 0
    assert alive() is not None


def test_a_devices_cyclic_garbage_is_freed_after_it_with_no_collection_during_it() -> None:
    # Given collections counted from now
    before = gc.get_stats()[0]["collections"]
    # When a block makes cyclic garbage under the policy
    with runtime_gc.one_collection_per_device():
        assert not gc.isenabled()
        garbage = [_cycle() for _ in range(5_000)]  # far over gen0's threshold of 700
        assert gc.get_stats()[0]["collections"] == before  # none while the device computes
    # Then one young collection afterwards freed all of it, and the collector is on again
    assert gc.isenabled()
    assert gc.get_stats()[0]["collections"] == before + 1
    assert all(ref() is None for ref in garbage)


def test_the_policy_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with runtime_gc.one_collection_per_device():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_memory_does_not_grow_over_200_devices() -> None:
    # Given a device of a few hundred lines (hier_config's parent-linked trees)
    running = "\n".join(f"interface Ethernet{n}\n description old {n}\n shutdown" for n in range(100))
    intended = "\n".join(f"interface Ethernet{n}\n description new {n}\n no shutdown" for n in range(100))
    expected = compute_remediation("arista_eos", running, intended)
    assert expected.remediation  # there is something to compute
    gc.collect()

    def device() -> None:
        with runtime_gc.one_collection_per_device():
            assert compute_remediation("arista_eos", running, intended) == expected

    # When 200 devices are computed one after the other under the policy
    device()
    after_first = len(gc.get_objects())
    for _ in range(199):
        device()
    # Then the objects the collector tracks are as many as after the first device (each device's trees were
    # freed after it): without the collection they would grow by thousands a device
    assert len(gc.get_objects()) - after_first < 1_000


def _cyclic_garbage_left_by(work: Callable[[], object]) -> int:
    """How many objects only the collector could free after ``work`` ran with the collector off."""
    gc.collect()
    gc.disable()
    try:
        work()
    finally:
        gc.enable()
    return gc.collect()


def test_a_devices_trees_are_freed_by_reference_counting_not_left_to_the_collector() -> None:
    # Given a device of a few hundred lines, which hier_config parses into parent-linked trees
    running = "\n".join(f"interface Ethernet{n}\n description old {n}\n shutdown" for n in range(100))
    intended = "\n".join(f"interface Ethernet{n}\n description new {n}\n no shutdown" for n in range(100))
    compute_remediation("arista_eos", running, intended)  # warm: first-use caches are not garbage
    # When its remediation and rollback are computed with the collector off
    left = _cyclic_garbage_left_by(lambda: compute_remediation("arista_eos", running, intended))
    # Then nothing was left for a collection to find: its four trees (running, intended, remediation,
    # rollback; hundreds of nodes each) were unlinked and freed as the computation returned
    assert left == 0


def test_the_trees_left_linked_would_be_cyclic_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same device with unlink_trees made a no-op: what the previous test guards against is real
    running = "\n".join(f"interface Ethernet{n}\n description old {n}" for n in range(100))
    intended = "\n".join(f"interface Ethernet{n}\n description new {n}" for n in range(100))
    monkeypatch.setattr(remediation, "unlink_trees", lambda *trees: None)
    left = _cyclic_garbage_left_by(lambda: compute_remediation("arista_eos", running, intended))
    assert left > 1_000


def test_unlinking_clears_every_parent_link_of_every_tree() -> None:
    platform = Platform.ARISTA_EOS
    first = get_hconfig(platform, "interface a\n description x\n shutdown\nhostname h")
    second = get_hconfig(platform, "router bgp 1\n neighbor 10.0.0.1\n  remote-as 2")
    nodes = [*first.all_children(), *second.all_children()]
    assert len(nodes) == 7 and all(node.parent is not None for node in nodes)
    remediation.unlink_trees(first, second)
    assert all(node.parent is None for node in nodes)
