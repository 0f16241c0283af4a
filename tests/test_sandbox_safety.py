"""The sandbox is throwaway, not worthless: it is never rebuilt over work (uncommitted or untracked
files, stashes, commits not on the origin), only from what it made, and --waves-fresh-sandbox moves
the old one aside instead of deleting it."""

from __future__ import annotations

import shutil
from pathlib import Path

import git
import pytest

from conftest import contents, fingerprint

PLAN = """\
project: sand
repository:
  path: .waves/sand/checkout
  sandbox:
    seed: seed/main
    branches: {feature/one: seed/one}
waves:
  - id: 1
    issues:
      - number: 1
        title: One
        branch: feature/one
        worktree: .worktrees/one
        steps: [worktree, push]
"""


@pytest.fixture
def sandbox(pytester: pytest.Pytester) -> Path:
    """A sandbox plan that has run once: its checkout, with the issue's worktree, and its origin."""
    for folder, name in (("seed/main", "README.md"), ("seed/one", "one.txt")):
        pytester.mkdir(folder) if "/" not in folder else pytester.path.joinpath(folder).mkdir(parents=True)
        pytester.path.joinpath(folder, name).write_text(f"{name}\n")
    pytester.path.joinpath("plan.yaml").write_text(PLAN)
    pytester.runpytest("--waves", "plan.yaml").assert_outcomes(passed=2)
    return pytester.path / ".waves/sand"


def test_a_missing_origin_never_rebuilds_over_work(pytester: pytest.Pytester, sandbox: Path, fault) -> None:
    checkout, tree = sandbox / "checkout", sandbox / "checkout/.worktrees/one"
    work = git.Repo(tree)
    (tree / "one.txt").write_text("edited, not committed\n")
    (tree / "notes.txt").write_text("untracked notes\n")
    (checkout / "scratch.txt").write_text("stash me\n")
    main = git.Repo(checkout)
    main.git.add("scratch.txt")
    main.git.stash("push", "-m", "half an idea")
    work.git.commit("-q", "--allow-empty", "-m", "my unpushed commit")
    shutil.rmtree(sandbox / "checkout-origin.git")
    before = contents(sandbox)
    result = pytester.runpytest("--waves", "plan.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: *plan.yaml: cannot build the sandbox repository: the sandbox's origin *checkout-origin.git is "
        "missing, and rebuilding the sandbox would delete work in *checkout:",
        "  uncommitted in .worktrees/one: M one.txt",
        "  uncommitted in .worktrees/one: ?? notes.txt",
        "  stash: stash@{0}: On main: half an idea",
        "  commit: * my unpushed commit (Test Developer)",
        "  nothing was touched; --waves-fresh-sandbox moves the old sandbox aside*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    fault.files_unchanged(before, sandbox)


def test_fresh_sandbox_moves_the_old_one_aside_whole(pytester: pytest.Pytester, sandbox: Path) -> None:
    tree = sandbox / "checkout/.worktrees/one"
    (tree / "notes.txt").write_text("untracked notes\n")
    git.Repo(tree).git.commit("-q", "--allow-empty", "-m", "my unpushed commit")
    result = pytester.runpytest("--waves", "plan.yaml", "--waves-fresh-sandbox")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["sandbox: the old sandbox was moved to *old-sandboxes/plan-* (nothing deleted); "
                                 "building a new one"])
    (aside,) = (pytester.path / ".waves/old-sandboxes").iterdir()
    old_tree = git.Repo(aside / "checkout/.worktrees/one")  # still a working worktree, links repaired
    assert old_tree.head.commit.message.strip() == "my unpushed commit"
    assert (aside / "checkout/.worktrees/one/notes.txt").read_text() == "untracked notes\n"
    old_checkout = git.Repo(aside / "checkout")
    assert old_checkout.remote("origin").url == str(aside / "checkout-origin.git")  # not the new sandbox's
    assert old_tree.git.status("--porcelain") == "?? notes.txt"
    new_tree = git.Repo(sandbox / "checkout/.worktrees/one")
    assert "my unpushed commit" not in new_tree.head.commit.message


def test_a_missing_origin_with_no_work_is_rebuilt_and_said(pytester: pytest.Pytester, sandbox: Path) -> None:
    shutil.rmtree(sandbox / "checkout-origin.git")
    result = pytester.runpytest("--waves", "plan.yaml")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["sandbox: the origin *checkout-origin.git was missing; rebuilt the sandbox "
                                 "(its checkout held no work)"])


