"""Node ids, markers and selection as a pytest user expects; the table in terminal, Markdown and JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GitWorld, edit

ISSUES = """
waves:
  - id: 1
    name: Design
    issues:
      - number: 154
        title: Hypervisor trait
        branch: feature/issue-154
        criteria: trait tested, zero warnings
        risk: {level: medium, mitigation: "Run the full test suite | before PR"}
        steps:
          - name: tests
            run: "true"
          - name: clippy
            run: "true"
  - id: 2
    name: Implementation
    issues:
      - number: 155
        title: macOS backend
        branch: feature/issue-155
        depends_on: [154]
        steps:
          - name: build
            run: "exit 1"
"""


def test_node_ids_are_readable_and_stable(world: GitWorld, run_plan) -> None:
    result = run_plan(ISSUES, "--co", "-q")
    result.stdout.fnmatch_lines(["plan.yaml::wave1::issue154::tests", "plan.yaml::wave1::issue154::clippy",
                                 "plan.yaml::wave2::issue155::build", "3 tests collected*"])


@pytest.mark.parametrize(("selection", "expected"), [
    (["-k", "issue155"], ["plan.yaml::wave2::issue155::build"]),
    (["-m", "wave1"], ["plan.yaml::wave1::issue154::tests", "plan.yaml::wave1::issue154::clippy"]),
    (["-k", "clippy"], ["plan.yaml::wave1::issue154::clippy"]),
    (["-m", "run and issue154"], ["plan.yaml::wave1::issue154::tests", "plan.yaml::wave1::issue154::clippy"]),
])
def test_selection(world: GitWorld, run_plan, selection: list[str], expected: list[str]) -> None:
    result = run_plan(ISSUES, "--co", "-q", "--strict-markers", *selection)
    assert [line for line in result.stdout.lines if "::" in line] == expected


def test_markers_are_registered(world: GitWorld, run_plan) -> None:
    result = run_plan(ISSUES, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.issue154: #154 Hypervisor trait", "@pytest.mark.wave2: wave 2 Implementation"])


def test_last_failed_reruns_the_failed_step(world: GitWorld, run_plan) -> None:
    run_plan(ISSUES).assert_outcomes(passed=2, failed=1)
    result = run_plan(ISSUES, "--lf", "--co", "-q")
    assert [line for line in result.stdout.lines if "::" in line] == ["plan.yaml::wave2::issue155::build"]


def test_dry_run_touches_nothing_and_says_what_it_would_do(world: GitWorld, run_plan) -> None:
    issues = edit(ISSUES, 'run: "exit 1"', 'run: "touch marker-file"')
    result = run_plan(issues, "--waves-dry-run", "-rs")
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines(["*dry run: would run `touch marker-file` in .*"])
    assert not (world.path / "marker-file").exists()


def test_table_in_terminal_markdown_and_json(world: GitWorld, run_plan, pytester: pytest.Pytester) -> None:
    result = run_plan(ISSUES, "--waves-report", "out/table.md", "--waves-json", "out/table.json")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*= success metrics: demo (plan.yaml) =*",
        "Wave*Issue*Title*Steps*PR*Status*Criteria*Risk",
        "1*#154*Hypervisor trait*2/2*—*✅ passed*trait tested, zero warnings*medium",
        "2*#155*macOS backend*0/1*—*❌ failed (step build failed)*",
        "1 passed, 1 failed",
    ])
    markdown = (pytester.path / "out/table.md").read_text()
    assert "| 1 | #154 | Hypervisor trait | 2/2 | — | ✅ passed | trait tested, zero warnings | medium |" in markdown
    assert "| 2 | #155 | macOS backend | 0/1 | — | ❌ failed (step build failed) | — | low |" in markdown
    assert "| 1 | #154 | medium | Run the full test suite \\| before PR |" in markdown  # pipes escaped
    document = json.loads((pytester.path / "out/table.json").read_text())
    assert (document["schema"], document["version"], document["project"]) == ("pytest-waves/report", 3, "demo")
    first, second = document["issues"]
    assert (first["issue"], first["status"], first["steps_passed"], first["steps_total"]) == (154, "passed", 2, 2)
    assert [s["outcome"] for s in first["steps"]] == ["passed", "passed"]
    assert (second["status"], second["depends_on"], second["steps"][0]["outcome"]) == ("failed", [154], "failed")


def test_not_run_issues_show_as_such(world: GitWorld, run_plan) -> None:
    result = run_plan(ISSUES, "-k", "issue154")
    result.stdout.fnmatch_lines(["2*#155*macOS backend*0/1*⚪ not run*"])


def test_xdist_run_prints_one_table_with_every_result(world: GitWorld, run_plan) -> None:
    # Independent one-step issues: the cross-worker gate for chains is the parallel-waves issue's work.
    issues = edit(edit(ISSUES, "depends_on: [154]", "depends_on: []"), '          - name: clippy\n            run: "true"\n', "")
    result = run_plan(issues, "-n", "2")
    result.assert_outcomes(passed=1, failed=1)
    assert result.stdout.str().count("success metrics: demo") == 1
    result.stdout.fnmatch_lines(["1*#154*1/1*✅ passed*", "2*#155*0/1*❌ failed*"])


def test_schema_command_prints_json_schema() -> None:
    """The plan's JSON Schema is pydantic's, from the same models that validate plans: each step kind
    a member of the steps' union, its short forms included."""
    out = subprocess.run([sys.executable, "-m", "pytest_waves", "schema"], check=True, capture_output=True,
                         text=True).stdout
    schema = json.loads(out)
    assert (schema["$schema"], schema["title"]) == ("https://json-schema.org/draft/2020-12/schema", "pytest-waves plan")
    forms, bare = schema["$defs"]["Issue"]["properties"]["steps"]["items"]["anyOf"]
    members = [schema["$defs"][form["$ref"].rsplit("/", 1)[1]] for form in forms["oneOf"]]
    kinds = {"worktree", "rebase", "integrate", "deliverable", "exports", "run", "agent", "push", "pr"}
    assert {member["required"][0] for member in members} == kinds == set(bare["enum"])
    assert schema["properties"]["waves"]["type"] == "array"
    # the shipped plans are valid against it; what the loader refuses, the schema refuses too
    import jsonschema
    import yaml

    plans = Path(__file__).resolve().parents[1] / "plans"
    for name in ("demo.yaml", "luminaguard.yaml"):
        jsonschema.validate(yaml.safe_load((plans / name).read_text()), schema)
    demo = yaml.safe_load((plans / "demo.yaml").read_text())
    for broken in ({**demo, "forge": {"kind": "github"}}, {**demo, "forge": "gitlab"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
    with pytest.raises(jsonschema.ValidationError, match="'repo' is a required property"):
        jsonschema.validate({"kind": "github"}, schema["$defs"]["ForgeSettings"])
    issue = demo["waves"][0]["issues"][0]
    for step in ("rebais", {"run": "x", "push": None}, {"run": {"cmd": "x", "colour": "red"}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**issue, "steps": [step]}, schema["$defs"]["Issue"] | {"$defs": schema["$defs"]})
    for step in ("rebase", {"rebase": None}, {"run": "cargo test"}, {"name": "t", "run": ["cargo", "test"]}):
        jsonschema.validate({**issue, "steps": [step]}, schema["$defs"]["Issue"] | {"$defs": schema["$defs"]})


def test_junit_testcases_carry_wave_issue_step_and_kind(world: GitWorld, run_plan, pytester: pytest.Pytester) -> None:
    import xml.etree.ElementTree as ElementTree

    run_plan(ISSUES, "--junitxml", "junit.xml").assert_outcomes(passed=2, failed=1)
    cases = ElementTree.parse(pytester.path / "junit.xml").getroot().iter("testcase")
    found = {(case.get("classname"), case.get("name")): {p.get("name"): p.get("value") for p in case.iter("property")}
             for case in cases}
    clippy = found[("plan.yaml.wave1.issue154", "clippy")]
    assert {k: clippy[k] for k in ("waves.plan", "waves.wave", "waves.issue", "waves.step", "waves.kind")} == {
        "waves.plan": "plan", "waves.wave": "1", "waves.issue": "154", "waves.step": "clippy", "waves.kind": "run"}
    assert found[("plan.yaml.wave2.issue155", "build")]["waves.exit_code"] == "1"


def test_two_plans_with_one_name_are_refused(world: GitWorld, pytester: pytest.Pytester) -> None:
    from conftest import plan_text

    for folder in ("a", "b"):
        pytester.mkdir(folder).joinpath("plan.yaml").write_text(plan_text(world, """
            - number: 1
              title: One
              branch: one
              steps: [{run: "true"}]
        """))
    result = pytester.runpytest("--waves", "a/plan.yaml", "--waves", "b/plan.yaml")
    result.stderr.fnmatch_lines(["*two plans are named 'plan'*rename one*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


MISSING_REPO_PLAN = """\
project: lg
repository: {path: ../luminaguard}
waves:
  - id: 1
    issues:
      - {number: 1, title: One, branch: feature/one, worktree: wt/one, steps: [worktree, rebase]}
"""


@pytest.mark.parametrize("where", ["missing", "not-git"])
def test_a_missing_or_non_git_repository_is_one_usage_error(pytester: pytest.Pytester, where: str) -> None:
    if where == "not-git":
        (pytester.path.parent / "luminaguard").mkdir(exist_ok=True)
    pytester.path.joinpath("plan.yaml").write_text(MISSING_REPO_PLAN)
    result = pytester.runpytest("--waves", "plan.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    what = "does not exist" if where == "missing" else "is not a git repository"
    result.stderr.fnmatch_lines([f"ERROR: *plan.yaml: *luminaguard {what} (repository.path: ../luminaguard); "
                                 "clone it there, or give --waves-repo PATH (or the waves_repo ini key)"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    # describing the plan needs no repository
    assert pytester.runpytest("--waves", "plan.yaml", "--co", "-q").ret == pytest.ExitCode.OK
    dry = pytester.runpytest("--waves", "plan.yaml", "--waves-dry-run", "-rs")
    assert dry.ret == pytest.ExitCode.OK
    dry.stdout.fnmatch_lines(["*dry run: would ensure worktree wt/one on feature/one*"])
