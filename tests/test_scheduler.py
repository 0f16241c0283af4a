"""The scheduling policy, run against a simulation of xdist workers in logical time.

The simulated worker behaves as xdist's does in the two ways that matter: it runs what it was sent in
order, and it starts an item only once it holds the next one (or was told to shut down) — unless, as
pytest-waves' workers do (parallel/adapters.py, `run_alone`), it starts a plan step at its turn, until
a plain test has started on it. It also waits, as the ledger makes real workers wait, until an item's
dependencies finished. The simulation then
shows what the pytester tests cannot show exactly: no plan deadlocks for any number of workers, every
issue stays on one worker, and the shapes the benchmark uses finish in exactly their critical path.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from xdist.remote import Producer

from pytest_waves.parallel.scheduler import WavesScheduling, build_units
from pytest_waves.parallel.units import NodeIds
from pytest_waves.plan.loader import LoadedPlan, load_plan
from pytest_waves.steps import registry


def write_plan(path: Path, issues: dict[int, tuple[list[int], int]]) -> LoadedPlan:
    """issues: number → (dependencies, number of steps); all in one wave."""
    lines = ["project: sim", "repository: {path: .}", "waves:", "  - id: 1", "    name: All", "    issues:"]
    for number, (deps, steps) in issues.items():
        lines += [f"      - number: {number}", f"        title: Issue {number}", f"        branch: b{number}",
                  f"        depends_on: {sorted(deps)}", "        steps:"]
        lines += [f"          - {{name: s{s}, run: 'true'}}" for s in range(steps)]
    path.write_text("\n".join(lines) + "\n")
    return load_plan(path, registry([]), None)


def collection_of(loaded: LoadedPlan) -> list[str]:
    return [f"{loaded.path.name}::wave1::issue{n}::{step.name}" for n in loaded.order for step in loaded.steps[n]]


class SimNode:
    def __init__(self, number: int, alone: bool) -> None:
        self.gateway = SimpleNamespace(id=f"gw{number}")
        self.queue: list[int] = []
        self.shutting_down = False
        self.running: tuple[int, float] | None = None  # item, end time
        self.alone = alone  # starts a plan step without a successor, until a plain test started here

    def may_start(self, plain: bool) -> bool:
        if plain:
            self.alone = False
        return self.alone or len(self.queue) >= 2 or self.shutting_down

    def send_runtest_some(self, indices: list[int]) -> None:
        assert not self.shutting_down, "work sent to a worker after its shutdown"
        self.queue.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


@dataclass
class Simulation:
    makespan: float
    where: dict[str, str]  # node id → the worker it ran on
    deadlock: str | None  # what was stuck, when every worker waited and work was left
    finished: bool  # the scheduler says every item is done and nothing is pending


def simulate(pytester: pytest.Pytester, loaded: LoadedPlan, workers: int, durations: dict[str, float],
             crash: str | None = None, alone: bool = True, plain: int = 0) -> Simulation:
    """Run the plan on `workers` simulated workers: how long it took, where each item ran, and
    whether it got stuck or left work behind (the tests judge).

    `crash`: the worker that starts this item dies; as xdist does, the scheduler is told, the item
    counts as finished (failed), and a replacement worker joins. `alone`: the workers start plan
    steps without a successor. `plain`: that many plain tests (`test_plain.py::test_N`, 1.0 each)
    are collected around the plan's steps."""
    config = pytester.parseconfig("--tx", f"{workers}*popen")
    collection = collection_of(loaded)
    for n in range(plain):  # spread through the collection: first, between the plan's steps, last
        collection.insert(n * len(collection) // max(plain - 1, 1), f"test_plain.py::test_{n}")
    sched = WavesScheduling(config, NodeIds([loaded], loaded.path.parent), Producer("sim", enabled=False),
                            alone=alone)
    nodes = [SimNode(n, alone) for n in range(workers)]
    for node in nodes:
        sched.add_node(node)
        sched.add_node_collection(node, collection)
    assert sched.collection_is_completed
    units = {unit.key: unit for unit in build_units(collection, sched.nodeids)}
    is_plain = {index for unit in units.values() if unit.plain for index in unit.indices}
    prerequisites: dict[int, list[int]] = {}
    for unit in units.values():
        for position, index in enumerate(unit.indices):
            prerequisites[index] = ([unit.indices[position - 1]] if position else
                                    [i for dep in unit.deps for i in dep.indices])
    sched.schedule()
    done: set[int] = set()
    where: dict[str, str] = {}
    now = 0.0
    while len(done) < len(collection):
        for node in list(nodes):
            if node.running is None and node.queue and node.may_start(node.queue[0] in is_plain):
                head = node.queue[0]
                if all(p in done for p in prerequisites[head]):
                    if collection[head] == crash:
                        crash = None
                        nodes.remove(node)
                        assert sched.remove_node(node) == collection[head]
                        done.add(head)
                        clone = SimNode(len(nodes) + 100, alone)
                        nodes.append(clone)
                        sched.add_node(clone)
                        sched.add_node_collection(clone, collection)
                        sched.schedule()
                        continue
                    node.running = (head, now + durations.get(collection[head], 1.0))
                    where[collection[head]] = node.gateway.id
        busy = [node for node in nodes if node.running is not None]
        if not busy:
            return Simulation(now, where, f"at t={now}: queues {[n.queue for n in nodes]}, "
                                          f"unsent {len(sched.unscheduled)}", finished=False)
        node = min(busy, key=lambda n: n.running[1])  # type: ignore[index]
        index, now = node.running  # type: ignore[misc]
        node.running = None
        node.queue.remove(index)
        done.add(index)
        sched.mark_test_complete(node, index, 0)
    return Simulation(now, where, None, finished=sched.tests_finished and not sched.unscheduled
                      and not any(sched.node2pending.values()))


def critical_path(loaded: LoadedPlan, durations: dict[str, float]) -> float:
    finish: dict[int, float] = {}
    for number in loaded.order:
        own = sum(durations[f"{loaded.path.name}::wave1::issue{number}::{s.name}"] for s in loaded.steps[number])
        finish[number] = own + max((finish[d] for d in loaded.deps[number]), default=0.0)
    return max(finish.values())


SHAPES = {
    "chain": ({1: ([], 2), 2: ([1], 3), 3: ([2], 1), 4: ([3], 2)}, 1),
    "diamond": ({1: ([], 2), 2: ([], 3), 3: ([1, 2], 2)}, 2),
    "fan-out 8 + join": ({1: ([], 1), **{n: ([1], 2) for n in range(2, 10)}, 10: (list(range(2, 10)), 1)}, 8),
    "luminaguard": ({152: ([], 3), 154: ([], 4), 155: ([154], 5)}, 2),
}


@pytest.mark.parametrize("alone", [True, False], ids=["steps-alone", "xdist-successor"])
@pytest.mark.parametrize("shape", SHAPES)
def test_shapes_finish_in_their_critical_path_with_width_workers(pytester: pytest.Pytester, tmp_path: Path,
                                                                  shape: str, alone: bool) -> None:
    issues, width = SHAPES[shape]
    loaded = write_plan(tmp_path / "plan.yaml", issues)
    rng = random.Random(shape)
    durations = {nodeid: rng.choice([1.0, 2.0, 3.0, 5.0]) for nodeid in collection_of(loaded)}
    run = simulate(pytester, loaded, width, durations, alone=alone)
    assert run.deadlock is None and run.finished
    assert run.makespan == critical_path(loaded, durations)


def random_dag(rng: random.Random, size: int, width: int) -> dict[int, tuple[list[int], int]]:
    issues: dict[int, tuple[list[int], int]] = {}
    for n in range(1, size + 1):
        earlier = list(range(max(1, n - 3 * width), n))
        deps = rng.sample(earlier, k=min(len(earlier), rng.randint(0, 3)))
        issues[n] = (deps, rng.randint(1, 4))
    return issues


@pytest.mark.parametrize(("alone", "plain"), [(True, 0), (True, 5), (False, 0), (False, 5)],
                         ids=["steps-alone", "steps-alone-and-plain-tests", "xdist-successor",
                              "xdist-successor-and-plain-tests"])
@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_random_plans_never_deadlock_and_keep_each_issue_on_one_worker(pytester: pytest.Pytester, tmp_path: Path,
                                                                       seed: int, workers: int, alone: bool,
                                                                       plain: int) -> None:
    rng = random.Random(seed)
    loaded = write_plan(tmp_path / "plan.yaml", random_dag(rng, size=40, width=6))
    durations = {nodeid: rng.uniform(0.5, 5.0) for nodeid in collection_of(loaded)}
    run = simulate(pytester, loaded, workers, durations, alone=alone, plain=plain)
    assert run.deadlock is None and run.finished
    for number in loaded.order:
        ran_on = {run.where[f"plan.yaml::wave1::issue{number}::{s.name}"] for s in loaded.steps[number]}
        assert len(ran_on) == 1, f"#{number} was split over {ran_on}"
    # Graham's bound for list scheduling: never worse than the critical path plus an even share of the work.
    assert run.makespan <= critical_path(loaded, durations) + (sum(durations.values()) + plain) / workers + 1e-9


def test_steps_that_start_alone_finish_random_plans_near_their_critical_path(pytester: pytest.Pytester,
                                                                            tmp_path: Path) -> None:
    """Workers that must hold a successor commit to a unit before its dependencies finish and then
    wait for them while other work is ready; workers that run steps alone take whatever is ready when
    they are free, as `make -j` does. Over random plans, at their width: within 1 % of the critical
    path on average (3 % before)."""
    ratios: dict[bool, list[float]] = {True: [], False: []}
    for seed in range(24):
        rng = random.Random(seed)
        loaded = write_plan(tmp_path / f"plan{seed}.yaml", random_dag(rng, size=40, width=6))
        durations = {nodeid: rng.uniform(0.5, 5.0) for nodeid in collection_of(loaded)}
        for alone in ratios:
            run = simulate(pytester, loaded, 6, durations, alone=alone)
            assert run.deadlock is None and run.finished
            ratios[alone].append(run.makespan / critical_path(loaded, durations))
    mean = {alone: sum(found) / len(found) for alone, found in ratios.items()}
    assert mean[True] <= 1.01 < mean[False], mean


def test_units_weigh_the_longest_chain_of_steps_after_them(tmp_path: Path) -> None:
    loaded = write_plan(tmp_path / "plan.yaml", {1: ([], 1), 2: ([1], 2), 3: ([1], 5), 4: ([2, 3], 1)})
    units = {unit.key: unit for unit in build_units(collection_of(loaded), NodeIds([loaded], tmp_path))}
    assert {key: unit.weight for key, unit in units.items()} == {
        "plan::issue1": 1 + 5 + 1, "plan::issue2": 2 + 1, "plan::issue3": 5 + 1, "plan::issue4": 1}


def test_plain_tests_are_units_of_one_without_dependencies(tmp_path: Path) -> None:
    loaded = write_plan(tmp_path / "plan.yaml", {1: ([], 2)})
    collection = ["test_a.py::test_one", *collection_of(loaded), "test_a.py::test_two"]
    units = build_units(collection, NodeIds([loaded], tmp_path))
    assert [(unit.key, unit.indices, [d.key for d in unit.deps]) for unit in units] == [
        ("test_a.py::test_one", [0], []), ("plan::issue1", [1, 2], []), ("test_a.py::test_two", [3], [])]


@pytest.mark.parametrize("seed", range(8))
def test_a_crashed_worker_never_leaves_a_dependant_waiting(pytester: pytest.Pytester, tmp_path: Path,
                                                           seed: int) -> None:
    """The queue of a crashed worker goes whole to the replacement: nothing lands behind its dependants."""
    rng = random.Random(seed)
    loaded = write_plan(tmp_path / "plan.yaml", random_dag(rng, size=30, width=4))
    collection = collection_of(loaded)
    durations = {nodeid: rng.uniform(0.5, 5.0) for nodeid in collection}
    run = simulate(pytester, loaded, 3, durations, crash=rng.choice(collection[: len(collection) // 2]))
    assert run.deadlock is None and run.finished


def test_the_diamond_with_a_crash_in_one_arm(pytester: pytest.Pytester, tmp_path: Path) -> None:
    loaded = write_plan(tmp_path / "plan.yaml", {1: ([], 3), 2: ([], 1), 3: ([1], 1), 4: ([1, 2], 1)})
    durations = dict.fromkeys(collection_of(loaded), 1.0)
    run = simulate(pytester, loaded, 2, durations, crash="plan.yaml::wave1::issue1::s0")
    assert run.deadlock is None and run.finished


def test_with_merge_checks_the_issues_of_a_wave_wait_for_its_checkouts_check(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("project: p\nmerges: {}\nwaves:\n  - id: 1\n    name: One\n    issues:\n"
                    + "".join(f"      - {{number: {n}, title: T, branch: b{n}, steps: [{{run: 'true'}}]}}\n"
                              for n in (1, 2)))
    loaded = load_plan(plan, registry([]), None)
    collection = ["plan.yaml::wave1::checkouts", *collection_of(loaded), "plan.yaml::wave1::merge-1-2",
                  "plan.yaml::wave1::integration"]
    units = {unit.key: unit for unit in build_units(collection, NodeIds([loaded], tmp_path))}
    checkouts = units["plan.yaml::wave1::checkouts"]
    assert {dep.key for dep in units["plan::issue1"].deps} == {checkouts.key}
    assert {dep.key for dep in units["plan.yaml::wave1::merge-1-2"].deps} == {"plan::issue1", "plan::issue2"}
    assert checkouts.weight > units["plan::issue1"].weight
