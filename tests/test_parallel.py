"""Plans under pytest-xdist: the gate holds across workers, issues run side by side, one table at the end.

Steps are real subprocesses (`stamp.py`) that write when they start and end and on which worker. A
step can also wait for a partner step to start: a rendezvous that can only succeed if both run at the
same time, which proves parallelism without asserting on durations.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import git
import pytest

from conftest import GitWorld, plan_text

STAMP = """
import os, sys, time
from pathlib import Path

events, label, seconds, *partners = sys.argv[1:]
events = Path(events)
events.mkdir(exist_ok=True)
worker = os.environ.get("PYTEST_XDIST_WORKER", "controller")
(events / f"{label}.start").write_text(f"{time.monotonic_ns()} {worker}")
deadline = time.monotonic() + 60
for partner in partners:
    while not (events / f"{partner}.start").exists():
        if time.monotonic() > deadline:
            sys.exit(f"{partner} never started while {label} was running")
        time.sleep(0.01)
time.sleep(float(seconds))
(events / f"{label}.end").write_text(f"{time.monotonic_ns()} {worker}")
"""


class Events:
    """What the stamp steps wrote: start and end (monotonic ns) and the worker of each label."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self, label: str, edge: str) -> tuple[int, str]:
        stamp, worker = (self.path / f"{label}.{edge}").read_text().split()
        return int(stamp), worker

    def start(self, label: str) -> int:
        return self._read(label, "start")[0]

    def end(self, label: str) -> int:
        return self._read(label, "end")[0]

    def worker(self, label: str) -> str:
        return self._read(label, "start")[1]

    def ran(self, label: str) -> bool:
        return (self.path / f"{label}.start").exists()


@pytest.fixture
def stamp(pytester: pytest.Pytester) -> tuple[str, Events]:
    script = pytester.path / "stamp.py"
    script.write_text(STAMP)
    events = pytester.path / "events"
    return f"{{python}} {script} {events}", Events(events)


def issue(number: int, steps: list[str], depends: tuple[int, ...] = (), extra: str = "") -> str:
    body = "\n".join(f"  - name: s{n}\n    run: \"{cmd}\"" for n, cmd in enumerate(steps, 1))
    deps = f"  depends_on: [{', '.join(map(str, depends))}]\n" if depends else ""
    return (f"- number: {number}\n  title: Issue {number}\n  branch: feature/issue-{number}\n{deps}{extra}"
            f"  steps:\n{textwrap.indent(body, '  ')}\n")


@pytest.mark.parametrize("workers", ["2", "4"])
def test_dependant_runs_after_a_dependency_that_passed_on_another_worker(run_plan, stamp, workers: str) -> None:
    cmd, events = stamp
    plan = (issue(1, [f"{cmd} a1 0.2 b1", f"{cmd} a2 0.2"])
            + issue(2, [f"{cmd} b1 0.2 a1"])
            + issue(3, [f"{cmd} c1 0"], depends=(1,)))
    result = run_plan(plan, "-n", workers, "-p", "no:randomly")
    result.assert_outcomes(passed=4)
    assert events.worker("a1") != events.worker("b1")  # side by side, as the rendezvous proves
    assert events.worker("a1") == events.worker("a2")  # one issue, one worker, in order
    assert events.start("a2") >= events.end("a1")
    assert events.start("c1") >= events.end("a2")  # the dependant waited for the whole dependency


