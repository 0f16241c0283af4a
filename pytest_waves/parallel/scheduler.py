"""The xdist scheduler: an issue's steps as one unit on one worker, handed out when its dependencies allow.

An idle worker gets a *ready* unit (every dependency finished), longest remaining chain first: list
scheduling on the critical path, as `make -j` does with its jobs. Work starts as soon as one worker
has collected (on a loaded machine the last of eight workers may be ready a second after the first);
the others join as they are ready, and one that collected other tests than the first ends the run.

xdist's worker starts an item only once it knows the next one (pytest needs `nextitem` for
teardown), so the last item a worker holds would wait until the worker is sent more work or told to
shut down. A plan step needs no such successor: the workers start it at its turn (adapters.py,
`run_alone`), so a worker that holds only plan steps simply runs them and is then idle. Once a
worker has been sent a plain test (which may hold session fixtures), it keeps xdist's rule, and so
does every worker of an xdist that cannot run steps alone; such a worker, holding exactly one item,
is sent a follow-up at once, so that the item runs now: a unit that can start right after it (ready,
or waiting only on work queued on that same worker), longest chain first, else one whose unfinished
dependencies are all already handed out (it waits for them on the worker, in the ledger); with
nothing left, the worker is shut down, which also lets its last item run.

Handing out a unit only when every unfinished dependency is already on some worker's queue means no
worker ever waits for something queued behind its own wait: no deadlock, for any plan and any `-n`.
Tests that are not plan steps are units of one item with no dependencies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from pytest_waves.parallel.adapters import (
    LoadScheduling,
    Producer,
    WorkerController,
    count_from_the_first_collection,
    hold_worker_status,
    report_different_collection,
)
from pytest_waves.parallel.units import NodeIds

READY, IN_SEQUENCE, ELIGIBLE = 0, 1, 2
URGENT = 1 << 30  # the weight of requeued work: others may already be waiting for it


@dataclass(eq=False)
class Unit:
    """The items of one issue (or one plain test), run in order on one worker."""

    key: str
    indices: list[int]
    first: int  # collection position: ties keep the plan's order
    deps: list[Unit] = field(default_factory=list)
    dependents: list[Unit] = field(default_factory=list)
    weight: int = 0  # items on the longest chain from here to the end: the critical-path priority
    waiting: int = 0  # items of its dependencies not finished yet
    unsent: int = 0  # items of its dependencies not handed to a worker yet
    inherited: bool = False  # the queue of a crashed worker (or a rerun): placed whole, never behind its dependants
    plain: bool = False  # a test that is not a plan step


def build_units(collection: Sequence[str], nodeids: NodeIds) -> list[Unit]:
    by_key: dict[str, Unit] = {}
    unit_deps: dict[str, list[str]] = {}
    for index, nodeid in enumerate(collection):
        found = nodeids.unit(nodeid)
        key, deps = found if found is not None else (nodeid, [])
        unit = by_key.get(key)
        if unit is None:
            unit = by_key[key] = Unit(key=key, indices=[], first=index, plain=found is None)
            unit_deps[key] = deps
        unit.indices.append(index)
    for key, deps in unit_deps.items():
        for dep in deps:
            if dep in by_key:  # a deselected dependency is the gate's business (last recorded outcome)
                by_key[key].deps.append(by_key[dep])
                by_key[dep].dependents.append(by_key[key])
    units = list(by_key.values())
    # Plans are collected dependencies first, so dependents come later: one backwards pass suffices.
    for unit in reversed(units):
        unit.weight = len(unit.indices) + max((d.weight for d in unit.dependents), default=0)
        unit.waiting = unit.unsent = sum(len(d.indices) for d in unit.deps)
    return units


def _ancestors(units: set[Unit]) -> set[Unit]:
    """Every unit these depend on, directly or not."""
    seen: set[Unit] = set()
    todo = [dep for unit in units for dep in unit.deps]
    while todo:
        unit = todo.pop()
        if unit not in seen:
            seen.add(unit)
            todo.extend(unit.deps)
    return seen


class WavesScheduling(LoadScheduling):
    """Critical-path list scheduling of plan units; see the module docstring for the rules."""

    def __init__(self, config: pytest.Config, nodeids: NodeIds, log: Producer | None = None,
                 alone: bool = False) -> None:
        super().__init__(config, log)
        self.alone = alone  # the workers start a plan step without waiting for a successor
        self.plain: set[int] = set()  # indices of tests that are not plan steps
        self.mixed: set[WorkerController] = set()  # workers sent a plain test: they wait for successors
        self.log = log.wavessched if log is not None else Producer("wavessched")
        self.nodeids = nodeids
        self.collection: list[str] | None = None
        self.aborted = False
        self.collected: set[WorkerController] = set()  # workers whose collection was checked, crashed ones not
        self.first_worker = ""  # the worker whose collection the others must match
        self.unscheduled: list[Unit] = []
        self.unit_of: dict[int, Unit] = {}  # item index → the unit it was planned in
        self.done: set[int] = set()
        self.holder: dict[int, WorkerController] = {}  # item index → the worker it was sent to
        self._position: dict[str, int] = {}  # node id → item index

    # -- xdist's Scheduling protocol (nodes and the collection check come from LoadScheduling)

    @property
    def collection_is_completed(self) -> bool:
        return bool(self.node2collection)  # one worker ready is enough to start (module docstring)

    def add_node_collection(self, node: WorkerController, collection: Sequence[str]) -> None:
        self.collected.add(node)
        if not self.first_worker:
            self.first_worker = node.gateway.id
            count_from_the_first_collection(self.config)
        if self.collection is not None and list(collection) != self.collection:
            report_different_collection(self.config, self.collection, collection, self.first_worker,
                                        node.gateway.id)
            self.log("**Different tests collected, aborting run**")
            self.aborted = True
            return
        self.node2collection[node] = list(collection)

    @property
    def tests_finished(self) -> bool:
        # A worker's last item runs when it is shut down, so one item left per worker means done.
        if self.aborted:
            return True  # the workers collected different items: nothing to run (xdist says why)
        # Every worker's collection is checked against the first before the run may end, even if
        # the first workers did all the work: a worker that collects other tests is an error.
        return (len(self.collected) >= self.numnodes and self.collection is not None and not self.unscheduled
                and all(len(pending) <= 1 for pending in self.node2pending.values()))

    @property
    def has_pending(self) -> bool:
        # xdist reads this only to print its worker status line, and a blank line after it, when a
        # worker has collected and nothing runs yet. Work starts at the first collection, so from
        # then on the answer is yes: the line is printed once, not again under the progress.
        return self.collection is not None

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is None:
            if not self._check_nodes_have_same_collection():
                self.log("**Different tests collected, aborting run**")
                self.aborted = True
                return
            collection: list[str] = next(iter(self.node2collection.values()))
            self.collection = collection
            units = build_units(collection, self.nodeids)
            self.unit_of = {index: unit for unit in units for index in unit.indices}
            self.plain = {index for unit in units if unit.plain for index in unit.indices}
            self._position = {nodeid: index for index, nodeid in enumerate(collection)}
            self.unscheduled.extend(units)
            if len(self.collected) < self.numnodes:
                hold_worker_status(self.config)
        self._dispatch()

    def mark_test_complete(self, node: WorkerController, item_index: int, duration: float = 0) -> None:
        self.node2pending[node].remove(item_index)
        self._finished(item_index)
        self._dispatch()

    def mark_test_pending(self, item: str) -> None:
        """A crashed item to run again (pytest-rerunfailures): a unit of its own, first in line."""
        assert self.collection is not None
        index = self.collection.index(item)
        if index in self.done:
            self.done.discard(index)
            for dependent in self.unit_of[index].dependents:
                dependent.waiting += 1
        self._requeue([index], first=-1)
        self._dispatch()

    def remove_pending_tests_from_node(self, node: WorkerController, indices: Sequence[int]) -> None:
        raise NotImplementedError("pytest-waves never steals work from a worker")

    def crashed(self, node: WorkerController) -> None:
        """A worker died: xdist's replacement, or xdist's shutdown when it replaces no more, stands in
        for it. Until the replacement has collected, not every worker's collection has been checked."""
        self.collected.discard(node)

    def remove_node(self, node: WorkerController) -> str | None:
        """A worker finished or crashed: the item it was running is the crash item.

        The rest of its queue goes whole and in order to one worker: other workers may already wait
        for those items, so it may only follow work that does not wait for them (an idle worker, such
        as xdist's replacement, or one whose queue does not depend on them).
        """
        pending = self.node2pending.pop(node)
        self.node2collection.pop(node, None)
        if not pending:
            return None
        assert self.collection is not None
        crashed = pending.pop(0)
        self._finished(crashed)  # reported failed by xdist; the steps after it in its issue are gated
        if pending:
            for index in pending:
                self.holder.pop(index, None)
                for dependent in self.unit_of[index].dependents:
                    dependent.unsent += 1
            self.unscheduled.append(Unit(key=f"queue of {node.gateway.id}", indices=pending, first=-1,
                                         weight=URGENT, inherited=True))
        self._dispatch()
        return self.collection[crashed]

    def check_schedule(self, node: WorkerController, duration: float = 0) -> None:
        self._dispatch()

    # -- the policy

    def _requeue(self, indices: list[int], first: int) -> None:
        for index in indices:
            self.holder.pop(index, None)
            for dependent in self.unit_of[index].dependents:
                dependent.unsent += 1
            self.unscheduled.append(Unit(key=f"item {index}", indices=[index], first=first, weight=URGENT,
                                         inherited=True))

    def _finished(self, index: int) -> None:
        if index in self.done:
            return
        self.done.add(index)
        self.holder.pop(index, None)
        for dependent in self.unit_of[index].dependents:
            dependent.waiting -= 1

    def _readiness(self, unit: Unit, node: WorkerController) -> int | None:
        if unit.inherited:  # safe behind this worker's queue only if nothing there waits for it
            queued = {self.unit_of[i] for i in self.node2pending[node]}
            return None if _ancestors(queued) & {self.unit_of[i] for i in unit.indices} else READY
        if unit.waiting == 0:
            return READY
        if unit.unsent > 0:
            return None  # a dependency is not handed out yet: sending this could deadlock a worker
        waiting = (i for dep in unit.deps for i in dep.indices if i not in self.done)
        return IN_SEQUENCE if all(self.holder.get(i) is node for i in waiting) else ELIGIBLE

    def _best(self, node: WorkerController, worst: int) -> Unit | None:
        best: tuple[bool, int, int] | None = None
        chosen = None
        for unit in self.unscheduled:
            readiness = self._readiness(unit, node)
            if readiness is not None and readiness <= worst:
                # Ready now or right after this worker's own queue: both start as soon as they can here.
                rank = (readiness == ELIGIBLE, -unit.weight, unit.first)
                if best is None or rank < best:
                    best, chosen = rank, unit
        return chosen

    def started(self, nodeid: str) -> tuple[str, str] | None:
        """(worker id, unit key) when `nodeid` is the first item of its unit, which has just begun."""
        assert self.collection is not None
        index = self._position.get(nodeid)
        if index is None or index not in self.unit_of or self.unit_of[index].indices[0] != index:
            return None
        node = self.holder.get(index)
        return (node.gateway.id, self.unit_of[index].key) if node is not None else None

    def _send(self, node: WorkerController, unit: Unit) -> None:
        self.unscheduled.remove(unit)
        self.node2pending[node].extend(unit.indices)
        if not self.plain.isdisjoint(unit.indices):
            self.mixed.add(node)
        for index in unit.indices:
            self.holder[index] = node
            for dependent in self.unit_of[index].dependents:
                dependent.unsent -= 1
        self.log(f"{unit.key} -> {node.gateway.id}")
        node.send_runtest_some(unit.indices)

    def _runs_alone(self, node: WorkerController) -> bool:
        """Does this worker start its last item without a successor? (See the module docstring.)"""
        return self.alone and node not in self.mixed

    def _dispatch(self) -> None:
        if self.collection is None or self.aborted:
            return
        sent = True
        while sent:
            sent = False
            live = [node for node in self.node2pending if node in self.node2collection and not node.shutting_down]
            for node in live:  # idle workers first: a ready unit starts now, nowhere sooner
                if not self.node2pending[node] and (unit := self._best(node, READY)):
                    self._send(node, unit)
                    sent = True
            for node in live:  # a worker holding one item runs it only once it has a successor
                if (len(self.node2pending[node]) == 1 and not self._runs_alone(node)
                        and (unit := self._best(node, ELIGIBLE))):
                    self._send(node, unit)
                    sent = True
        if not self.unscheduled:
            for node in self.node2pending:
                if len(self.node2pending[node]) <= 1 and not node.shutting_down:
                    node.shutdown()
