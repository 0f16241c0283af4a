"""A commit someone else pushed to the issue's branch survives every run: before the run, during it
(after the run's own fetch) and between two runs. The lease is never taken from a ref the run's own
fetch moved; git's `--force-if-includes` and the branch's reflog decide what was integrated."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from conftest import GitWorld, issue

pytestmark = pytest.mark.usefixtures("planted_token")

BRANCH = "feature/issue-7"


def teammate_pushes(world: GitWorld, tmp_path: Path, name: str = "mate.txt") -> str:
    """A reviewer's fixup pushed from another clone, by another author."""
    mate = tmp_path / f"mate-{name}"
    clone = git.Repo.clone_from(str(world.origin_path), mate, branch=BRANCH)
    (mate / name).write_text("the teammate's fixup\n")
    clone.git.add("--all")
    clone.git.commit("-q", "-m", "fixup from review", author="Rita Reviewer <rita@example.invalid>")
    clone.git.push("origin", BRANCH)
    return clone.head.commit.hexsha


def on_origin(world: GitWorld) -> git.Commit:
    return git.Repo(world.origin_path).commit(BRANCH)


def keeps_teammate_work(world: GitWorld, fault, subject: str = "fixup from review", name: str = "mate.txt") -> None:
    """The teammate's commit (perhaps replayed onto a newer main, by its subject and author) and its
    file are on origin's branch."""
    fault.commits_kept(world.origin_path, BRANCH, [subject])
    origin = git.Repo(world.origin_path)
    assert "rita@example.invalid" in [c.author.email for c in origin.iter_commits(BRANCH)]
    assert name in [blob.name for blob in on_origin(world).tree.blobs]


def test_a_commit_pushed_before_the_run_is_integrated_not_overwritten(world: GitWorld, run_plan, tmp_path, fault) -> None:
    world.worktree("wt/issue-7", BRANCH, {"f.txt": "1\n"})
    run_plan(issue("[push]")).assert_outcomes(passed=1)
    teammate_pushes(world, tmp_path)
    world.advance_main({"g.txt": "2\n"})
    result = run_plan(issue("[rebase, push]"), "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*fast-forwarded to origin/feature/issue-7 (1 commit: *fixup from review*",
                                 "*pushed * (with lease after rewrite)*"])
    keeps_teammate_work(world, fault)


def test_a_push_step_alone_names_the_commits_it_would_overwrite(world: GitWorld, run_plan, tmp_path, fault) -> None:
    tree = world.worktree("wt/issue-7", BRANCH, {"f.txt": "1\n"})
    run_plan(issue("[push]")).assert_outcomes(passed=1)
    theirs = teammate_pushes(world, tmp_path)
    tree.git.fetch("origin")  # what the teammate pushed is known here, but was never integrated
    tree.git.commit("--amend", "-q", "-m", "rewritten")
    before = world.snapshot(tree)
    result = run_plan(issue("[push]"))
    result.assert_outcomes(failed=1)
    keeps_teammate_work(world, fault)
    result.stdout.fnmatch_lines([
        "*origin/feature/issue-7 has 1 commit that feature/issue-7 never integrated; nothing was pushed*",
        f"*{theirs[:12]} fixup from review (Rita Reviewer*",
        "*integrate origin/feature/issue-7 first*"])
    assert on_origin(world).hexsha == theirs
    fault.unchanged(world, tree, before)


def test_a_commit_pushed_during_the_run_after_its_fetch_survives(world: GitWorld, run_plan, tmp_path, fault) -> None:
    tree = world.worktree("wt/issue-7", BRANCH, {"f.txt": "1\n"})
    run_plan(issue("[push]")).assert_outcomes(passed=1)
    world.advance_main({"g.txt": "2\n"})
    # the teammate pushes between the rebase's fetch and the push, from a step of the run itself
    script = tmp_path / "mate.py"
    script.write_text(
        "import git, sys\n"
        f"clone = git.Repo.clone_from({str(world.origin_path)!r}, {str(tmp_path / 'late')!r}, branch={BRANCH!r})\n"
        f"open({str(tmp_path / 'late' / 'late.txt')!r}, 'w').write('late\\n')\n"
        "clone.git.add('--all')\n"
        "clone.git.commit('-q', '-m', 'pushed while the run ran', author='Rita Reviewer <rita@example.invalid>')\n"
        f"clone.git.push('origin', {BRANCH!r})\n"
        "print('ran 1 test')\n")
    steps = f'[rebase, {{run: ["{{python}}", "{script}"]}}, push]'
    result = run_plan(issue(steps))
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*origin/feature/issue-7 has 1 commit that feature/issue-7 never integrated*",
                                 "*pushed while the run ran (Rita Reviewer*"])
    keeps_teammate_work(world, fault, "pushed while the run ran", "late.txt")
    tree.git.fetch("origin")  # the step fetches first: remote-tracking refs may move, nothing else
    before = world.snapshot(tree)
    # the next run refuses: the branch was rebased since, so the commit cannot simply be taken in
    result = run_plan(issue("[rebase, push]"))
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["*origin/feature/issue-7 has 1 commit that feature/issue-7 never integrated; nothing was changed*"])
    keeps_teammate_work(world, fault, "pushed while the run ran", "late.txt")
    fault.unchanged(world, tree, before)


