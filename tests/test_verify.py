"""--waves-verify: every step checks the state instead of changing it, and nothing anywhere is written."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

import pytest_waves.engine.forge.github  # noqa: F401  (see test_github_forge.py: before pytester's runs)
from conftest import GitWorld, fingerprint, plan_text
from github_fake import TOKEN, FakeGitHub

# A token sits in the environment and in the origin's URL; no output or file of these runs may show it.
pytestmark = pytest.mark.usefixtures("planted_token")


DOC = "# Notes\n\n## Summary\nDone.\n"

# An agent that, if it were ever dispatched in verify mode, would leave a mark.
AGENT = f"#!{sys.executable}\nfrom pathlib import Path\nPath({{mark!r}}).write_text('dispatched')\n"

ISSUES = """
waves:
  - id: 1
    name: One
    issues:
      - number: 1
        title: Done already
        branch: feature/issue-1
        worktree: wt/issue-1
        deliverables: [doc.md]
        steps:
          - worktree
          - rebase
          - deliverable: {path: doc.md, sections: [Summary]}
          - run: {cmd: "test -f doc.md", allow_empty: true}
          - agent: {prompt: "write doc.md for #{number}"}
          - push
          - pr
      - number: 2
        title: Behind and unpushed
        branch: feature/issue-2
        worktree: wt/issue-2
        steps: [worktree, rebase, push, pr]
      - number: 3
        title: Never started
        branch: feature/issue-3
        worktree: wt/issue-3
        steps: [worktree, push]
      - number: 4
        title: Agent work missing
        branch: feature/issue-4
        worktree: wt/issue-4
        deliverables: [four.md]
        steps:
          - agent: {prompt: "write four.md"}
  - id: 2
    name: Two
    issues:
      - number: 5
        title: Integrates one
        branch: feature/issue-5
        worktree: wt/issue-5
        depends_on: [1]
        steps:
          - integrate: {issue: 1}
"""


@pytest.fixture
def world_in_progress(world: GitWorld, pytester: pytest.Pytester, tmp_path: Path) -> Iterator[tuple[GitWorld, str]]:
    """#1 done by a real run (and #5 merged it); #2 behind origin/main and unpushed; #3 and #4 not started."""
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT.format(mark=str(tmp_path / "dispatched")))
    agent.chmod(0o755)
    world.worktree("wt/issue-1", "feature/issue-1", {"doc.md": DOC})
    world.worktree("wt/issue-2", "feature/issue-2", {"two.txt": "2\n"})
    world.worktree("wt/issue-4", "feature/issue-4")
    world.worktree("wt/issue-5", "feature/issue-5")
    extra = f"agents:\n  scripted: {{command: ['{agent}', '{{prompt}}']}}\n"
    text = plan_text(world, ISSUES, extra=extra)
    pytester.path.joinpath("plan.yaml").write_text(text)
    done = pytester.runpytest("--waves", "plan.yaml", "-k", "issue1 or issue5")
    done.assert_outcomes(passed=8)
    world.advance_main({"news.txt": "news\n"})  # #2 (and now #1) are behind
    (tmp_path / "dispatched").unlink(missing_ok=True)
    yield world, text


def test_verify_checks_every_step_and_writes_nothing(world_in_progress: tuple[GitWorld, str],
                                                     pytester: pytest.Pytester, tmp_path: Path) -> None:
    world, _ = world_in_progress
    before = fingerprint(world.path, world.origin_path, pytester.path / ".waves/forge")
    result = pytester.runpytest("--waves", "plan.yaml", "--waves-verify", "-v")
    after = fingerprint(world.path, world.origin_path, pytester.path / ".waves/forge")
    assert before == after, sorted(set(before.items()) ^ set(after.items()))[:5]
    assert not (tmp_path / "dispatched").exists(), "verify mode dispatched an agent"
    assert not (world.path / "wt/issue-3").exists()
    result.stdout.fnmatch_lines([
        "#1 Done already",
        "  ✅ worktree (worktree) — issue-1 exists on feature/issue-1",
        "  ❌ rebase (rebase) — feature/issue-1 does not contain origin/main: it is at *, which this repository "
        "has not even fetched",
        "#2 Behind and unpushed",
        "  ❌ rebase (rebase) — feature/issue-2 does not contain origin/main: *",
        "#3 Never started",
        "  ❌ worktree (worktree) — worktree wt/issue-3 does not exist",
        "#4 Agent work missing",
        "  ❌ agent (agent) — the agent's work is not there (verify mode does not dispatch agents)",
        "#5 Integrates one",
        "  ⏸ integrate (integrate) — blocked by #1 (step rebase failed)",
    ])


