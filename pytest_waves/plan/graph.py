"""The issue dependency graph: effective dependencies, cycles, and a stable run order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def find_cycle(deps: Mapping[int, Iterable[int]]) -> list[int] | None:
    """A dependency cycle as [a, b, ..., a], or None. Iterative DFS: plans can be large."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(deps, WHITE)
    for start in deps:
        if colour[start] != WHITE:
            continue
        stack: list[tuple[int, list[int]]] = [(start, sorted(deps[start]))]
        path = [start]
        colour[start] = GREY
        while stack:
            node, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                colour[node] = BLACK
                continue
            nxt = pending.pop(0)
            if colour.get(nxt, BLACK) == GREY:
                return path[path.index(nxt):] + [nxt]
            if colour.get(nxt) == WHITE:
                colour[nxt] = GREY
                path.append(nxt)
                stack.append((nxt, sorted(deps[nxt])))
    return None


def stable_topological_order(order: list[int], deps: Mapping[int, Iterable[int]]) -> list[int]:
    """Order issues so each comes after its dependencies, otherwise keeping the plan's order."""
    placed: set[int] = set()
    result: list[int] = []
    remaining = list(order)
    while remaining:
        for index, number in enumerate(remaining):
            if all(dep in placed for dep in deps[number]):
                result.append(number)
                placed.add(number)
                del remaining[index]
                break
        else:  # pragma: no cover - callers reject cycles first
            raise ValueError("dependency cycle")
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
