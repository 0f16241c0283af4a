"""One writing run per repository: a second run stops at once naming the first (or waits for it with
--waves-wait), read-only runs go alongside, and a run killed with SIGKILL leaves no stale lock."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import GitWorld, issue, plan_text

HOLD = """\
import pathlib, sys, time
here = pathlib.Path(sys.argv[1])
(here / "holding").touch()
while not (here / "release").exists():
    time.sleep(0.05)
print("ran 1 test")
"""


class Holder:
    """A run in its own process whose one step holds until told to go on."""

    def __init__(self, pytester: pytest.Pytester, world: GitWorld, *args: str) -> None:
        self.dir = pytester.path
        script = self.dir / "hold.py"
        script.write_text(HOLD)
        steps = f'[worktree, {{run: ["{{python}}", "{script}", "{self.dir}"]}}]'
        self.dir.joinpath("holder.yaml").write_text(plan_text(world, issue(steps)))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "--waves", "holder.yaml", "-p", "no:cacheprovider", *args],
            cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not (self.dir / "holding").exists():
            assert time.monotonic() < deadline and self.process.poll() is None, self.output()
            time.sleep(0.05)

    def release(self) -> str:
        (self.dir / "release").touch()
        return self.output()

    def output(self) -> str:
        return self.process.communicate(timeout=60)[0].decode()


def second_run(pytester: pytest.Pytester, world: GitWorld, *args: str) -> pytest.RunResult:
    """Another run of a plan on the same repository (another issue, so no step of its own collides)."""
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue("[worktree]", number=8)))
    return pytester.runpytest("--waves", "plan.yaml", *args)


def test_a_second_run_stops_at_once_and_names_the_first(pytester: pytest.Pytester, world: GitWorld, fault) -> None:
    holder = Holder(pytester, world)
    try:
        before = world.snapshot(world.repo)
        result = second_run(pytester, world)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([
            f"ERROR: another pytest-waves run is working on {world.path}: pid {holder.process.pid} on "
            f"{socket.gethostname()}, started *, plan holder.yaml.",
            "*--waves-wait=SECONDS*"])
        assert "Traceback" not in result.stdout.str() + result.stderr.str()
        assert not (world.path / "wt/issue-8").exists()
        fault.unchanged(world, world.repo, before)
    finally:
        output = holder.release()
    assert holder.process.returncode == 0, output
    second_run(pytester, world).assert_outcomes(passed=1)  # the lock went with the run


def test_a_run_in_another_worktree_of_the_same_repository_is_stopped(pytester: pytest.Pytester,
                                                                      world: GitWorld) -> None:
    holder = Holder(pytester, world)
    try:
        result = pytester.runpytest("--waves", "holder.yaml", "--waves-repo", str(world.path / "wt/issue-7"))
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"*another pytest-waves run is working on {world.path}/wt/issue-7: pid *"])
    finally:
        holder.release()


def test_read_only_runs_go_alongside(pytester: pytest.Pytester, world: GitWorld) -> None:
    holder = Holder(pytester, world)
    try:
        assert second_run(pytester, world, "--waves-dry-run").ret == pytest.ExitCode.OK
        second_run(pytester, world, "--waves-verify").assert_outcomes(failed=1)  # checks; #8 has no worktree
        assert second_run(pytester, world, "--co").ret == pytest.ExitCode.OK
    finally:
        holder.release()


def test_waves_wait_waits_for_the_other_run(pytester: pytest.Pytester, world: GitWorld) -> None:
    holder = Holder(pytester, world)
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue("[worktree]", number=8)))
    waiting = subprocess.Popen([sys.executable, "-m", "pytest", "--waves", "plan.yaml", "-p", "no:cacheprovider",
                                "--waves-wait=60"], cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(1)
    assert waiting.poll() is None  # still waiting
    holder.release()
    output = waiting.communicate(timeout=60)[0].decode()
    assert waiting.returncode == 0, output
    assert f"waiting up to 60 s for pid {holder.process.pid}" in output


def test_waves_wait_gives_up_with_the_same_error(pytester: pytest.Pytester, world: GitWorld) -> None:
    holder = Holder(pytester, world)
    try:
        result = second_run(pytester, world, "--waves-wait=0.5")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*working on * (still, after waiting 0.5 s): pid *"])
    finally:
        holder.release()


def test_a_run_killed_with_sigkill_leaves_no_stale_lock(pytester: pytest.Pytester, world: GitWorld) -> None:
    holder = Holder(pytester, world)
    os.kill(holder.process.pid, signal.SIGKILL)
    holder.process.wait(timeout=30)
    (pytester.path / "release").touch()  # let the orphaned step end, whatever became of it
    second_run(pytester, world).assert_outcomes(passed=1)


def test_the_sandbox_is_locked_before_it_is_built(pytester: pytest.Pytester) -> None:
    """Two runs of a sandbox plan: the second must not see (or rebuild) a half-built sandbox."""
    seed = pytester.mkdir("seed")
    (seed / "README.md").write_text("hello\n")
    script = pytester.path / "hold.py"
    script.write_text(HOLD)
    pytester.path.joinpath("plan.yaml").write_text(
        "project: sand\nrepository:\n  path: .waves/sand/checkout\n  sandbox: {seed: seed}\n"
        "waves:\n  - id: 1\n    issues:\n      - number: 1\n        title: One\n        branch: feature/one\n"
        f'        steps: [{{run: ["{{python}}", "{script}", "{pytester.path}"]}}]\n')
    first = subprocess.Popen([sys.executable, "-m", "pytest", "--waves", "plan.yaml", "-p", "no:cacheprovider"],
                             cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (pytester.path / "holding").exists():
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        result = pytester.runpytest("--waves", "plan.yaml", "--waves-fresh-sandbox")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"*another pytest-waves run is working on {pytester.path}/.waves/sand/checkout: pid {first.pid}*"])
        assert Path(pytester.path / ".waves/sand/checkout/README.md").exists()
    finally:
        (pytester.path / "release").touch()
        first.communicate(timeout=60)
    assert first.returncode == 0


def test_a_run_stopped_by_a_usage_error_releases_the_lock(pytester: pytest.Pytester, world: GitWorld) -> None:
    """The lock is taken while plans load; a later usage error must not keep it (in-process runs share a process)."""
    result = second_run(pytester, world, "--waves-force-step", "issue99")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--waves-force-step issue99: no such issue*"])
    second_run(pytester, world).assert_outcomes(passed=1)
    assert not list(Path(world.repo.common_dir).glob("pytest-waves-run.json"))  # the note goes with the lock
