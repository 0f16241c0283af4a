"""The dependency gate: order within an issue, blocking across issues, deferral, and -k reruns."""

from __future__ import annotations

import pytest

from conftest import GitWorld, edit

PLAN = """
waves:
  - id: 1
    name: Design
    issues:
      - number: 154
        title: Hypervisor trait
        branch: feature/issue-154
        steps:
          - name: first
            run: "echo one"
          - name: tests
            run: "{TESTS}"
          - name: last
            run: "echo three"
  - id: 2
    name: Implementation
    issues:
      - number: 155
        title: macOS backend
        branch: feature/issue-155
        depends_on: [154]
        deferrable: {DEFER}
        steps:
          - name: build
            run: "{BUILD}"
          - name: macos
            when: {os: [macos]}
            run: "true"
          - name: after
            run: "true"
  - id: 3
    name: Later
    issues:
      - number: 156
        title: Follow-up
        branch: feature/issue-156
        depends_on: [155]
        steps:
          - run: "true"
"""


def plan(tests: str = "true", build: str = "true", defer: str = "false") -> str:
    return edit(edit(edit(PLAN, "{TESTS}", tests), "{BUILD}", build), "{DEFER}", defer)


def test_all_pass_and_dependants_run(world: GitWorld, run_plan) -> None:
    result = run_plan(plan(), "-rs")
    result.assert_outcomes(passed=6, skipped=1)  # the macOS-only step skips on Linux, breaking nothing
    result.stdout.fnmatch_lines(["*only on macos (this is linux)*"])


def test_failed_step_skips_rest_of_issue_and_blocks_dependants(world: GitWorld, run_plan) -> None:
    result = run_plan(plan(tests="exit 1"), "-rs")
    result.assert_outcomes(passed=1, failed=1, skipped=5)
    result.stdout.fnmatch_lines([  # -rs: each skip at its step's line in the plan, with the reason
        "SKIPPED [1] plan.yaml:16: after failed step tests",
        "SKIPPED [1] plan.yaml:27: blocked by #154 (step tests failed)",
        "SKIPPED [1] plan.yaml: only on macos (this is linux)",
        "SKIPPED [1] plan.yaml:32: blocked by #154 (step tests failed)",
        "SKIPPED [1] plan.yaml:42: blocked by #155 (blocked by #154 (step tests failed))",
    ])
    result.stdout.fnmatch_lines(["*#155*⏸ blocked (blocked by #154 (step tests failed))*"])


def test_reason_is_not_repeated_down_a_chain(world: GitWorld, run_plan) -> None:
    result = run_plan(edit(plan(tests="exit 1"), 'name: first\n            run: "echo one"', 'name: first\n            run: "exit 1"'), "-rs")
    result.stdout.fnmatch_lines(["SKIPPED [1] plan.yaml:14: after failed step first",
                                 "SKIPPED [1] plan.yaml:16: after failed step first"])
    assert "after after" not in result.stdout.str()


def test_items_carry_pytest_dependency_marks(pytester: pytest.Pytester, world: GitWorld) -> None:
    """pytest-dependency's marks are the one description of the gate that users and plugins see."""
    from conftest import plan_text

    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, plan()))
    items, _ = pytester.inline_genitems("--waves", "plan.yaml")
    marks = {item.name if item.name != "run" else "156-run": item.get_closest_marker("dependency").kwargs
             for item in items if item.get_closest_marker("dependency")}
    assert marks["tests"] == {"name": "plan::issue154::tests", "depends": ["plan::issue154::first"],
                              "scope": "session"}
    assert marks["build"]["depends"] == ["plan::issue154::first", "plan::issue154::tests", "plan::issue154::last"]
    assert marks["after"]["depends"] == ["plan::issue155::build"]  # the macOS-only step is not in the chain
    assert "macos" not in marks


def test_deferrable_failure_is_deferred_not_failed(world: GitWorld, run_plan) -> None:
    result = run_plan(plan(build="exit 1", defer="true"), "-rxs")
    result.assert_outcomes(passed=3, xfailed=1, skipped=3)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines_random([
        "*#155*⏭ deferred (step build failed: exit code 1, expected exit code 0; #155 is deferrable)*",
        "*#156*⏸ blocked (blocked by #155 (step build failed (deferred)))*",
        "SKIPPED [1] plan.yaml:32: after failed step build (deferred)",
    ])


