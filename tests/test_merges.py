"""Wave-level merge checks on real repositories: disjoint files, overlapping files, conflicts, stale
bases and misplaced checkouts; and proof that the checks write no ref, index, file or stash."""

from __future__ import annotations

import json

import pytest

from conftest import GitWorld, edit
from pytest_waves.engine.trial_merge import parse_version, require_merge_tree
from pytest_waves.steps.base import StepFailed

# A token sits in the environment and in the origin's URL; no output or file of these runs may show it.
pytestmark = pytest.mark.usefixtures("planted_token")


SHARED = "".join(f"line {n}\n" for n in range(1, 21))


def two_issues(merges: str = "{}", third: str = "") -> str:
    return f"""
waves:
  - id: 1
    name: Design
    issues:
      - number: 1
        title: One
        branch: feature/one
        steps: [{{run: "true"}}]
      - number: 2
        title: Two
        branch: feature/two
        steps: [{{run: "true"}}]
{third}"""


def run(world: GitWorld, run_plan, merges: str = "{}", *args: str, third: str = "") -> pytest.RunResult:
    world.repo.git.fetch("origin")  # the checks read what is there; they never fetch
    return run_plan(two_issues(third=third), "-rs", "-p", "no:randomly", *args, extra=f"merges: {merges}\n")


def test_disjoint_branches_merge_cleanly_and_the_table_says_so(world: GitWorld, run_plan,
                                                               pytester: pytest.Pytester, fault) -> None:
    world.push_branch("feature/one", {"docs/one.md": "one\n"})
    world.push_branch("feature/two", {"src/two.py": "two = 2\n"})
    before = world.snapshot(world.repo)
    result = run(world, run_plan, "{}", "-v", "--waves-report=report.md", "--waves-json=report.json")
    result.assert_outcomes(passed=5)  # checkouts, two steps, merge-1-2, integration
    result.stdout.fnmatch_lines(["*::wave1::checkouts PASSED*", "*::wave1::merge-1-2 PASSED*",
                                 "*::wave1::integration PASSED*",
                                 "wave 1 Design: ✅ wave 1 merges cleanly onto origin/main"])
    fault.unchanged(world, world.repo, before)
    assert world.repo.git.stash("list") == ""
    assert "| 1 Design | ✅ passed | wave 1 merges cleanly onto origin/main |" in (
        pytester.path / "report.md").read_text()
    merges = json.loads((pytester.path / "report.json").read_text())["merges"]
    assert merges[0]["status"] == "passed"
    assert merges[0]["checks"]["merge-1-2"] == {"outcome": "passed", "reason": "merge cleanly, different files"}


def test_a_missing_base_is_a_clear_failure_not_a_traceback(world: GitWorld, run_plan) -> None:
    world.push_branch("feature/one", {"one.txt": "one\n"})
    world.push_branch("feature/two", {"two.txt": "two\n"})
    world.repo.git.update_ref("-d", "refs/remotes/origin/main")
    result = run_plan(two_issues(), extra="merges: {}\n")
    result.stdout.fnmatch_lines(["*check 'merge-1-2'*", "*git merge-base failed*"])
    assert "Traceback" not in result.stdout.str()


def test_the_same_file_changed_without_conflict_is_a_warning_or_a_failure(world: GitWorld, run_plan) -> None:
    world.commit(world.repo, {"shared.txt": SHARED}, "shared file")
    world.repo.git.push("origin", "main")
    world.push_branch("feature/one", {"shared.txt": edit(SHARED, "line 2\n", "line two\n")})
    world.push_branch("feature/two", {"shared.txt": edit(SHARED, "line 19\n", "line nineteen\n")})
    warned = run(world, run_plan)
    warned.assert_outcomes(passed=5, warnings=1)
    warned.stdout.fnmatch_lines(["*#1 and #2 both change shared.txt (they merge cleanly)*"])

    strict = run(world, run_plan, "{overlap: fail}")
    strict.assert_outcomes(passed=4, failed=1)
    strict.stdout.fnmatch_lines(["*check 'merge-1-2'*", "*both change the same files*", "*shared.txt*",
                                 "wave 1 Design: ❌ merge-1-2: #1 and #2 both change the same files*"])


def test_conflicting_branches_fail_with_the_conflicting_files(world: GitWorld, run_plan, fault) -> None:
    world.commit(world.repo, {"shared.txt": SHARED}, "shared file")
    world.repo.git.push("origin", "main")
    world.push_branch("feature/one", {"shared.txt": edit(SHARED, "line 5\n", "five by one\n")})
    world.push_branch("feature/two", {"shared.txt": edit(SHARED, "line 5\n", "five by two\n")})
    before = world.snapshot(world.repo)
    result = run(world, run_plan)
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(["*#1 and #2 conflict: feature/one and feature/two cannot be merged together*",
                                 "*conflict: shared.txt*"])
    result.stdout.fnmatch_lines(["*wave 1 does not merge cleanly: #2 conflicts with origin/main + #1*"])
    result.stdout.fnmatch_lines(["wave 1 Design: ❌ merge-1-2: #1 and #2 conflict*"])
    fault.unchanged(world, world.repo, before)  # a trial merge touches no worktree, index or ref


