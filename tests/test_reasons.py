"""Reasons never disappear: a deferred failure keeps its cause everywhere a failure shows, a failed
command's headline names the cause, a missing program is named, and a dry run says what a merge
check would do."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from conftest import GitWorld, issue, plan_text

FAILING = "[{run: {cmd: \"echo compiling; echo 'error[E0425]: cannot find value x'; exit 101\"}}]"


def test_a_deferred_failure_keeps_its_cause_everywhere(pytester: pytest.Pytester, world: GitWorld) -> None:
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(FAILING, worktree=False, deferrable=True)))
    result = pytester.runpytest("--waves", "plan.yaml", "-rx", "-v", "--waves-json=r.json", "--waves-report=r.md",
                                "--junitxml=j.xml")
    assert result.ret == pytest.ExitCode.OK  # deferred, not a failure of the run
    cause = "exit code 101, expected exit code 0: error[E0425]: cannot find value x"
    shown = cause.replace("[", "[[]")  # fnmatch: `[` opens a class
    result.stdout.fnmatch_lines([f"  ⏭ run (run) — step run failed: {shown}; #7 is deferrable",
                                 f"*⏭ deferred (step run failed: {shown}; #7 is deferrable)*",
                                 f"XFAIL plan.yaml::wave1::issue7::run - step run failed: {shown}; #7 is deferrable"])
    row = json.loads((pytester.path / "r.json").read_text())["issues"][0]
    assert cause in row["reason"] and cause in row["steps"][0]["reason"]
    assert "error[E0425]" in row["steps"][0]["output"]
    assert cause in (pytester.path / "r.md").read_text().split("### Failed steps")[1]
    skipped = ET.parse(pytester.path / "j.xml").getroot().find(".//skipped")
    assert skipped is not None and cause in str(skipped.get("message"))


def test_a_failed_command_names_the_telling_line(pytester: pytest.Pytester, world: GitWorld) -> None:
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(FAILING, worktree=False)))
    result = pytester.runpytest("--waves", "plan.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  exit code 101, expected exit code 0: error[[]E0425]: cannot find value x"])


def test_an_output_rule_failure_names_the_rule(pytester: pytest.Pytester, world: GitWorld) -> None:
    steps = "[{run: {cmd: 'echo \"warning: unused\"; echo ran 1 test', forbid: ['^warning']}}]"
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(steps, worktree=False)))
    result = pytester.runpytest("--waves", "plan.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  forbidden output (^warning): warning: unused"])
    assert "output rules failed" not in result.stdout.str()


def test_an_agent_that_is_not_installed_is_named(pytester: pytest.Pytester, world: GitWorld) -> None:
    world.worktree("wt/issue-7", "feature/issue-7")
    agents = "agents:\n  amp:\n    command: [no-such-agent-cli, '{prompt}']\n"
    pytester.path.joinpath("plan.yaml").write_text(
        plan_text(world, issue("[{agent: {prompt: 'do #{number}'}}]"), extra=agents))
    result = pytester.runpytest("--waves", "plan.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  `no-such-agent-cli` is not on PATH (agent amp)"])
    assert "FileNotFoundError" not in result.stdout.str()


def test_a_dry_run_says_what_each_merge_check_would_do(pytester: pytest.Pytester, world: GitWorld) -> None:
    issues = issue("[rebase]") + issue("[rebase]", number=8)
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues, extra="merges: {}\n"))
    result = pytester.runpytest("--waves", "plan.yaml", "--waves-dry-run", "-rs")
    result.stdout.fnmatch_lines([
        "*dry run: would check that each branch of wave 1 is checked out only in its planned worktree",
        "*dry run: would trial-merge #7 and #8 (changed files, overlap, conflicts) without touching either branch",
        "*dry run: would trial-merge wave 1's branches one after another onto the base (#7 and #8)"])
    assert "last recorded outcome" not in result.stdout.str()