def test_verify_passes_where_the_work_is_done(world_in_progress: tuple[GitWorld, str],
                                              pytester: pytest.Pytester, tmp_path: Path) -> None:
    world, _ = world_in_progress
    git.Repo(world.path).git.fetch("origin")  # #1 now knows origin/main: merge it as a developer would
    tree = git.Repo(world.path / "wt/issue-1")
    tree.git.merge("-q", "--no-edit", "origin/main")
    tree.git.push("-q", "origin", "feature/issue-1")
    before = fingerprint(world.path, world.origin_path, pytester.path / ".waves/forge")
    result = pytester.runpytest("--waves", "plan.yaml", "--waves-verify", "-v", "-k", "issue1")
    assert fingerprint(world.path, world.origin_path, pytester.path / ".waves/forge") == before
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines([
        "  ✅ rebase (rebase) — contains origin/main (*)",
        "  ✅ deliverable (deliverable)*",
        "  ✅ run (run) — exit 0 in *",
        "  ✅ agent (agent) — the agent's work is there",
        "  ✅ push (push) — origin/feature/issue-1 equals the worktree (*)",
        "  ✅ pr (pr) — PR #1 is open (local://demo/pull/1)",
    ])
    assert not (tmp_path / "dispatched").exists()
    # #5 merged #1 before #1 took origin/main in: it no longer contains #1's branch
    result = pytester.runpytest("--waves", "plan.yaml", "--waves-verify", "-v", "-k", "issue5")
    result.stdout.fnmatch_lines(["  ❌ integrate (integrate) — feature/issue-5 does not contain feature/issue-1"])
    assert fingerprint(world.path, world.origin_path, pytester.path / ".waves/forge") == before


def test_verify_fails_push_and_pr_with_what_is_missing(world_in_progress: tuple[GitWorld, str],
                                                       pytester: pytest.Pytester) -> None:
    world, text = world_in_progress
    # only the push and pr steps of #2, so that nothing before them blocks them
    pytester.path.joinpath("plan.yaml").write_text(text.replace("steps: [worktree, rebase, push, pr]", "steps: [push, pr]"))
    result = pytester.runpytest("--waves", "plan.yaml", "--waves-verify", "-v", "-k", "issue2")
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines(["  ❌ push (push) — feature/issue-2 is not on origin"])
    tree = git.Repo(world.path / "wt/issue-2")
    tree.git.push("-q", "origin", "feature/issue-2")
    result = pytester.runpytest("--waves", "plan.yaml", "--waves-verify", "-v", "-k", "issue2")
    result.stdout.fnmatch_lines(["  ✅ push (push)*", "  ❌ pr (pr) — no open or merged PR from feature/issue-2 into main"])


def test_verify_of_a_pr_on_github_only_reads(pytester: pytest.Pytester, world: GitWorld,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    world.worktree("wt/issue-1", "feature/issue-1", {"doc.md": DOC})
    with FakeGitHub(origin=world.origin_path) as github:
        forge = f"forge: {{kind: github, repo: acme/luminaguard, api_url: '{github.api}', write_interval: 0}}\n"
        issues = ISSUES.split("      - number: 2")[0].replace("          - agent: {prompt: \"write doc.md for #{number}\"}\n", "")
        pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues, extra=forge))
        pytester.runpytest("--waves", "plan.yaml").assert_outcomes(passed=6)
        github.pulls[0].update(state="closed", merged_at="2026-11-27T12:00:00Z")
        writes = github.count("POST", ".") + github.count("PATCH", ".")
        result = pytester.runpytest("--waves", "plan.yaml", "--waves-verify", "-v", "-k", "pr")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines([f"  ✅ pr (pr) — PR #1 is merged ({github.base}/acme/luminaguard/pull/1)"])
        assert github.count("POST", ".") + github.count("PATCH", ".") == writes