def test_a_commit_pushed_between_two_runs_survives(world: GitWorld, run_plan, tmp_path, fault) -> None:
    world.worktree("wt/issue-7", BRANCH, {"f.txt": "1\n"})
    world.advance_main({"g.txt": "2\n"})
    run_plan(issue("[rebase, push]")).assert_outcomes(passed=2)
    teammate_pushes(world, tmp_path)
    world.advance_main({"h.txt": "3\n"})
    run_plan(issue("[rebase, push]")).assert_outcomes(passed=2)
    keeps_teammate_work(world, fault)
    assert git.Repo(world.origin_path).is_ancestor("main", BRANCH)


def test_the_run_after_a_refused_push_does_not_force_past_the_commit(world: GitWorld, run_plan, tmp_path,
                                                                   fault) -> None:
    tree = world.worktree("wt/issue-7", BRANCH, {"f.txt": "1\n"})
    run_plan(issue("[push]")).assert_outcomes(passed=1)
    theirs = teammate_pushes(world, tmp_path)
    tree.git.commit("--amend", "-q", "-m", "rewritten")  # our own rewrite, on top of which they did not build
    run_plan(issue("[push]")).assert_outcomes(failed=1)
    run_plan(issue("[push]")).assert_outcomes(failed=1)  # the refusal is not forgotten by the next run
    world.advance_main({"g.txt": "2\n"})
    tree.git.fetch("origin")
    before = world.snapshot(tree)
    result = run_plan(issue("[rebase, push]"))  # neither history is simply newer: a person decides
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "*origin/feature/issue-7 has 1 commit that feature/issue-7 never integrated; nothing was changed*",
        "*fixup from review (Rita Reviewer*",
        "*and 1 commit this branch held but no longer has (amended, reset or rebased here): * work on feature/issue-7*"])
    assert on_origin(world).hexsha == theirs
    keeps_teammate_work(world, fault)
    fault.unchanged(world, tree, before)


@pytest.mark.parametrize("rewrite", ["amend", "reset"])
def test_a_local_rewrite_is_never_undone_by_taking_in_pushed_work(world: GitWorld, run_plan, tmp_path, fault,
                                                                   rewrite: str) -> None:
    """An amend that removed a file, or a reset that dropped a bad commit: taking the teammate's
    commit in would bring back what was removed. Refused, nothing changed."""
    tree = world.worktree("wt/issue-7", BRANCH, {"f.txt": "1\n", "secret.txt": "oops\n"})
    if rewrite == "reset":
        world.commit(tree, {"bad.txt": "bad\n"}, "bad commit")
    run_plan(issue("[push]")).assert_outcomes(passed=1)
    teammate_pushes(world, tmp_path)
    if rewrite == "amend":
        tree.git.rm("-q", "secret.txt")
        tree.git.commit("--amend", "-q", "--no-edit")
    else:
        tree.git.reset("-q", "--hard", "HEAD~1")
    tree.git.fetch("origin")
    before = world.snapshot(tree)
    result = run_plan(issue("[rebase, push]"))
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*never integrated; nothing was changed*",
                                 "*this branch held but no longer has (amended, reset or rebased here)*"])
    fault.unchanged(world, tree, before)
    keeps_teammate_work(world, fault)


def test_a_failed_rebase_after_taking_pushed_work_keeps_it_and_says_so(world: GitWorld, run_plan, tmp_path,
                                                                        fault) -> None:
    world.worktree("wt/issue-7", BRANCH, {"README.md": "mine\n"})
    run_plan(issue("[push]")).assert_outcomes(passed=1)
    teammate_pushes(world, tmp_path)
    world.advance_main({"README.md": "theirs\n"})  # our commit conflicts with main
    result = run_plan(issue("[rebase, push]"))
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*feature/issue-7 first fast-forwarded to origin/feature/issue-7 (1 commit: * "
                                 "(kept); then: rebase onto origin/main stopped on conflicts; rebase aborted, "
                                 "the branch stays as it took them in*"])
    keeps_teammate_work(world, fault)


def test_local_commits_on_top_are_replayed_onto_the_teammates(world: GitWorld, run_plan, tmp_path, fault) -> None:
    tree = world.worktree("wt/issue-7", BRANCH, {"f.txt": "1\n"})
    run_plan(issue("[push]")).assert_outcomes(passed=1)
    teammate_pushes(world, tmp_path)
    world.commit(tree, {"more.txt": "more\n"}, "my next commit")  # not pushed yet
    result = run_plan(issue("[rebase, push]"), "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*rebased onto origin/feature/issue-7 (1 commit: *fixup from review*"])
    keeps_teammate_work(world, fault)
    assert "more.txt" in [b.name for b in on_origin(world).tree.blobs]


def test_a_branch_rewritten_only_by_the_run_pushes_with_a_lease(world: GitWorld, run_plan) -> None:
    tree = world.worktree("wt/issue-7", BRANCH, {"f.txt": "1\n"})
    run_plan(issue("[push]")).assert_outcomes(passed=1)
    world.advance_main({"g.txt": "2\n"})
    result = run_plan(issue("[rebase, push]"), "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*pushed * (with lease after rewrite)*"])
    assert on_origin(world).hexsha == tree.head.commit.hexsha