@pytest.mark.parametrize("workers", ["2", "4"])
def test_dependant_is_blocked_by_a_failure_on_another_worker(run_plan, stamp, workers: str) -> None:
    cmd, events = stamp
    plan = (issue(1, [f"{cmd} a1 0.2 b1", "false", f"{cmd} a3 0"])
            + issue(2, [f"{cmd} b1 0.2 a1"])
            + issue(3, [f"{cmd} c1 0"], depends=(1,)))
    result = run_plan(plan, "-n", workers, "-rs")
    result.assert_outcomes(passed=2, failed=1, skipped=2)
    result.stdout.fnmatch_lines(["*plan.yaml:*: after failed step s2*"])  # (skips arrive in any order)
    result.stdout.fnmatch_lines(["*plan.yaml:*: blocked by #1 (step s2 failed)*"])
    assert not events.ran("a3") and not events.ran("c1")
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_diamond_runs_both_arms_at_once_and_joins_after_both(run_plan, stamp) -> None:
    cmd, events = stamp
    plan = (issue(1, [f"{cmd} a1 0.3 b1", f"{cmd} a2 0.1"])
            + issue(2, [f"{cmd} b1 0.1 a1", f"{cmd} b2 0.4"])
            + issue(3, [f"{cmd} join 0"], depends=(1, 2)))
    result = run_plan(plan, "-n", "2")
    result.assert_outcomes(passed=5)
    assert events.start("join") >= max(events.end("a2"), events.end("b2"))


def test_wave_dependency_holds_across_workers(run_plan, stamp) -> None:
    cmd, events = stamp
    first = textwrap.indent(issue(1, [f"{cmd} a 0.3 b"]) + issue(2, [f"{cmd} b 0.1 a"]), "      ")
    second = textwrap.indent(issue(3, [f"{cmd} c 0"]), "      ")
    waves = (f"waves:\n  - id: 1\n    name: Design\n    issues:\n{first}"
             f"  - id: 2\n    name: Build\n    depends_on: [1]\n    issues:\n{second}")
    result = run_plan(waves, "-n", "3")
    result.assert_outcomes(passed=3)
    assert events.start("c") >= max(events.end("a"), events.end("b"))


MIXED = (issue(1, ["true", "true"])
         + issue(2, ["true", "false", "true"])
         + issue(3, ["true"], depends=(2,))
         + issue(4, ["false"], depends=(1,), extra="  deferrable: true\n")
         + issue(5, ["true"], depends=(4,))
         + issue(6, ["true", "true"], depends=(1,)))


@pytest.mark.parametrize("args", [["-p", "no:xdist"], ["-n", "0"], ["-n", "1"], ["-n", "2"], ["-n", "8"]],
                         ids=["no-xdist", "n0", "n1", "n2", "n8"])
def test_outcomes_do_not_depend_on_the_number_of_workers(run_plan, pytester: pytest.Pytester,
                                                         args: list[str]) -> None:
    result = run_plan(MIXED, *args, "--junitxml=junit.xml")
    result.assert_outcomes(passed=5, failed=1, skipped=3, xfailed=1)
    result.stdout.fnmatch_lines([
        "*success metrics*",
        "*#1 *2/2*passed*",
        "*#2 *1/3*failed (step s2 failed)*",
        "*#3 *0/1*blocked (blocked by #2 (step s2 failed))*",
        "*#4 *0/1*deferred*",
        "*#5 *0/1*blocked (blocked by #4 (step s1 failed (deferred)))*",
        "*#6 *2/2*passed*",
    ])
    assert result.stdout.str().count("success metrics") == 1
    junit = (pytester.path / "junit.xml").read_text()
    assert junit.count("<testcase ") == 10
    assert junit.count('name="waves.issue"') == 10


def test_rerun_of_one_issue_under_xdist_trusts_the_recorded_outcome(run_plan) -> None:
    plan = issue(1, ["true"]) + issue(2, ["true"], depends=(1,))
    run_plan(plan, "-n", "2").assert_outcomes(passed=2)
    rerun = run_plan(plan, "-n", "2", "-k", "issue2")
    rerun.assert_outcomes(passed=1)  # (the xdist controller collects nothing, so counts no deselection)

    failing = issue(1, ["false"]) + issue(2, ["true"], depends=(1,))
    run_plan(failing, "-n", "2").assert_outcomes(failed=1, skipped=1)
    blocked = run_plan(failing, "-n", "2", "-k", "issue2", "-rs")
    blocked.assert_outcomes(skipped=1)
    blocked.stdout.fnmatch_lines(["*blocked by #1 (not selected in this run; last recorded outcome: failed)*"])


