"""The plan's dependency graph (stdlib graphlib underneath): cycles named in dependency order, and a
run order that keeps the plan's order wherever the dependencies allow."""

from __future__ import annotations

from pytest_waves.plan.graph import find_cycle, levels, stable_topological_order


def test_a_cycle_is_named_from_dependant_to_dependency() -> None:
    assert find_cycle({155: [154], 154: [152], 152: [155], 7: []}) == [155, 154, 152, 155]
    assert find_cycle({1: [2], 2: [1]}) == [1, 2, 1]
    assert find_cycle({1: [], 2: [1]}) is None


def test_the_run_order_keeps_the_plan_order_where_it_can() -> None:
    # 3 is listed first but waits for 2; 1 and 2 keep their order; 4 waits for 3
    assert stable_topological_order([3, 1, 2, 4], {3: [2], 1: [], 2: [], 4: [3]}) == [1, 2, 3, 4]
    assert stable_topological_order([5, 4, 3], {5: [], 4: [], 3: []}) == [5, 4, 3]


def test_levels_are_the_waves_the_dependencies_imply() -> None:
    assert levels([1, 2, 3], {1: [], 2: [1], 3: [1]}) == [[1], [2, 3]]
