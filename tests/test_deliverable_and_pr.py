"""deliverable and pr steps on real worktrees and the local forge."""

from __future__ import annotations

import json

import pytest

from conftest import GitWorld

DOC = """\
# Cross-platform VM research

## Summary
Firecracker on Linux, Apple HV on macOS.

## macOS
Virtualization.framework.
"""


def issue(steps: str) -> str:
    return f"""
- number: 152
  title: Cross-Platform VM Research
  branch: feature/issue-152
  worktree: wt/pr-169
  steps: {steps}
"""


def test_deliverable_complete(world: GitWorld, run_plan) -> None:
    world.worktree("wt/pr-169", "feature/issue-152", {"docs/research.md": DOC})
    steps = "\n    - deliverable: {path: docs/research.md, sections: [Summary, macOS], contains: ['Firecracker']}"
    run_plan(issue(steps)).assert_outcomes(passed=1)


def test_deliverable_missing_file(world: GitWorld, run_plan) -> None:
    world.worktree("wt/pr-169", "feature/issue-152")
    result = run_plan(issue("\n    - deliverable: docs/research.md"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*deliverable docs/research.md is missing*", "*looked for */wt/pr-169/docs/research.md"])


def test_deliverable_incomplete_lists_every_gap(world: GitWorld, run_plan) -> None:
    world.worktree("wt/pr-169", "feature/issue-152", {"docs/research.md": DOC})
    steps = "\n    - deliverable: {path: docs/research.md, sections: [Summary, Windows, Risks], contains: ['Hyper-V']}"
    result = run_plan(issue(steps))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*deliverable docs/research.md is incomplete*", "*missing section: Windows*",
                                 "*missing section: Risks*", "*no line matches: Hyper-V*"])


