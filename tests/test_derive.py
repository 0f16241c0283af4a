"""`python -m pytest_waves waves PLAN [--write]`: waves from the dependency graph, overlap proposals
from real branches, and a rewrite that keeps the user's comments and every dependency."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import GitWorld, edit, plan_text
from pytest_waves.plan.loader import load_plan
from pytest_waves.steps import registry

PLAN = """\
# The LuminaGuard plan, declared one wave per issue.
project: demo
waves:
  - id: 1
    name: Research   # docs only
    issues:
      - number: 152
        title: Research
        branch: feature/issue-152
        steps: [{run: "true"}]
  - id: 2
    name: Design
    issues:
      - number: 154
        title: Trait
        branch: feature/issue-154
        steps: [{run: "true"}, {run: "true"}]
  - id: 3
    name: Implementation
    depends_on: [2]   # wait for the trait
    issues:
      - number: 155
        title: Backend  # may be deferred
        branch: feature/issue-155
        steps: [{run: "true"}, {run: "true"}, {run: "true"}]
"""


def issues_yaml(*branches: str) -> str:
    """Issues 1, 2, … on feature/<name>, one passing step each."""
    return "".join(f"""
- number: {n}
  title: Issue {n}
  branch: feature/{name}
  steps: [{{run: "true"}}]
""" for n, name in enumerate(branches, 1))


def waves_command(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "pytest_waves", "waves", *args)


def test_prints_the_waves_the_critical_path_and_the_useful_workers(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("plan.yaml").write_text(PLAN)
    result = waves_command(pytester, "plan.yaml", "--no-git")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "waves implied by the dependencies of plan.yaml:",
        "  wave 1: #152 Research, #154 Trait",
        "  wave 2: #155 Backend",
        "critical path: #154 → #155 (5 steps)",
        "useful workers: -n 2 (the widest wave)",
        "the plan declares: wave 1 Research: #152; wave 2 Design: #154; wave 3 Implementation: #155",
    ])


def test_write_keeps_comments_and_every_dependency(pytester: pytest.Pytester) -> None:
    plan = pytester.path / "plan.yaml"
    plan.write_text(PLAN)
    before = load_plan(plan, registry())
    assert waves_command(pytester, "plan.yaml", "--no-git", "--write").ret == 0
    text = plan.read_text()
    for comment in ("# The LuminaGuard plan", "# docs only", "# may be deferred"):
        assert comment in text
    after = load_plan(plan, registry())
    assert [[i.number for i in wave.issues] for wave in after.plan.waves] == [[152, 154], [155]]
    assert [wave.name for wave in after.plan.waves] == ["Research", "Implementation"]
    assert {n: set(deps) for n, deps in after.deps.items()} == {n: set(deps) for n, deps in before.deps.items()}
    again = waves_command(pytester, "plan.yaml", "--no-git")
    again.stdout.fnmatch_lines(["the plan's waves already are these"])


def test_branches_that_change_the_same_file_are_proposed_for_separate_waves(world: GitWorld,
                                                                             pytester: pytest.Pytester) -> None:
    world.push_branch("feature/one", {"src/shared.py": "one = 1\n"})
    world.push_branch("feature/two", {"src/shared.py": "two = 2\n", "docs/two.md": "two\n"})
    world.push_branch("feature/three", {"docs/three.md": "three\n"})
    issues = issues_yaml("one", "two", "three")
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues))
    result = waves_command(pytester, "plan.yaml")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["  wave 1: #1 Issue 1, #3 Issue 3", "  wave 2: #2 Issue 2",
                                 "proposal: #2 moved after #1: both change src/shared.py"])


def test_an_invalid_plan_is_one_clear_error(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("plan.yaml").write_text(edit(PLAN, "depends_on: [2]", "depends_on: [9]"))
    result = waves_command(pytester, "plan.yaml", "--no-git")
    assert result.ret == 2
    result.stderr.fnmatch_lines(["error: invalid wave plan: *plan.yaml:*: waves[[]2[]].depends_on: depends on wave 9*"])
    assert "Traceback" not in result.stderr.str()


def test_a_plan_whose_waves_contradict_its_dependencies_is_refused(pytester: pytest.Pytester,
                                                                   tmp_path: Path) -> None:
    swapped = edit(edit(PLAN, "depends_on: [2]   # wait for the trait", ""), "        branch: feature/issue-152\n", "        branch: feature/issue-152\n        depends_on: [155]\n")
    pytester.path.joinpath("plan.yaml").write_text(swapped)
    result = waves_command(pytester, "plan.yaml", "--no-git")
    assert result.ret == 2
    result.stderr.fnmatch_lines(["*#152 (wave 1) depends on #155, which is in the later wave 3*"])


def test_write_makes_a_proposal_a_dependency_and_keeps_the_file_mode(world: GitWorld,
                                                                     pytester: pytest.Pytester) -> None:
    world.push_branch("feature/one", {"src/shared.py": "one = 1\n"})
    world.push_branch("feature/two", {"src/shared.py": "two = 2\n"})
    issues = issues_yaml("one", "two")
    plan = pytester.path / "plan.yaml"
    plan.write_text(plan_text(world, issues))
    plan.chmod(0o644)
    assert waves_command(pytester, "plan.yaml", "--write").ret == 0
    assert plan.stat().st_mode & 0o777 == 0o644
    after = load_plan(plan, registry())
    assert after.deps[2] == [1]  # the separation is real, not only printed
    assert [(wave.id, [i.number for i in wave.issues]) for wave in after.plan.waves] == [(1, [1]), (2, [2])]


def test_git_errors_of_the_waves_command_are_one_line(world: GitWorld, pytester: pytest.Pytester) -> None:
    world.push_branch("feature/one", {"one.txt": "one\n"})
    world.repo.git.update_ref("-d", "refs/remotes/origin/main")
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, """
- number: 1
  title: One
  branch: feature/one
  steps: [{run: "true"}]
"""))
    result = waves_command(pytester, "plan.yaml")
    assert result.ret == 2
    result.stderr.fnmatch_lines(["error: *(--no-git derives from the dependencies alone)"])
    assert "Traceback" not in result.stderr.str()


def test_a_wave_may_not_depend_on_a_later_wave(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("plan.yaml").write_text(edit(PLAN, "    name: Research   # docs only\n", "    name: Research   # docs only\n    depends_on: [2]\n"))
    result = waves_command(pytester, "plan.yaml", "--no-git")
    assert result.ret == 2
    result.stderr.fnmatch_lines(["*waves[[]0[]].depends_on: wave 1 depends on wave 2, which comes later*"])
