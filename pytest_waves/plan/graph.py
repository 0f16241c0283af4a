"""The issue dependency graph: effective dependencies, cycles, and a stable run order."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from graphlib import CycleError, TopologicalSorter


def find_cycle(deps: Mapping[int, Iterable[int]]) -> list[int] | None:
    """A dependency cycle as [a, b, ..., a], each depending on the next, or None (stdlib graphlib)."""
    try:
        TopologicalSorter({node: list(on) for node, on in deps.items()}).prepare()
    except CycleError as error:
        found: list[int] = list(error.args[1])  # graphlib walks it from dependency to dependant
        return found[::-1]
    return None


def stable_topological_order(order: list[int], deps: Mapping[int, Iterable[int]]) -> list[int]:
    """Order issues so each comes after its dependencies, otherwise keeping the plan's order: of the
    issues whose dependencies are all placed, the one the plan lists first goes next."""
    position = {number: index for index, number in enumerate(order)}
    sorter = TopologicalSorter({number: list(deps[number]) for number in order})
    sorter.prepare()  # raises CycleError; callers reject cycles first
    ready = [(position[number], number) for number in sorter.get_ready()]
    heapq.heapify(ready)
    result: list[int] = []
    while ready:
        _, number = heapq.heappop(ready)
        result.append(number)
        sorter.done(number)
        for freed in sorter.get_ready():
            heapq.heappush(ready, (position[freed], freed))
    return result


def ancestors(order: list[int], deps: Mapping[int, Iterable[int]]) -> dict[int, set[int]]:
    """Everything each issue depends on, directly or not (`order` puts dependencies first)."""
    found: dict[int, set[int]] = {}
    for number in order:
        found[number] = set()
        for dep in deps[number]:
            found[number] |= {dep, *found.get(dep, ())}
    return found


def concurrent_pairs(order: list[int], deps: Mapping[int, Iterable[int]]) -> list[tuple[int, int]]:
    """Pairs of issues neither of which depends on the other: they may run at the same time."""
    above = ancestors(order, deps)
    return [(a, b) for i, a in enumerate(order) for b in order[i + 1:] if a not in above[b] and b not in above[a]]


def levels(order: list[int], deps: Mapping[int, Iterable[int]]) -> list[list[int]]:
    """The waves the graph implies: each issue one level after its deepest dependency."""
    level: dict[int, int] = {}
    for number in order:
        level[number] = 1 + max((level[d] for d in deps[number]), default=-1)
    return [[n for n in order if level[n] == depth] for depth in range(max(level.values(), default=-1) + 1)]