def test_exitfirst_stops_workers_waiting_for_a_dependency(run_plan, stamp) -> None:
    cmd, events = stamp
    plan = (issue(1, [f"{cmd} a 0.5 b", "false"])
            + issue(2, [f"{cmd} b 0.1 a", f"{cmd} b2 0"])
            + issue(3, [f"{cmd} c 0"], depends=(1, 2)))
    result = run_plan(plan, "-n", "2", "-x")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # xdist's exit status for a stop after failures
    assert not events.ran("c")


def test_eight_workers_drive_one_repository_without_lock_errors(world: GitWorld, run_plan, stamp) -> None:
    """Worktree creation, fetch, rebase, merge and push from eight workers at the same moment."""
    cmd, events = stamp
    world.advance_main({"NEWS.md": "main moved\n"})
    numbers = range(1, 9)
    for n in numbers:
        world.push_branch(f"feature/issue-{n}", {f"src/part{n}.txt": f"part {n}\n"})
    plan = ""
    for n in numbers:
        others = " ".join(f"go{m}" for m in numbers if m != n)
        plan += (f"- number: {n}\n  title: Part {n}\n  branch: feature/issue-{n}\n  worktree: wt/{n}\n"
                 f"  steps:\n"
                 f"    - run: {{cmd: \"{cmd} go{n} 0 {others}\", cwd: ../..}}\n"  # all eight start together
                 f"    - worktree\n    - rebase\n    - integrate: main\n    - push\n")
    result = run_plan(plan, "-n", "8")
    result.assert_outcomes(passed=40)
    bare = git.Repo(world.origin_path)
    main = bare.commit("main").hexsha
    for n in numbers:
        assert bare.is_ancestor(main, bare.commit(f"feature/issue-{n}"))
    assert len({events.worker(f"go{n}") for n in numbers}) == 8


def test_a_step_that_kills_its_worker_fails_and_blocks_its_dependants(world: GitWorld, pytester: pytest.Pytester,
                                                                     stamp) -> None:
    cmd, events = stamp
    plan = (issue(1, ["kill -9 $PPID", f"{cmd} a2 0"])  # the shell's parent is the xdist worker
            + issue(2, [f"{cmd} b 0"])
            + issue(3, [f"{cmd} c 0"], depends=(1,)))
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, plan))
    # A subprocess: xdist cannot replace a crashed worker inside an in-process pytester run.
    result = pytester.runpytest_subprocess("--waves", "plan.yaml", "-n", "2", "-rs", timeout=120)
    result.stdout.fnmatch_lines(["*worker 'gw*' crashed while running*issue1::s1*"])
    result.stdout.fnmatch_lines(["*#1 *0/2*failed (step s1 crashed its worker)*"])
    result.stdout.fnmatch_lines(["*blocked by #1 (step s1 crashed its worker)*"])
    assert events.ran("b") and not events.ran("a2") and not events.ran("c")
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_without_worker_restarts_a_crash_releases_the_workers_waiting_on_it(world: GitWorld,
                                                                           pytester: pytest.Pytester) -> None:
    plan = (issue(1, ["kill -9 $PPID", "true"])
            + issue(2, ["true"])
            + issue(3, ["true"], depends=(1,)))
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, plan))
    result = pytester.runpytest_subprocess("--waves", "plan.yaml", "-n", "2", "-rs", "--max-worker-restart=0",
                                           timeout=120)
    result.stdout.fnmatch_lines(["*crashed*"])
    assert "not run" in result.stdout.str() or "stopped before it finished" in result.stdout.str()
    assert result.ret != pytest.ExitCode.OK


def run_subprocess(pytester: pytest.Pytester, world: GitWorld, plan: str, *args: str) -> pytest.RunResult:
    """A run in its own process, with a timeout: for cases where the failure to catch is a hang."""
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, plan))
    return pytester.runpytest_subprocess("--waves", "plan.yaml", *args, timeout=120)


STOPPING = issue(1, ["true", "false", "true"]) + issue(2, ["true"]) + issue(3, ["true"], depends=(1,))


def test_stepwise_stops_the_run_without_leaving_a_worker_waiting(world: GitWorld, pytester: pytest.Pytester) -> None:
    result = run_subprocess(pytester, world, STOPPING, "-n", "2", "--sw")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*1 failed*"])