def test_a_branch_from_a_stale_base_is_reported(world: GitWorld, run_plan) -> None:
    world.push_branch("feature/one", {"one.txt": "one\n"})
    world.push_branch("feature/two", {"two.txt": "two\n"})
    for n in range(3):
        world.advance_main({f"news{n}.txt": "news\n"}, f"main moves {n}")
    result = run(world, run_plan, "{max_behind: 1}")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*branches started from a base older than the plan allows (1 commits)*",
                                 "*#1: feature/one is 3 commits behind origin/main*"])


def test_a_branch_checked_out_elsewhere_is_reported_before_the_steps(world: GitWorld, run_plan) -> None:
    world.push_branch("feature/one", {"one.txt": "one\n"})
    world.push_branch("feature/two", {"two.txt": "two\n"})
    world.repo.git.worktree("add", "-q", str(world.root / "stray"), "-b", "feature/one", "origin/feature/one")
    result = run(world, run_plan, "{}", "-v")
    result.stdout.fnmatch_lines(["*::wave1::checkouts FAILED*", "*::wave1::issue1::run PASSED*"])
    result.stdout.fnmatch_lines(["*#1: feature/one is checked out in */stray, not in */repo"])


def test_checks_wait_for_the_issues_and_hold_under_xdist(world: GitWorld, run_plan) -> None:
    world.push_branch("feature/one", {"one.txt": "one\n"})
    world.push_branch("feature/two", {"two.txt": "two\n"})
    third = """  - id: 2
    name: Build
    issues:
      - number: 3
        title: Three
        branch: feature/three
        depends_on: [1]
        steps: [{run: "false"}]
"""
    world.push_branch("feature/three", {"three.txt": "three\n"})
    result = run(world, run_plan, "{}", "-n", "2", third=third)
    # #3 fails: the checks that judge it (its pair with #2, its wave's integration) are blocked.
    result.assert_outcomes(passed=6, failed=1, skipped=2)
    result.stdout.fnmatch_lines(["*blocked by #3 (step run failed)*"])
    result.stdout.fnmatch_lines(["wave 1 Design: ✅ wave 1 merges cleanly onto origin/main"])


def test_an_old_git_is_named_in_the_error() -> None:
    assert parse_version("git version 2.39.5") == (2, 39, 5)
    assert parse_version("git version 2.38.0.windows.1") == (2, 38, 0)
    require_merge_tree("git version 2.38.0")
    with pytest.raises(StepFailed, match=r"trial merges need git >= 2.38 .*this is git version 2.37.1"):
        require_merge_tree("git version 2.37.1")


def test_an_issue_without_worktree_may_have_its_branch_in_the_main_checkout(world: GitWorld, run_plan) -> None:
    world.push_branch("feature/one", {"one.txt": "one\n"})
    world.push_branch("feature/two", {"two.txt": "two\n"})
    world.repo.git.checkout("-q", "-b", "feature/one", "origin/feature/one")
    run(world, run_plan).assert_outcomes(passed=5)


def test_trial_merges_need_no_git_identity(world: GitWorld, run_plan, monkeypatch: pytest.MonkeyPatch) -> None:
    world.push_branch("feature/one", {"one.txt": "one\n"})
    world.push_branch("feature/two", {"two.txt": "two\n"})
    for who in ("AUTHOR", "COMMITTER"):  # as on a CI machine without user.name/user.email
        monkeypatch.delenv(f"GIT_{who}_NAME")
        monkeypatch.delenv(f"GIT_{who}_EMAIL")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    run(world, run_plan).assert_outcomes(passed=5)


def test_failed_first_keeps_the_checks_after_the_issues(world: GitWorld, run_plan) -> None:
    world.commit(world.repo, {"shared.txt": SHARED}, "shared file")
    world.repo.git.push("origin", "main")
    world.push_branch("feature/one", {"shared.txt": edit(SHARED, "line 5\n", "five by one\n")})
    world.push_branch("feature/two", {"shared.txt": edit(SHARED, "line 5\n", "five by two\n")})
    run(world, run_plan).assert_outcomes(passed=3, failed=2)
    rerun = run(world, run_plan, "{}", "--ff")
    rerun.assert_outcomes(passed=3, failed=2)  # not skipped as "has not finished yet"
    rerun.stdout.fnmatch_lines(["wave 1 Design: ❌ merge-1-2: #1 and #2 conflict*"])
