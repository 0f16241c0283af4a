"""What a run costs before its first step, and what it leaves behind: the long-lived objects frozen
out of the garbage collector while a plan runs, and given back when pytest ran in a process that
goes on; workers that start from the controller's plan instead of loading it again."""

from __future__ import annotations

import gc

import pytest

from conftest import GitWorld, issue, plan_text

# Each process of a run writes how many objects the collector skips (gc.get_freeze_count()) as it
# exits, after the session and pytest's own last collections: the controller as "controller", each
# xdist worker by its id.
REPORT_FREEZE = """
import atexit, gc, os

def pytest_configure(config):
    who = getattr(config, "workerinput", {}).get("workerid", "controller")
    path = os.path.join(os.environ["FREEZE_REPORT"], who)
    atexit.register(lambda: open(path, "w").write(str(gc.get_freeze_count())))
"""

TWO_ISSUES = issue("[{run: 'true'}]", 1, worktree=False) + issue("[{run: 'true'}]", 2, worktree=False)


def frozen_counts(pytester: pytest.Pytester) -> dict[str, int]:
    return {path.name: int(path.read_text()) for path in pytester.path.joinpath("freeze").iterdir()}


@pytest.fixture
def freeze_report(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeconftest(REPORT_FREEZE)
    pytester.mkdir("freeze")
    monkeypatch.setenv("FREEZE_REPORT", str(pytester.path / "freeze"))


@pytest.mark.usefixtures("freeze_report")
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_plan_run_keeps_its_long_lived_objects_out_of_the_collector(
        world: GitWorld, pytester: pytest.Pytester, workers: list[str]) -> None:
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, TWO_ISSUES))
    pytester.runpytest_subprocess("--waves", "plan.yaml", *workers).assert_outcomes(passed=2)
    counts = frozen_counts(pytester)
    assert set(counts) == ({"controller", "gw0", "gw1"} if workers else {"controller"})
    # the engine's modules, the plan's models and the items: tens of thousands of objects, each
    # of which every full collection, the process's last one included, would otherwise walk again
    assert all(count > 10_000 for count in counts.values()), counts


@pytest.mark.usefixtures("freeze_report")
def test_a_run_without_plans_freezes_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
    assert frozen_counts(pytester) == {"controller": 0}


def test_pytest_main_in_a_process_that_goes_on_gives_the_objects_back(world: GitWorld, run_plan) -> None:
    """pytester's in-process run is pytest.main() in this process: had the run left its objects
    frozen, every finished run would stay in memory for as long as this process lives."""
    before = gc.get_freeze_count()
    run_plan(TWO_ISSUES).assert_outcomes(passed=2)
    assert gc.get_freeze_count() == before
