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


def test_pr_needs_the_branch_on_the_remote(world: GitWorld, run_plan) -> None:
    world.worktree("wt/pr-169", "feature/issue-152", {"docs/research.md": DOC})
    result = run_plan(issue("[pr]"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*feature/issue-152 is not on origin; push it before opening a PR*"])