def test_a_missing_checkout_is_cloned_again_from_the_origin(pytester: pytest.Pytester, sandbox: Path) -> None:
    pushed = git.Repo(sandbox / "checkout-origin.git").commit("feature/one").hexsha
    origin_before = fingerprint(sandbox / "checkout-origin.git")
    shutil.rmtree(sandbox / "checkout")
    result = pytester.runpytest("--waves", "plan.yaml")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["sandbox: *checkout was missing; cloned it again from *checkout-origin.git"])
    assert git.Repo(sandbox / "checkout/.worktrees/one").head.commit.hexsha == pushed
    assert fingerprint(sandbox / "checkout-origin.git") == origin_before


def test_a_repository_the_sandbox_did_not_make_is_never_removed(pytester: pytest.Pytester, fault) -> None:
    pytester.path.joinpath("seed/main").mkdir(parents=True)
    pytester.path.joinpath("seed/one").mkdir(parents=True)
    pytester.path.joinpath("plan.yaml").write_text(PLAN)
    mine = git.Repo.init(pytester.path / ".waves/sand/checkout")  # someone's own repository, at that path
    (pytester.path / ".waves/sand/checkout/thesis.md").write_text("three years of work\n")
    mine.git.add("--all")
    mine.git.commit("-q", "-m", "thesis")
    before = contents(pytester.path / ".waves/sand/checkout")
    result = pytester.runpytest("--waves", "plan.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*checkout is not a sandbox pytest-waves built, and its other half is missing; "
                                 "nothing was touched*"])
    fault.files_unchanged(before, pytester.path / ".waves/sand/checkout")


@pytest.mark.parametrize("work", ["pushed", "ignored", "tagged"])
def test_with_the_origin_gone_pushed_ignored_and_tagged_work_counts(pytester: pytest.Pytester, sandbox: Path,
                                                                     fault, work: str) -> None:
    """The origin is gone, so a pushed commit's only copy is in the checkout; ignored files are
    someone's (a .env); a commit only a tag reaches is still a commit."""
    tree = sandbox / "checkout/.worktrees/one"
    repo = git.Repo(tree)
    if work == "pushed":
        repo.git.commit("-q", "--allow-empty", "-m", "pushed work")
        repo.git.push("-q", "origin", "feature/one")
    elif work == "ignored":
        (Path(repo.common_dir) / "info").mkdir(exist_ok=True)
        (Path(repo.common_dir) / "info/exclude").write_text("*.local\n")
        (tree / "secrets.local").write_text("API_KEY=mine\n")
    else:
        repo.git.commit("-q", "--allow-empty", "-m", "tagged work")
        repo.git.tag("v-mine")
        repo.git.reset("-q", "--hard", "HEAD~1")
    shutil.rmtree(sandbox / "checkout-origin.git")
    before = contents(sandbox / "checkout")
    result = pytester.runpytest("--waves", "plan.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    expected = {"pushed": "  commit: * pushed work (Test Developer)",
                "ignored": "  ignored in .worktrees/one: !! secrets.local",
                "tagged": "  commit: * tagged work (Test Developer)"}[work]
    result.stderr.fnmatch_lines(["*would delete work in *checkout:", expected])
    fault.files_unchanged(before, sandbox / "checkout")


def test_a_sandbox_half_built_by_a_stopped_run_is_built_again(pytester: pytest.Pytester, sandbox: Path) -> None:
    marker = sandbox / "checkout/.git/pytest-waves-sandbox.building"
    marker.touch()  # as a run killed while building leaves it
    result = pytester.runpytest("--waves", "plan.yaml")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["sandbox: an earlier run stopped while building the sandbox; built it again"])
    assert not marker.exists()


@pytest.mark.parametrize("read_only", ["--waves-dry-run", "--co", "--waves-verify"])
def test_a_read_only_run_neither_builds_nor_moves_the_sandbox(pytester: pytest.Pytester, sandbox: Path,
                                                              read_only: str) -> None:
    before = fingerprint(sandbox / "checkout")
    result = pytester.runpytest("--waves", "plan.yaml", read_only, "--waves-fresh-sandbox")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {read_only.replace('--co', '--collect-only')} writes nothing, so it "
                                 "cannot rebuild the sandbox (--waves-fresh-sandbox)"])
    shutil.rmtree(sandbox / "checkout-origin.git")  # missing: a read-only run does not rebuild it either
    assert pytester.runpytest("--waves", "plan.yaml", read_only).ret in (pytest.ExitCode.OK,
                                                                         pytest.ExitCode.TESTS_FAILED)
    assert not (sandbox / "checkout-origin.git").exists()
    assert fingerprint(sandbox / "checkout") == before


def test_verify_before_the_sandbox_is_built_says_to_run_the_plan_once(pytester: pytest.Pytester, sandbox: Path) -> None:
    shutil.rmtree(sandbox)  # a fresh clone: the demo has never run
    result = pytester.runpytest("--waves", "plan.yaml", "--waves-verify")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *the repository * does not exist (repository.path: *); "
                                 "run the plan once without --waves-verify: it builds its sandbox repository"])
    assert not sandbox.exists()
