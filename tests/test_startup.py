"""What a run costs before its first step: the long-lived objects frozen out of the garbage collector
in a process that ends with the session (and only there), and workers that start from the
controller's plan instead of loading it again."""

from __future__ import annotations

import gc
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import ConfigDict, Field, field_validator

import pytest_waves.plan.transfer as transfer
from conftest import GitWorld, issue, plan_text
from pytest_waves.plan.loader import load_plan
from pytest_waves.steps import registry
from pytest_waves.steps.base import NoOptions, StepKind, StepOptions

# Each process of a run writes how many objects the collector skips (gc.get_freeze_count()) as it
# exits, after the session and pytest's own last collections: the controller as "controller", each
# xdist worker by its id.
# In one process it also writes the count as the session starts (the plan frozen) and as the first
# step is set up (its items frozen too), to "stages".
REPORT_FREEZE = """
import atexit, gc, os

def pytest_configure(config):
    who = getattr(config, "workerinput", {}).get("workerid", "controller")
    path = os.path.join(os.environ["FREEZE_REPORT"], who)
    atexit.register(lambda: open(path, "w").write(str(gc.get_freeze_count())))

def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):
        open(os.path.join(os.environ["FREEZE_REPORT"], "..", "stages"), "a").write(f"{gc.get_freeze_count()} ")

def pytest_runtest_setup(item):
    if not hasattr(item.config, "workerinput") and item.name == "run" and "issue1" in item.nodeid:
        open(os.path.join(os.environ["FREEZE_REPORT"], "..", "stages"), "a").write(f"{gc.get_freeze_count()}")
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
    if not workers:  # the items, collected after the plan was frozen, are frozen in their turn
        at_start, after_collection = map(int, (pytester.path / "stages").read_text().split())
        assert at_start > 10_000 and after_collection > at_start


@pytest.mark.usefixtures("freeze_report")
def test_a_run_without_plans_freezes_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
    assert frozen_counts(pytester) == {"controller": 0}


def test_pytest_main_in_a_process_that_goes_on_freezes_nothing(world: GitWorld, run_plan) -> None:
    """pytester's in-process run is pytest.main() inside this session: had the run frozen its
    objects, every finished run would stay in memory for as long as this process lives."""
    before = gc.get_freeze_count()
    run_plan(TWO_ISSUES).assert_outcomes(passed=2)
    assert gc.get_freeze_count() == before


# A third-party kind with options of its own, and a worker that finds the plan file broken: had it
# read the file again, it would stop with a usage error; it runs the plan the controller validated.
KIND_AND_BROKEN_FILE = """
import pytest
from pydantic import Field
from pytest_waves.steps import StepKind, StepOptions

class LintOptions(StepOptions):
    paths: list[str] = Field(min_length=1)

class Lint(StepKind[LintOptions]):
    name = "lint"
    Options = LintOptions

    def run(self, options, ctx):
        return "linted " + " ".join(options.paths)

def pytest_waves_step_kinds():
    return [Lint]

def pytest_configure(config):
    if hasattr(config, "workerinput"):
        open("plan.yaml", "w").write("waves: [ this is not a plan")
"""


def test_workers_run_the_plan_the_controller_validated(world: GitWorld, pytester: pytest.Pytester) -> None:
    pytester.makeconftest(KIND_AND_BROKEN_FILE)
    issues = issue("[{lint: {paths: [src]}}, {run: 'true'}]", 1, worktree=False) + issue(
        "[{run: 'true'}]", 2, worktree=False, depends_on=[1])
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues))
    result = pytester.runpytest_subprocess("--waves", "plan.yaml", "-n", "2", "-rA")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*PASSED*issue1::lint*"])
    assert "invalid wave plan" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("name", ["demo.yaml", "luminaguard.yaml"])
def test_a_plan_comes_through_the_transfer_whole(name: str) -> None:
    shipped = Path(__file__).resolve().parents[1] / "plans" / name
    sent = load_plan(shipped, registry())
    kinds = registry()  # a worker's own kind objects
    blob = transfer.dumps({sent.path: sent}, registry())
    assert blob is not None
    received = transfer.loads(blob, kinds)[sent.path]
    assert received.plan == sent.plan and type(received.plan) is type(sent.plan)
    assert (received.path, received.repo_root, received.deps, received.order) == (
        sent.path, sent.repo_root, sent.deps, sent.order)
    assert received.lines._lines == sent.lines._lines
    for number, steps in sent.steps.items():
        assert [(s.name, s.options, s.line, s.skip_reason) for s in received.steps[number]] == [
            (s.name, s.options, s.line, s.skip_reason) for s in steps]
        assert all(step.kind is kinds[step.kind.name] for step in received.steps[number])


def test_a_worker_without_the_controllers_kind_says_so(tmp_path: Path) -> None:
    class Lint(StepKind[NoOptions]):
        name = "lint"

    tmp_path.joinpath("plan.yaml").write_text(
        "project: p\nwaves:\n  - id: 1\n    issues:\n" + textwrap.indent(issue("[lint]", worktree=False), "      "))
    sent = load_plan(tmp_path / "plan.yaml", registry([[Lint]]))
    blob = transfer.dumps({sent.path: sent}, registry([[Lint]]))
    assert blob is not None
    with pytest.raises(transfer.TransferError, match="step kind 'lint', which this worker does not know"):
        transfer.loads(blob, registry())


# Each process writes which of these modules it imported by the end of its session.
REPORT_IMPORTS = """
import os, sys
import pytest