def test_rerun_of_one_issue_trusts_last_recorded_success(world: GitWorld, run_plan) -> None:
    run_plan(plan()).assert_outcomes(passed=6, skipped=1)
    result = run_plan(plan(), "-k", "issue155", "-rs")
    result.assert_outcomes(passed=2, skipped=1)


def test_rerun_of_one_issue_blocked_when_dependency_last_failed(world: GitWorld, run_plan) -> None:
    run_plan(plan(tests="exit 1"))
    result = run_plan(plan(), "-k", "issue155", "-rs")
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines([
        "*blocked by #154 (not selected in this run; last recorded outcome: failed)*"])


def test_rerun_without_any_record_is_blocked(world: GitWorld, run_plan) -> None:
    result = run_plan(plan(), "-k", "issue155", "-rs")
    result.stdout.fnmatch_lines(["*blocked by #154 (not selected in this run; last recorded outcome: never run)*"])


def test_ignore_unknown_dependency_runs_anyway(world: GitWorld, run_plan) -> None:
    result = run_plan(plan(), "-k", "issue155", "--ignore-unknown-dependency")
    result.assert_outcomes(passed=2, skipped=1)


def test_steps_run_in_plan_order(world: GitWorld, run_plan, tmp_path) -> None:
    log = tmp_path / "order.log"
    result = run_plan(plan(tests=f"echo tests >> {log}", build=f"echo build >> {log}"), "-p", "no:randomly")
    result.assert_outcomes(passed=6, skipped=1)
    assert log.read_text().split() == ["tests", "build"]


def test_last_failed_reruns_the_failed_step_trusting_the_steps_before_it(world: GitWorld, run_plan, tmp_path) -> None:
    """--lf selects only the failed step: the step before it is judged by its own last outcome."""
    flag = tmp_path / "fixed"
    failing = plan(tests=f"test -f {flag}")
    run_plan(failing).assert_outcomes(passed=1, skipped=5, failed=1)  # #154 tests failed; the rest held
    again = run_plan(failing, "--lf", "-rs")
    again.assert_outcomes(failed=1)  # run again, not hidden as "blocked by #154 itself"
    flag.write_text("")
    fixed = run_plan(failing, "--lf", "-rs")
    assert fixed.ret == pytest.ExitCode.OK
    fixed.assert_outcomes(passed=1)
    result = run_plan(failing, "-k", "issue154 and last", "-rs")  # `first` passed, `tests` passed last
    result.assert_outcomes(passed=1)


def test_a_step_whose_earlier_step_last_failed_is_held_with_that_reason(world: GitWorld, run_plan) -> None:
    failing = plan(tests="exit 1")
    run_plan(failing)
    result = run_plan(failing, "-k", "issue154 and last", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*after step tests (not selected in this run; last recorded outcome: failed)"])


def test_a_run_of_part_of_an_issue_records_a_failure_but_never_a_pass(world: GitWorld, run_plan, tmp_path) -> None:
    flag = tmp_path / "broken"
    text = plan(tests=f"test ! -f {flag}")
    run_plan(text).assert_outcomes(passed=6, skipped=1)  # everything passed: #154 recorded as passed
    flag.write_text("")
    run_plan(text, "-k", "issue154 and tests").assert_outcomes(failed=1)  # part of #154 ran, and failed
    blocked = run_plan(text, "-k", "issue155", "-rs")
    blocked.stdout.fnmatch_lines(["SKIPPED*blocked by #154 (not selected in this run; last recorded outcome: failed)"])
    flag.unlink()
    run_plan(text, "-k", "issue154 and tests").assert_outcomes(passed=1)  # part of #154 passed: not enough
    still = run_plan(text, "-k", "issue155", "-rs")
    still.stdout.fnmatch_lines(["SKIPPED*blocked by #154 (not selected in this run; last recorded outcome: failed)"])
    run_plan(text, "-k", "issue154").assert_outcomes(passed=3)  # the whole issue passed: trusted again
    run_plan(text, "-k", "issue155").assert_outcomes(passed=2, skipped=1)