def test_deliverable_empty_file(world: GitWorld, run_plan) -> None:
    world.worktree("wt/pr-169", "feature/issue-152", {"docs/research.md": "\n\n"})
    result = run_plan(issue("\n    - deliverable: docs/research.md"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*is empty*"])


def test_pr_is_opened_once_and_found_on_rerun(world: GitWorld, run_plan, pytester: pytest.Pytester) -> None:
    world.worktree("wt/pr-169", "feature/issue-152", {"docs/research.md": DOC})
    steps = "[push, {pr: {title: 'docs: Cross-Platform VM Research (#152)'}}]"
    first = run_plan(issue(steps), "-rA")
    first.assert_outcomes(passed=2)
    first.stdout.fnmatch_lines(["*#152*2/2*#1 open*✅ passed*"])
    second = run_plan(issue(steps), "-rA")
    second.assert_outcomes(passed=2)
    store = json.loads((pytester.path / ".waves/forge/plan.json").read_text())
    assert len(store["pulls"]) == 1
    pull = store["pulls"][0]
    assert (pull["head"], pull["base"], pull["state"]) == ("feature/issue-152", "main", "open")
    assert pull["body"].endswith("Closes #152")
    # a changed title updates the same PR
    run_plan(issue("[push, {pr: {title: 'docs: research (#152)', body: 'Fixes #152'}}]")).assert_outcomes(passed=2)
    store = json.loads((pytester.path / ".waves/forge/plan.json").read_text())
    assert [(p["number"], p["title"], p["body"]) for p in store["pulls"]] == [(1, "docs: research (#152)", "Fixes #152")]


def test_a_pr_closed_without_merging_is_not_replaced_by_a_second_one(world: GitWorld, run_plan,
                                                                     pytester: pytest.Pytester) -> None:
    world.worktree("wt/pr-169", "feature/issue-152", {"docs/research.md": DOC})
    steps = "[push, pr]"
    run_plan(issue(steps)).assert_outcomes(passed=2)
    store_path = pytester.path / ".waves/forge/plan.json"
    store = json.loads(store_path.read_text())
    store["pulls"][0]["state"] = "closed"  # a reviewer closed it: a decision, not a gap to fill
    store_path.write_text(json.dumps(store))
    closed = run_plan(issue(steps))
    closed.assert_outcomes(passed=1, failed=1)
    closed.stdout.fnmatch_lines(["*PR #1 from feature/issue-152 was closed without merging (local://*/pull/1); "
                                 "no other is opened", "*reopen it to go on, or open one yourself*"])
    assert len(json.loads(store_path.read_text())["pulls"]) == 1
    verified = run_plan(issue(steps), "--waves-verify")
    verified.stdout.fnmatch_lines(["*no open or merged PR from feature/issue-152 into main (PR #1 was closed "
                                   "without merging)"])
    # reopened, it is found again
    store["pulls"][0]["state"] = "open"
    store_path.write_text(json.dumps(store))
    run_plan(issue(steps)).assert_outcomes(passed=2)


def test_pr_needs_the_branch_on_the_remote(world: GitWorld, run_plan) -> None:
    world.worktree("wt/pr-169", "feature/issue-152", {"docs/research.md": DOC})
    result = run_plan(issue("[pr]"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*feature/issue-152 is not on origin; push it before opening a PR*"])


# A deliverable is the branch's work: a file main already had proves nothing (issue "Verdicts that hold").

def on_main(world: GitWorld) -> None:
    world.commit(world.repo, {"docs/research.md": DOC}, "research already on main")
    world.repo.git.push("origin", "main")


def test_a_deliverable_already_on_the_base_and_unchanged_fails(world: GitWorld, run_plan) -> None:
    on_main(world)
    world.worktree("wt/pr-169", "feature/issue-152", {"other.txt": "x\n"})
    result = run_plan(issue("\n    - deliverable: {path: docs/research.md, sections: [Summary]}"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*docs/research.md is already on origin/main and this branch does not change it*",
                                 "*if it may stay as it is, set `changed: false`*"])


def test_changed_false_accepts_a_deliverable_the_base_already_has(world: GitWorld, run_plan) -> None:
    on_main(world)
    world.worktree("wt/pr-169", "feature/issue-152", {"other.txt": "x\n"})
    result = run_plan(issue("\n    - deliverable: {path: docs/research.md, changed: false}"), "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*✅ deliverable (deliverable) — docs/research.md: 5 lines, may be unchanged"])


def test_a_deliverable_the_branch_changes_passes(world: GitWorld, run_plan) -> None:
    on_main(world)
    world.worktree("wt/pr-169", "feature/issue-152", {"docs/research.md": DOC + "\n## Risks\nNone.\n"})
    result = run_plan(issue("\n    - deliverable: docs/research.md"), "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*docs/research.md: 7 lines, changed on the branch since origin/main"])


@pytest.mark.parametrize("how", ["merge", "squash"])
def test_after_the_branch_is_merged_a_rerun_still_passes(world: GitWorld, run_plan, how: str) -> None:
    tree = world.worktree("wt/pr-169", "feature/issue-152", {"docs/research.md": DOC})
    step = "\n    - deliverable: docs/research.md"
    run_plan(issue(step)).assert_outcomes(passed=1)
    main = world.repo
    if how == "merge":
        main.git.merge("--no-ff", "-q", "-m", "Merge #152", "feature/issue-152")
    else:
        main.git.merge("--squash", "-q", "feature/issue-152")
        main.git.commit("-q", "-m", "Research (#152)")
    main.git.push("origin", "main")
    tree.git.fetch("origin")
    result = run_plan(issue(step), "-v")
    result.assert_outcomes(passed=1)
    expected = "changed by the branch's commit * (merged since)" if how == "merge" else "changed on the branch since"
    result.stdout.fnmatch_lines([f"*docs/research.md: 5 lines, {expected}*"])


def test_an_uncommitted_deliverable_is_not_delivered_yet(world: GitWorld, run_plan) -> None:
    world.worktree("wt/pr-169", "feature/issue-152")
    (world.path / "wt/pr-169/docs").mkdir()
    (world.path / "wt/pr-169/docs/research.md").write_text(DOC)
    result = run_plan(issue("\n    - deliverable: docs/research.md"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*docs/research.md is changed in the worktree but not committed*"])
