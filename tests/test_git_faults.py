"""Git faults on real repositories: each step fails (or recovers) with a clear message, and every ref,
HEAD, index, status and working file is as it was (GitWorld.snapshot)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest

from conftest import GitWorld, issue, plan_text

# A token sits in the environment and in the origin's URL; no output or file of these runs may show it.
pytestmark = pytest.mark.usefixtures("planted_token")



def first_error(result: pytest.RunResult) -> str:
    assert "Traceback" not in result.stdout.str(), result.stdout.str()
    return result.stdout.str()


def test_untracked_files_a_rebase_would_overwrite(world: GitWorld, run_plan, fault) -> None:
    tree = world.worktree("wt/issue-7", "feature/issue-7", {"mine.txt": "mine\n"})
    world.advance_main({"notes.txt": "from main\n"})
    (Path(tree.working_dir) / "notes.txt").write_text("my untracked notes\n")  # would be overwritten
    tree.git.fetch("origin")  # the step fetches first: remote-tracking refs may move, nothing else
    before = world.snapshot(tree)
    result = run_plan(issue("[rebase]"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*git rebase origin/main failed; nothing was changed*",
                                 "*untracked working tree files would be overwritten*"])
    fault.unchanged(world, tree, before)
    assert (Path(tree.working_dir) / "notes.txt").read_text() == "my untracked notes\n"
    first_error(result)


def test_a_stale_index_lock_is_reported_and_left_alone(world: GitWorld, run_plan, fault) -> None:
    tree = world.worktree("wt/issue-7", "feature/issue-7", {"mine.txt": "mine\n"})
    world.advance_main({"news.txt": "news\n"})
    lock = Path(tree.git_dir) / "index.lock"
    lock.write_text("")
    tree.git.fetch("origin")
    before = world.snapshot(tree)
    result = run_plan(issue("[rebase]"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*index.lock*"])
    assert lock.exists()  # another git may own it: removing it is the user's call
    fault.unchanged(world, tree, before)
    first_error(result)


def test_a_worktree_directory_removed_by_hand_is_recreated(world: GitWorld, run_plan) -> None:
    world.push_branch("feature/issue-7", {"doc.md": "# Doc\n"})
    run_plan(issue("[worktree]")).assert_outcomes(passed=1)
    shutil.rmtree(world.path / "wt/issue-7")  # git still lists it (prunable)
    result = run_plan(issue("[worktree]"), "-rA")
    result.assert_outcomes(passed=1)
    assert git.Repo(world.path / "wt/issue-7").active_branch.name == "feature/issue-7"


def test_an_unreachable_remote_is_a_clear_failure(world: GitWorld, run_plan, fault) -> None:
    tree = world.worktree("wt/issue-7", "feature/issue-7", {"mine.txt": "mine\n"})
    world.repo.git.remote("set-url", "origin", str(world.root / "gone.git"))
    before = world.snapshot(tree)
    for step in ("rebase", "push"):
        result = run_plan(issue(f"[{step}]"))
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*origin*", "*does not appear to be a git repository*"])
        first_error(result)
    fault.unchanged(world, tree, before)


def test_a_branch_deleted_on_the_remote_is_pushed_again(world: GitWorld, run_plan) -> None:
    tree = world.worktree("wt/issue-7", "feature/issue-7", {"mine.txt": "mine\n"})
    run_plan(issue("[push]")).assert_outcomes(passed=1)
    git.Repo(world.origin_path).git.branch("-D", "feature/issue-7")  # someone deleted it after merging
    result = run_plan(issue("[push]"), "-rA")
    result.assert_outcomes(passed=1)
    assert git.Repo(world.origin_path).commit("feature/issue-7").hexsha == tree.head.commit.hexsha


def test_a_command_killed_by_a_signal_says_which(world: GitWorld, run_plan) -> None:
    result = run_plan(issue('[{run: ["sh", "-c", "kill -TERM $$"]}]', worktree=False))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*killed by signal 15 (SIGTERM), expected exit code 0*"])


def test_a_failing_command_that_prints_the_remote_url_and_token_shows_them_masked(world: GitWorld, run_plan) -> None:
    # git itself hides credentials in its messages; a command's output does not (planted_token checks all)
    world.worktree("wt/issue-7", "feature/issue-7")
    result = run_plan(issue('[{run: "git config remote.origin.url; echo token=$GITHUB_TOKEN; exit 1"}]'), "--junitxml=junit.xml",
                      "--waves-report=report.md", "--waves-json=report.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*| https://***@example.invalid/acme/luminaguard.git", "*| token=***"])


def test_output_that_is_not_utf8_is_shown_not_fatal(world: GitWorld, run_plan) -> None:
    script = "import sys; sys.stdout.buffer.write(bytes([0xff, 0xfe]) + b' raw bytes\\\\n'); sys.exit(2)"
    result = run_plan(issue(f'[{{run: ["{{python}}", "-c", "{script}"]}}]', worktree=False))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*exit code 2, expected exit code 0*", "*| �� raw bytes*"])
    first_error(result)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_during_a_rebase_leaves_no_rebase_half_done(world: GitWorld, pytester: pytest.Pytester,
                                                             sig: signal.Signals) -> None:
    tree = world.worktree("wt/issue-7", "feature/issue-7")
    for n in range(3):
        world.commit(tree, {f"part{n}.txt": f"{n}\n"}, f"part {n}")
    world.advance_main({"news.txt": "news\n"})
    original = tree.head.commit.hexsha
    marker = pytester.path / "rebasing"
    hook = Path(world.repo.git_dir) / "hooks" / "post-commit"  # git runs it for each commit a rebase makes
    hook.write_text(f"#!/bin/sh\ntouch {marker}\nsleep 1\n")
    hook.chmod(0o755)
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue("[rebase]")))
    run = subprocess.Popen([sys.executable, "-m", "pytest", "--waves", "plan.yaml", "-p", "no:cacheprovider"],
                           cwd=pytester.path, start_new_session=True,  # its own group, as a terminal job
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline and run.poll() is None, "the rebase never started"
        time.sleep(0.05)
    os.killpg(run.pid, sig)  # what Ctrl-C in a terminal (or a CI runner's SIGTERM) does: the whole group
    run.communicate(timeout=60)
    assert not (Path(tree.git_dir) / "rebase-merge").exists(), "a rebase was left half done"
    assert tree.git.status("--porcelain") == ""
    rebased = tree.is_ancestor("origin/main", "HEAD")
    assert tree.head.commit.hexsha == original or rebased
    assert rebased  # the rebase had started: it was let finish, then the signal was delivered


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_during_a_push_lets_the_push_finish_whole(world: GitWorld, pytester: pytest.Pytester,
                                                          sig: signal.Signals) -> None:
    tree = world.worktree("wt/issue-7", "feature/issue-7", {"mine.txt": "mine\n"})
    marker = pytester.path / "pushing"
    hook = Path(world.repo.git_dir) / "hooks" / "pre-push"  # git runs it once the push has begun
    hook.write_text(f"#!/bin/sh\ntouch {marker}\nsleep 1\n")
    hook.chmod(0o755)
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue("[push, {run: {cmd: 'true', allow_empty: true}}]")))
    run = subprocess.Popen([sys.executable, "-m", "pytest", "--waves", "plan.yaml", "-p", "no:cacheprovider"],
                           cwd=pytester.path, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline and run.poll() is None, "the push never started"
        time.sleep(0.05)
    os.killpg(run.pid, sig)
    output = run.communicate(timeout=60)[0].decode()
    assert run.returncode == pytest.ExitCode.INTERRUPTED, output
    # the push was let finish, then the run stopped before its next step
    assert git.Repo(world.origin_path).commit("feature/issue-7").hexsha == tree.head.commit.hexsha
    assert "KeyboardInterrupt" in output and "2 passed" not in output
    assert not (Path(tree.git_dir) / "index.lock").exists() and tree.git.status("--porcelain") == ""