def test_verify_with_merge_checks_a_comment_and_workers_writes_nothing(world: GitWorld, pytester: pytest.Pytester) -> None:
    world.worktree("wt/issue-1", "feature/issue-1", {"one.txt": "1\n"})
    world.worktree("wt/issue-2", "feature/issue-2", {"two.txt": "2\n"})
    issues = "".join(f"- number: {n}\n  title: T{n}\n  branch: feature/issue-{n}\n  worktree: wt/issue-{n}\n"
                     "  steps: [worktree]\n" for n in (1, 2))
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues, extra="merges: {overlap: warn}\n"))
    roots = (world.path, world.origin_path, pytester.path / ".waves/forge")
    before = fingerprint(*roots)
    result = pytester.runpytest("--waves", "plan.yaml", "--waves-verify", "--waves-comment", "3", "-n", "2", "-rA")
    assert not list(pytester.path.glob(".pytest_cache/v/waves/*")), "verify recorded outcomes for the gate"
    result.assert_outcomes(passed=5)  # two steps; checkouts, merge-1-2 and integration (trial merges)
    result.stdout.fnmatch_lines(["*wave 1 One: ✅ wave 1 merges cleanly onto origin/main*"])
    assert fingerprint(*roots) == before
    assert "success metrics posted" not in result.stdout.str()


def test_a_third_party_kind_without_a_read_only_check_is_skipped(pytester: pytest.Pytester, world: GitWorld) -> None:
    pytester.makeconftest("""
        from pytest_waves.steps import StepKind

        class Deploy(StepKind):
            name = "deploy"
            def run(self, options, ctx):
                raise AssertionError("deploy ran in verify mode")

        def pytest_waves_step_kinds():
            return [Deploy]
    """)
    issues = "- number: 1\n  title: One\n  branch: feature/issue-1\n  steps: [deploy]\n"
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues))
    result = pytester.runpytest("--waves", "plan.yaml", "--waves-verify", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*--waves-verify: `deploy` steps change state and have no read-only check*"])


def test_verify_and_dry_run_are_refused_together(pytester: pytest.Pytester, world: GitWorld) -> None:
    issues = "- number: 3\n  title: Three\n  branch: feature/issue-3\n  steps: [push]\n"
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues))
    result = pytester.runpytest("--waves", "plan.yaml", "--waves-verify", "--waves-dry-run")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--waves-verify checks the state and --waves-dry-run only describes the steps*"])


def test_a_plan_inside_its_repository_leaves_it_clean(world: GitWorld, pytester: pytest.Pytester) -> None:
    # logs and forge records go to .waves/ next to the plan, here inside the repository itself
    plan = world.path / "plans" / "plan.yaml"
    plan.parent.mkdir()
    issues = "- number: 3\n  title: Three\n  branch: main\n  steps: [{run: {cmd: 'echo hi', allow_empty: true}}]\n"
    plan.write_text(plan_text(world, issues).replace(f"path: {world.path}", "path: .."))
    result = pytester.runpytest("--waves", str(plan))
    result.assert_outcomes(passed=1)
    assert list((world.path / "plans/.waves/logs").rglob("issue3-run.log"))
    assert world.repo.git.status("--porcelain", "--untracked-files=all") == "?? plans/plan.yaml"


def test_verify_can_be_the_ini_default(pytester: pytest.Pytester, world: GitWorld) -> None:
    issues = "- number: 3\n  title: Three\n  branch: feature/issue-3\n  worktree: wt/issue-3\n  steps: [worktree]\n"
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues))
    pytester.makeini("[pytest]\nwaves_verify = true\n")
    pytester.runpytest("--waves", "plan.yaml").assert_outcomes(failed=1)
    assert not (world.path / "wt/issue-3").exists()