@pytest.mark.parametrize("args", [[], ["-n", "2"]], ids=["no-xdist", "n2"])
def test_failed_first_keeps_each_issue_in_plan_order(world: GitWorld, pytester: pytest.Pytester,
                                                     args: list[str]) -> None:
    run_subprocess(pytester, world, STOPPING, *args).assert_outcomes(passed=2, failed=1, skipped=2)
    rerun = run_subprocess(pytester, world, STOPPING, *args, "--ff", "-rs", "-p", "no:randomly")
    rerun.assert_outcomes(passed=2, failed=1, skipped=2)  # not: s2 first, then everything blocked
    rerun.stdout.fnmatch_lines(["*after failed step s2*"])
    rerun.stdout.fnmatch_lines(["*blocked by #1 (step s2 failed)*"])


def test_workers_that_collect_differently_end_the_run(world: GitWorld, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_pid="""
        import os, pytest

        @pytest.mark.parametrize("pid", [os.getpid()])
        def test_pid(pid):
            pass
    """)
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(1, ["true"])))
    result = pytester.runpytest_subprocess("--waves", "plan.yaml", "test_pid.py", "-n", "2", timeout=120)
    result.stdout.fnmatch_lines(["*Different tests were collected*"])
    assert result.ret != pytest.ExitCode.OK


def test_workers_must_run_on_this_machine(world: GitWorld, run_plan) -> None:
    result = run_plan(issue(1, ["true"]), "--dist", "load", "--tx", "ssh=build@elsewhere//python=python3")
    result.stderr.fnmatch_lines(["*--tx ssh=build@elsewhere*workers must run here*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


@pytest.mark.parametrize(("cpus", "expected"), [("8", 3), ("2", 2)])
def test_n_auto_starts_no_more_workers_than_the_plans_widest_wave(world: GitWorld, pytester: pytest.Pytester,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  cpus: str, expected: int) -> None:
    # #1 → (#2, #3, #4) → #5: three issues at most at once
    issues = (issue(1, ["true"]) + "".join(issue(n, ["true"], (1,)) for n in (2, 3, 4))
              + issue(5, ["true"], (2, 3, 4)))
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues))
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", cpus)  # xdist's count of CPUs, whatever this machine has
    for auto in ("auto", "logical"):
        result = pytester.runpytest_subprocess("--waves", "plan.yaml", "-n", auto)
        result.assert_outcomes(passed=5)
        result.stdout.fnmatch_lines([f"created: {expected}/{expected} workers"])


def test_n_auto_without_plans_is_xdists_own(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile("def test_one(): pass")
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "3")
    result = pytester.runpytest_subprocess("-n", "auto")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["created: 3/3 workers"])


NEXT_ITEM = """
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    with open("next.log", "a") as log:  # what pytest was told comes next: what teardown keeps
        log.write(f"{item.name} -> {getattr(nextitem, 'name', None)}\\n")

@pytest.fixture(scope="session")
def shared():
    with open("shared.log", "a") as log:
        log.write("set up\\n")
    yield
"""


def test_a_step_starts_without_waiting_for_a_successor(run_plan, pytester: pytest.Pytester) -> None:
    """xdist starts an item only once its worker holds the next one; a plan step starts at its turn.
    #2 is not ready until #1 finished, so nothing can have been sent after #1's last step."""
    pytester.makeconftest(NEXT_ITEM)
    result = run_plan(issue(1, ["true", "true"]) + issue(2, ["true"], depends=(1,)), "-n", "1")
    result.assert_outcomes(passed=3)
    log = pytester.path.joinpath("next.log").read_text().splitlines()
    # s2 is sent with s1 but reaches the worker's queue a moment later: s1 may not see it yet
    assert log[0] in ("s1 -> s2", "s1 -> None")
    assert log[1:] == ["s2 -> None", "s1 -> None"]  # #1's last step did not wait for #2's first


UNKNOWN_XDIST = NEXT_ITEM + """
import pytest_waves.parallel.adapters as adapters

adapters.RUN_ALONE_TESTED = ()  # as on a pytest-xdist release that run_alone was not checked against
"""


