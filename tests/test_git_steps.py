"""worktree, rebase, integrate and push on real repositories: each passing, each failing safely."""

from __future__ import annotations

import git
import pytest

from conftest import GitWorld, issue

# A token sits in the environment and in the origin's URL; no output or file of these runs may show it.
pytestmark = pytest.mark.usefixtures("planted_token")



def test_worktree_created_from_remote_branch(world: GitWorld, run_plan) -> None:
    world.push_branch("feature/issue-7", {"doc.md": "# Doc\n"})
    result = run_plan(issue("[worktree]"), "-rA")
    result.assert_outcomes(passed=1)
    tree = git.Repo(world.path / "wt/issue-7")
    assert tree.active_branch.name == "feature/issue-7"
    assert (world.path / "wt/issue-7/doc.md").read_text() == "# Doc\n"
    # a rerun finds it and says so
    run_plan(issue("[worktree]"), "-rA").stdout.fnmatch_lines(["*PASSED*issue7::worktree*"])


def test_worktree_new_branch_from_base(world: GitWorld, run_plan) -> None:
    run_plan(issue("[worktree]")).assert_outcomes(passed=1)
    tree = git.Repo(world.path / "wt/issue-7")
    assert tree.head.commit.hexsha == world.repo.git.rev_parse("origin/main")


def test_worktree_on_wrong_branch_fails(world: GitWorld, run_plan) -> None:
    world.worktree("wt/issue-7", "something-else")
    result = run_plan(issue("[worktree]"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*is on something-else, not feature/issue-7*"])


def test_rebase_onto_moved_main(world: GitWorld, run_plan) -> None:
    tree = world.worktree("wt/issue-7", "feature/issue-7", {"feature.txt": "x\n"})
    moved = world.advance_main({"other.txt": "y\n"})
    result = run_plan(issue("[rebase]"), "-rA")
    result.assert_outcomes(passed=1)
    assert tree.is_ancestor(moved, "HEAD")
    assert (world.path / "wt/issue-7/feature.txt").exists()
    # already contained the second time
    run_plan(issue("[rebase]"), "-rA").assert_outcomes(passed=1)


def test_rebase_conflict_aborts_and_leaves_everything(world: GitWorld, run_plan, fault) -> None:
    tree = world.worktree("wt/issue-7", "feature/issue-7", {"README.md": "mine\n"})
    world.advance_main({"README.md": "theirs\n"})
    tree.git.fetch("origin")  # so the snapshot already has the fetched ref the step will fetch
    before = world.snapshot(tree)
    result = run_plan(issue("[rebase, push]"))
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "*step 'rebase' (rebase, plan.yaml:*",
        "*rebase onto origin/main stopped on conflicts; rebase aborted, branch, index and files unchanged*",
        "*conflict: README.md*",
    ])
    assert "Traceback" not in result.stdout.str()
    fault.unchanged(world, tree, before)


def test_rebase_refuses_dirty_worktree(world: GitWorld, run_plan, fault) -> None:
    tree = world.worktree("wt/issue-7", "feature/issue-7", {"feature.txt": "x\n"})
    world.advance_main({"other.txt": "y\n"})
    (world.path / "wt/issue-7/feature.txt").write_text("uncommitted work\n")
    before = world.snapshot(tree)
    result = run_plan(issue("[rebase]"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*refusing to rebase: the worktree has uncommitted changes*", "*M feature.txt*"])
    fault.unchanged(world, tree, before)
    assert tree.git.stash("list") == ""  # never stashed: refs/stash is shared by all worktrees


def test_integrate_dependency_branch(world: GitWorld, run_plan) -> None:
    world.worktree("wt/issue-1", "feature/issue-1", {"api.py": "API = 1\n"})
    tree = world.worktree("wt/issue-7", "feature/issue-7", {"impl.py": "IMPL = 1\n"})
    steps = "\n    - integrate: {branch: feature/issue-1}"
    run_plan(issue(steps), "-rA").assert_outcomes(passed=1)
    assert (world.path / "wt/issue-7/api.py").exists()
    assert tree.is_ancestor("feature/issue-1", "HEAD")


def test_integrate_conflict_aborts(world: GitWorld, run_plan, fault) -> None:
    world.worktree("wt/issue-1", "feature/issue-1", {"shared.py": "A = 1\n"})
    tree = world.worktree("wt/issue-7", "feature/issue-7", {"shared.py": "A = 2\n"})
    before = world.snapshot(tree)
    result = run_plan(issue("\n    - integrate: feature/issue-1"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*merge onto refs/heads/feature/issue-1 stopped on conflicts*", "*conflict: shared.py*"])
    fault.unchanged(world, tree, before)


def test_push_new_then_up_to_date(world: GitWorld, run_plan) -> None:
    tree = world.worktree("wt/issue-7", "feature/issue-7", {"f.txt": "1\n"})
    run_plan(issue("[push]"), "-rA").assert_outcomes(passed=1)
    assert world.repo.git.ls_remote("origin", "refs/heads/feature/issue-7").split()[0] == tree.head.commit.hexsha
    run_plan(issue("[push]"), "-rA").stdout.fnmatch_lines(["*PASSED*"])


def test_push_after_rebase_uses_lease(world: GitWorld, run_plan) -> None:
    tree = world.worktree("wt/issue-7", "feature/issue-7", {"f.txt": "1\n"})
    run_plan(issue("[push]")).assert_outcomes(passed=1)
    world.advance_main({"g.txt": "2\n"})
    run_plan(issue("[rebase, push]")).assert_outcomes(passed=2)
    remote = world.repo.git.ls_remote("origin", "refs/heads/feature/issue-7").split()[0]
    assert remote == tree.head.commit.hexsha


def test_push_refuses_when_remote_moved(world: GitWorld, run_plan, tmp_path, fault) -> None:
    tree = world.worktree("wt/issue-7", "feature/issue-7", {"f.txt": "1\n"})
    run_plan(issue("[push]")).assert_outcomes(passed=1)
    # a teammate pushes to the same branch; our local branch is rewritten meanwhile
    mate = git.Repo.clone_from(str(world.origin_path), tmp_path / "mate", branch="feature/issue-7")
    theirs = world.commit(mate, {"mate.txt": "theirs\n"}, "teammate")
    mate.git.push("origin", "feature/issue-7")
    tree.git.commit("--amend", "-q", "-m", "rewritten")
    before = world.snapshot(tree)
    result = run_plan(issue("[push]"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*origin/feature/issue-7 has 1 commit that feature/issue-7 never integrated; "
                                 "nothing was pushed*", f"*{theirs[:12]} teammate (Test Developer, *"])
    assert world.repo.git.ls_remote("origin", "refs/heads/feature/issue-7").split()[0] == theirs
    fault.unchanged(world, tree, before)  # our rewritten commit is still there, theirs untouched


@pytest.mark.parametrize("steps", ["[rebase]", "[push]", "[integrate: feature/x]"])
def test_steps_need_the_worktree(world: GitWorld, run_plan, steps: str) -> None:
    result = run_plan(issue(steps))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*wt/issue-7 does not exist*", "*run the issue's `worktree` step first*"])