@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    who = getattr(config, "workerinput", {}).get("workerid", "controller")
    found = [name for name in ("yaml", "filelock", "git", "xdist.scheduler", "xdist.workermanage")
             if name in sys.modules]
    with open(os.path.join(os.environ["IMPORTS_REPORT"], who), "w") as out:
        out.write(" ".join(found))
"""


def test_workers_import_only_what_their_steps_need(world: GitWorld, pytester: pytest.Pytester,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker takes the controller's plan, so it never parses YAML; `run` steps take no file lock
    and no GitPython; xdist's schedulers are the controller's. Each of these costs every worker
    milliseconds (xdist's) to tens of milliseconds at start-up."""
    pytester.makeconftest(REPORT_IMPORTS)
    monkeypatch.setenv("IMPORTS_REPORT", str(pytester.mkdir("imports")))
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, TWO_ISSUES))
    pytester.runpytest_subprocess("--waves", "plan.yaml", "-n", "2").assert_outcomes(passed=2)
    found = {path.name: path.read_text() for path in (pytester.path / "imports").iterdir()}
    assert found == {"controller": "yaml xdist.scheduler xdist.workermanage", "gw0": "", "gw1": ""}


# Options models no import can find: built by create_model, and a class made inside a function.
UNIMPORTABLE_OPTIONS = """
from pydantic import create_model
from pytest_waves.steps import StepKind, StepOptions

def _made_here():
    class Inner(StepOptions):
        level: int = 1
    return Inner

class Lint(StepKind):
    name = "lint"
    Options = create_model("LintOptions", __base__=StepOptions, paths=(list[str], ...))

    def run(self, options, ctx):
        return "linted " + " ".join(options.paths)

class Check(StepKind):
    name = "check"
    Options = _made_here()

    def run(self, options, ctx):
        return f"checked at level {options.level}"

def pytest_waves_step_kinds():
    return [Lint, Check]
"""


def test_kinds_whose_options_no_import_can_find_run_under_xdist(world: GitWorld, pytester: pytest.Pytester) -> None:
    pytester.makeconftest(UNIMPORTABLE_OPTIONS)
    issues = issue("[{lint: {paths: [src]}}, {check: {level: 2}}]", 1, worktree=False) + issue(
        "[check]", 2, worktree=False, depends_on=[1])
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues))
    result = pytester.runpytest_subprocess("--waves", "plan.yaml", "-n", "2")
    result.assert_outcomes(passed=3)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


UNPICKLABLE_OPTION = """
import threading
from typing import Any
from pydantic import ConfigDict, Field, field_validator
from pytest_waves.steps import StepKind, StepOptions

class Locked(StepOptions):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    lock: Any = Field(default=None, validate_default=True)

    @field_validator("lock", mode="before")
    @classmethod
    def _make(cls, value):
        return threading.Lock()

class Hold(StepKind):
    name = "hold"
    Options = Locked

    def run(self, options, ctx):
        with options.lock:
            return "held"

def pytest_waves_step_kinds():
    return [Hold]
"""


def test_a_plan_that_does_not_pickle_runs_under_xdist(world: GitWorld, pytester: pytest.Pytester) -> None:
    pytester.makeconftest(UNPICKLABLE_OPTION)
    issues = issue("[hold]", 1, worktree=False) + issue("[hold]", 2, worktree=False, depends_on=[1])
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues))
    result = pytester.runpytest_subprocess("--waves", "plan.yaml", "-n", "2")
    result.assert_outcomes(passed=2)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_a_plan_that_does_not_pickle_is_not_sent(tmp_path: Path) -> None:
    """An option's value that cannot be pickled (a validator may make anything): not sent at all."""
    class Locked(StepOptions):
        model_config = ConfigDict(arbitrary_types_allowed=True)
        lock: Any = Field(default=None, validate_default=True)

        @field_validator("lock", mode="before")
        @classmethod
        def _make(cls, value: Any) -> Any:
            return threading.Lock()

    class Hold(StepKind[Locked]):
        name = "hold"
        Options = Locked

    kinds = registry([[Hold]])
    tmp_path.joinpath("plan.yaml").write_text(
        "project: p\nwaves:\n  - id: 1\n    issues:\n" + textwrap.indent(issue("[hold]", worktree=False), "      "))
    sent = load_plan(tmp_path / "plan.yaml", kinds)
    assert transfer.dumps({sent.path: sent}, kinds) is None


BREAK_THE_FILE_ON_THE_CONTROLLER = """
def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        open("plan.yaml", "w").write("waves: [ this is not a plan")
"""


def test_n_auto_reads_the_plan_once(world: GitWorld, pytester: pytest.Pytester,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """`-n auto` sizes the run by the plan before pytest_configure; the run then uses that reading
    (a conftest breaks the file in between: read again, it would be a usage error)."""
    pytester.makeconftest(BREAK_THE_FILE_ON_THE_CONTROLLER)
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "4")
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, TWO_ISSUES))
    result = pytester.runpytest_subprocess("--waves", "plan.yaml", "-n", "auto")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*2 workers*"])  # the plan's width, not the 4 CPUs xdist was told of