def test_on_an_xdist_release_it_was_not_checked_against_steps_wait_for_a_successor(
        world: GitWorld, pytester: pytest.Pytester) -> None:
    """xdist's own worker loop then runs the steps, and the scheduler sends the worker its next
    unit so that its last step need not wait for the end of the run."""
    pytester.makeconftest(UNKNOWN_XDIST)  # in a process of its own: the patch must not outlive the run
    plan = issue(1, ["true", "true"]) + issue(2, ["true"], depends=(1,))
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, plan))
    result = pytester.runpytest_subprocess("--waves", "plan.yaml", "-n", "1", timeout=120)
    result.assert_outcomes(passed=3)
    assert pytester.path.joinpath("next.log").read_text().splitlines() == [
        "s1 -> s2", "s2 -> s1", "s1 -> None"]


@pytest.mark.parametrize(("version", "known"), [("3.7.0", True), ("3.8.0", True), ("3.8.1.dev3", True),
                                                ("3.6.1", False), ("3.9.0", False), ("4.0.0", False),
                                                ("3.10", False), ("unknown", False)])
def test_steps_start_alone_only_on_the_xdist_releases_checked(version: str, known: bool) -> None:
    from pytest_waves.parallel.adapters import can_run_alone

    assert can_run_alone(version) is known


def test_a_worker_that_ran_a_plain_test_keeps_its_session_fixtures(world: GitWorld,
                                                                    pytester: pytest.Pytester) -> None:
    """A step that ran alone would tear down what plain tests set up for the whole session; on a
    worker that ran one, steps wait for their successor as xdist's items do."""
    pytester.makeconftest(NEXT_ITEM)
    pytester.makepyfile(test_a="def test_first(shared): pass", test_b="def test_last(shared): pass")
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(1, ["true"]) + issue(2, ["true"], (1,))))
    result = pytester.runpytest_subprocess("test_a.py", "plan.yaml", "test_b.py", "--waves", "plan.yaml",
                                           "-n", "1", "-p", "no:randomly", timeout=120)
    result.assert_outcomes(passed=4)
    assert pytester.path.joinpath("next.log").read_text().splitlines() == [
        "s1 -> None", "test_first -> s1", "s1 -> test_last", "test_last -> None"]
    assert pytester.path.joinpath("shared.log").read_text() == "set up\n"


LOOKALIKE = """
import pytest

class Check(pytest.Item):
    def runtest(self):
        pass

class Level(pytest.Collector):
    def collect(self):
        if self.name == "issue1":
            yield Check.from_parent(self, name="s1")
        else:
            yield Level.from_parent(self, name="issue1")

class Checks(pytest.File):
    def collect(self):
        yield Level.from_parent(self, name="wave1")

def pytest_collect_file(file_path, parent):
    if file_path.name == "other.check":
        return Checks.from_parent(parent, path=file_path)
"""


def test_a_test_named_like_a_plan_step_is_a_plain_test(world: GitWorld, pytester: pytest.Pytester) -> None:
    """`other.check::wave1::issue1::s1` is no step of the plan: the controller and the worker agree on
    it, so the worker's next step is not left waiting for a successor that is never sent."""
    pytester.makeconftest(LOOKALIKE)
    pytester.path.joinpath("other.check").write_text("")
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(1, ["true"]) + issue(2, ["true"], (1,))))
    result = pytester.runpytest_subprocess("plan.yaml", "other.check", "--waves", "plan.yaml", "-n", "1",
                                           "-p", "no:randomly", timeout=60)
    result.assert_outcomes(passed=3)


CRASH_BEFORE_LATE_WORKER = """
import os, pathlib, time

def pytest_configure(config):
    if os.environ.get("PYTEST_XDIST_WORKER") == "gw1":  # collects after gw0 crashed and gw2 replaced it
        deadline = time.monotonic() + 60
        while not pathlib.Path("gw2.collected").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)

def pytest_collection_finish(session):
    if os.environ.get("PYTEST_XDIST_WORKER") == "gw2":
        pathlib.Path("gw2.collected").touch()
"""


def test_a_late_workers_collection_is_checked_after_another_worker_crashed(world: GitWorld,
                                                                          pytester: pytest.Pytester) -> None:
    """A crashed worker's collection does not stand for a worker that has not collected yet: gw1,
    which collects other tests, is still checked once gw0 crashed and gw2 replaced it."""
    pytester.makeconftest(CRASH_BEFORE_LATE_WORKER)
    pytester.makepyfile(test_w="""
        import os, pytest

        @pytest.mark.parametrize("w", ["late" if os.environ.get("PYTEST_XDIST_WORKER") == "gw1" else "early"])
        def test_w(w):
            pass
    """)
    plan = issue(1, ["kill -9 $PPID"]) + issue(2, ["true"])  # the step's shell's parent: its worker
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, plan))
    result = pytester.runpytest_subprocess("plan.yaml", "test_w.py", "--waves", "plan.yaml", "-n", "2",
                                           "-p", "no:randomly", timeout=120)
    result.stdout.fnmatch_lines(["*replacing crashed worker gw0*", "*Different tests were collected*"])
    assert result.ret != pytest.ExitCode.OK


TITLES = """
import xdist.remote

def _title(title):  # where setproctitle would show it in `ps`
    with open("titles.log", "a") as log:
        log.write(title + "\\n")

xdist.remote.worker_title = _title
"""


def test_a_worker_running_a_step_says_so_in_its_process_title(run_plan, pytester: pytest.Pytester) -> None:
    """xdist names the test a worker runs in its process title; a step that starts alone does too."""
    pytester.makeconftest(TITLES)
    result = run_plan(issue(1, ["true"]), "-n", "1")
    result.assert_outcomes(passed=1)
    titles = pytester.path.joinpath("titles.log").read_text().splitlines()
    assert titles == ["[pytest-xdist running] plan.yaml::wave1::issue1::s1", "[pytest-xdist idle]"]


LATE_WORKER = """
import os, pathlib, time

def pytest_configure(config):
    if os.environ.get("PYTEST_XDIST_WORKER") == "gw1":  # starts only once gw0's step has been reported
        deadline = time.monotonic() + 60
        while not pathlib.Path("step.done").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)
"""


def run_on_a_terminal(cwd: Path, *args: str) -> str:
    """A run whose output is a pseudo-terminal, as in a developer's shell: what it wrote, colours removed."""
    leader, follower = os.openpty()
    with subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=cwd, stdin=follower, stdout=follower,
                          stderr=follower, env={**os.environ, "COLUMNS": "100"}) as run:
        os.close(follower)
        written = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the run ended and closed its side
                break
            if not chunk:
                break
            written += chunk
        run.wait(timeout=120)
    os.close(leader)
    return re.sub(r"\x1b\[[0-9;]*m", "", written.decode())


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_steps_start_before_the_last_worker_collected_without_a_redraw_over_their_progress(
        world: GitWorld, pytester: pytest.Pytester) -> None:
    """The first worker to collect starts the plan; xdist would redraw its status line in place as
    each later worker collects, over the progress that has begun on a terminal."""
    pytester.makeconftest(LATE_WORKER)
    done = pytester.path / "step.done"
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(1, [f"touch {done}"])))
    written = run_on_a_terminal(pytester.path, "--waves", "plan.yaml", "-n", "2", "-p", "no:randomly")
    assert "1 passed" in written, written
    progress = written[written.index("2 workers [1 item]"):written.index("[100%]")]
    assert progress.split("\r\n", 1)[1].strip() == ".", written  # the dot, and no status written over it


def test_a_ci_log_counts_the_items_when_work_starts_before_the_last_worker_collected(
        world: GitWorld, pytester: pytest.Pytester) -> None:
    """Not a terminal: xdist writes its status line once, when work starts, and it gives the count."""
    pytester.makeconftest(LATE_WORKER)
    done = pytester.path / "step.done"
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(1, [f"touch {done}"])))
    result = pytester.runpytest_subprocess("--waves", "plan.yaml", "-n", "2", "-p", "no:randomly", timeout=120)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["created: 2/2 workers", "2 workers [1 item]"])
    result.stdout.no_fnmatch_line("collecting: *")
