"""Reports for people and CI: Markdown with a Mermaid timeline, the GitHub step summary, the versioned
JSON report, JUnit properties under xdist, JUnit merges of split runs, and the generated workflow."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import GitWorld, edit, issue, plan_text
from pytest_waves.reporting.schema import ReportDocument

PLANS = Path(__file__).resolve().parents[1] / "plans"

# Three issues of run steps in the checkout itself: #2 needs #1, #3 fails with some output.
ISSUES = """
waves:
  - id: 1
    name: Build
    issues:
      - number: 1
        title: Base
        branch: feature/issue-1
        risk: {level: medium, mitigation: "pair on it"}
        steps:
          - run: {cmd: "echo base ready", allow_empty: true}
      - number: 3
        title: Broken
        branch: feature/issue-3
        steps:
          - name: tests
            run: {cmd: "for n in 1 2 3; do echo line $n; done; echo LAST; exit 3"}
  - id: 2
    name: Ship
    issues:
      - number: 2
        title: On top
        branch: feature/issue-2
        depends_on: [1]
        steps:
          - run: {cmd: "echo shipped", allow_empty: true}
          - name: check
            run: {cmd: "true", allow_empty: true}
"""


@pytest.fixture
def plan(pytester: pytest.Pytester, world: GitWorld) -> Path:
    path = pytester.path / "plan.yaml"
    path.write_text(plan_text(world, ISSUES))
    return path


def _millis(text: str) -> list[tuple[str, str, int, int]]:
    """Gantt bars: (name as Mermaid shows it, tags, start ms, end ms)."""
    return [(m[1].strip().replace("#35;", "#"), m[2], int(m[3]), int(m[4]))
            for m in re.finditer(r"^    (.+?) :(done|crit|active), \w+, (\d+), (\d+)$", text, re.M)]


def test_markdown_has_the_table_risks_a_timeline_and_the_failed_steps(plan: Path, pytester: pytest.Pytester) -> None:
    began = time.time() * 1000
    pytester.runpytest("--waves", "plan.yaml", "--waves-report=out/report.md").assert_outcomes(passed=3, failed=1)
    ended = time.time() * 1000
    text = (pytester.path / "out/report.md").read_text()
    assert "| 1 | #1 | Base | 1/1 | — | ✅ passed | — | medium |" in text
    assert "| 1 | #1 | medium | pair on it |" in text  # the risk table
    assert "gantt\n    title demo run (seconds from its start)\n    dateFormat x\n" in text
    assert "    section Wave 1 Build\n" in text and "    section Wave 2 Ship\n" in text
    bars = _millis(text)
    assert [(name, tags) for name, tags, _, _ in bars] == [
        ("#1 Base", "done"), ("#3 Broken — failed", "crit"), ("#2 On top", "done")]
    origin = min(start for _, _, start, _ in bars)  # the run's start: the picture counts from there
    assert all(0 <= start - origin <= end - origin <= ended - began for _, _, start, end in bars)
    on_top = next(b for b in bars if b[0] == "#2 On top")
    base = next(b for b in bars if b[0] == "#1 Base")
    assert on_top[2] >= base[3]  # #2 started after #1 ended: the timeline is the real run
    failed = text.split("### Failed steps")[1]
    assert "#### #3 Broken — step `tests` (run)" in failed
    assert "exit code 3, expected exit code 0" in failed
    assert "command (exit 3):\n\n```sh\nfor n in 1 2 3; do echo line $n; done; echo LAST; exit 3\n```" in failed
    assert "```text\nline 1\nline 2\nline 3\nLAST\n```" in failed


def test_with_v_the_timeline_has_a_bar_per_step(plan: Path, pytester: pytest.Pytester) -> None:
    pytester.runpytest("--waves", "plan.yaml", "--waves-report=r.md", "-v")
    text = (pytester.path / "r.md").read_text()
    assert "    section Wave 2 Ship\n" in text
    assert [(name, tags) for name, tags, _, _ in _millis(text)] == [
        ("#1 run", "done"), ("#3 tests — failed", "crit"), ("#2 run", "done"), ("#2 check", "done")]


def test_the_github_step_summary_gets_the_same_markdown(plan: Path, pytester: pytest.Pytester,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    summary = pytester.path / "summary.md"
    summary.write_text("earlier step's summary\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.runpytest("--waves", "plan.yaml", "--waves-report=r.md")
    assert summary.read_text() == "earlier step's summary\n" + (pytester.path / "r.md").read_text() + "\n"
    pytester.runpytest("--waves", "plan.yaml", "--waves-dry-run")  # a dry run reports nothing there
    assert summary.read_text().count("## Success metrics") == 1


@pytest.mark.parametrize("args", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_a_whole_run_writes_the_github_step_summary_without_being_asked(
        plan: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    """In GitHub Actions the job's page shows the table with no option given; runs that do not speak
    for the whole plan (-k, -m, verify, dry run) add nothing there."""
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.runpytest("--waves", "plan.yaml", *args)
    text = summary.read_text()
    assert text.count("## Success metrics — demo") == 1 and "| 2 | #2 | On top | 2/2 |" in text
    for partial, ran in ((["-k", "issue1"], 1), (["-m", "not wave2"], 2), (["--waves-verify"], 4),
                         (["--waves-dry-run"], 0), (["--deselect", "plan.yaml::wave2::issue2::check"], 3),
                         (["--lf"], 1), (["-x"], None)):
        result = pytester.runpytest("--waves", "plan.yaml", *partial, *args)
        counts = result.parseoutcomes()
        if ran is not None:
            assert counts.get("passed", 0) + counts.get("failed", 0) == ran, (partial, counts)
        assert summary.read_text() == text, partial
    # a marker expression that deselects none of the plan's steps leaves the run whole
    pytester.runpytest("--waves", "plan.yaml", "-m", "not slow", *args)
    assert summary.read_text().count("## Success metrics — demo") == 2


def test_the_json_report_follows_its_versioned_schema(plan: Path, pytester: pytest.Pytester) -> None:
    pytester.runpytest("--waves", "plan.yaml", "--waves-json=r.json")
    document = ReportDocument.model_validate_json((pytester.path / "r.json").read_text())
    assert document.version == 3
    broken = next(i for i in document.issues if i.issue == 3)
    step = broken.steps[0]
    assert (step.outcome, step.exit_code, step.command) == ("failed", 3, "for n in 1 2 3; do echo line $n; done; echo LAST; exit 3")
    assert step.output == "line 1\nline 2\nline 3\nLAST" and step.log and Path(step.log).is_file()
    assert step.start and step.end and step.start <= step.end and step.start.endswith("+00:00")
    blocked_free = next(i for i in document.issues if i.issue == 2)
    assert [s.outcome for s in blocked_free.steps] == ["passed", "passed"] and blocked_free.steps[1].exit_code == 0
    schema = subprocess.run([sys.executable, "-m", "pytest_waves", "schema", "--report"], capture_output=True,
                            text=True, check=True).stdout
    assert json.loads(schema)["properties"]["version"] == {"const": 3, "title": "Version", "type": "integer"}


def test_junit_carries_step_and_suite_properties_under_xdist(world: GitWorld, pytester: pytest.Pytester) -> None:
    world.worktree("wt/issue-7", "feature/issue-7", {"seven.txt": "7\n"})
    issues = edit(ISSUES, "      - number: 3\n", "      - number: 7\n        branch: feature/issue-7\n"
                            "        worktree: wt/issue-7\n        title: Seven\n        steps: [push, pr]\n"
                            "      - number: 3\n", 1)
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues))
    pytester.runpytest("--waves", "plan.yaml", "-n", "2", "--junitxml=j.xml").assert_outcomes(passed=5, failed=1)
    root = ET.parse(pytester.path / "j.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None
    suite_props = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert suite_props == {"waves.plan": "plan", "waves.project": "demo", "waves.plan_file": "plan.yaml"}
    cases = {(case.get("classname"), case.get("name")): {p.get("name"): p.get("value") for p in case.iter("property")}
             for case in root.iter("testcase")}
    assert len(cases) == 6
    for props in cases.values():
        assert {"waves.plan", "waves.wave", "waves.issue", "waves.step", "waves.kind"} <= set(props)
    pr = cases[("plan.yaml.wave1.issue7", "pr")]
    assert pr["waves.pr_url"] == "local://demo/pull/1" and pr["waves.wave"] == "1" and pr["waves.kind"] == "pr"


def _run_module(pytester: pytest.Pytester, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_waves", *args], cwd=pytester.path, capture_output=True,
                          text=True)


def _comparable(document: dict[str, Any], drop: tuple[str, ...] = ("duration", "start", "end", "log")) -> list[dict[str, Any]]:
    """The rows without what differs between two runs (times, durations, log paths); JUnit keeps
    durations to the millisecond only, so even one run's own file drops those."""
    rows = json.loads(json.dumps(document["issues"]))
    for row in rows:
        for step in row["steps"]:
            for key in drop:
                step.pop(key)
    return rows


def test_merging_the_junit_of_split_runs_gives_the_single_runs_report(plan: Path, pytester: pytest.Pytester) -> None:
    pytester.runpytest("--waves", "plan.yaml", "--waves-json=single.json", "--junitxml=all.xml")
    for n in (1, 3, 2):  # one CI job per issue, dependencies first, as `needs:` orders them
        pytester.runpytest("--waves", "plan.yaml", "-m", f"issue{n}", "--ignore-unknown-dependency",
                           "-p", "no:cacheprovider", f"--junitxml=junit/issue{n}.xml")
    merged = _run_module(pytester, "report", "junit/issue1.xml", "junit/issue2.xml", "junit/issue3.xml",
                         "--json", "merged.json", "--markdown", "merged.md")
    assert merged.returncode == 1, merged.stderr  # #3 failed
    assert re.search(r"^1\s+#3\s+Broken\s+0/1\s+—\s+❌ failed \(step tests failed\)", merged.stdout, re.M), merged.stdout
    single = json.loads((pytester.path / "single.json").read_text())
    split = json.loads((pytester.path / "merged.json").read_text())
    assert _comparable(split) == _comparable(single)
    assert "```mermaid" in (pytester.path / "merged.md").read_text()
    # the run's own file gives back everything but the rounding of durations: start and end too
    _run_module(pytester, "report", "all.xml", "--json", "whole.json")
    assert _comparable(json.loads((pytester.path / "whole.json").read_text()), ("duration",)) == \
        _comparable(single, ("duration",))


def test_the_merge_keeps_deferred_issues_merge_checks_and_crashed_workers(plan: Path, pytester: pytest.Pytester) -> None:
    text = edit(plan.read_text(), "title: Broken\n", "title: Broken\n        deferrable: true\n")
    crash = '          - name: crash\n            run: {cmd: "kill -9 $PPID", allow_empty: true}\n'
    text = edit(text, "          - name: check\n", crash + "          - name: check\n")
    plan.write_text(edit(text, "waves:\n", "merges: {overlap: warn}\nwaves:\n", 1))
    single = pytester.runpytest_subprocess("--waves", "plan.yaml", "-n", "2", "--waves-json=single.json",
                                           "--junitxml=all.xml", "--max-worker-restart=1")
    document = json.loads((pytester.path / "single.json").read_text())
    statuses = {row["issue"]: row["status"] for row in document["issues"]}
    assert statuses == {1: "passed", 3: "deferred", 2: "failed"}, single.stdout.str()
    assert document["merges"], "the plan's merge checks ran"
    merged = _run_module(pytester, "report", "all.xml", "--json", "merged.json")
    again = json.loads((pytester.path / "merged.json").read_text())
    assert _comparable(again, ("duration",)) == _comparable(document, ("duration",))
    assert again["merges"] == document["merges"]
    assert merged.returncode == 1  # #2 failed: its step crashed its worker
    assert "crashed its worker" in merged.stdout


def test_an_issue_whose_job_was_skipped_shows_as_blocked(plan: Path, pytester: pytest.Pytester) -> None:
    # #1 fails in its job, so Actions never runs #2's job: there is no JUnit file for #2
    plan.write_text(plan.read_text().replace('cmd: "echo base ready"', 'cmd: "exit 1"'))
    pytester.runpytest("--waves", "plan.yaml", "-m", "issue1", "--junitxml=junit/issue1.xml")
    result = _run_module(pytester, "report", "junit/issue1.xml", "--json", "r.json")
    rows = {row["issue"]: row for row in json.loads((pytester.path / "r.json").read_text())["issues"]}
    assert (rows[1]["status"], rows[2]["status"], rows[3]["status"]) == ("failed", "blocked", "not run")
    assert rows[2]["reason"] == "blocked by #1 (its job failed)"
    assert "⏸ blocked (blocked by #1 (its job failed))" in result.stdout


def test_report_needs_files_and_a_plan(pytester: pytest.Pytester) -> None:
    missing = _run_module(pytester, "report", "nope.xml")
    assert missing.returncode == 2 and "no such JUnit file: nope.xml" in missing.stderr
    pytester.path.joinpath("other.xml").write_text("<testsuites><testsuite name='x'/></testsuites>")
    unnamed = _run_module(pytester, "report", "other.xml")
    assert unnamed.returncode == 2 and "say which plan with --plan" in unnamed.stderr


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="pip install -e '.[test]' installs actionlint")
def test_the_generated_workflow_passes_actionlint_and_follows_the_dependencies(pytester: pytest.Pytester) -> None:
    shutil.copy(PLANS / "luminaguard.yaml", pytester.path / "luminaguard.yaml")
    out = pytester.path / ".github/workflows/waves.yml"
    made = _run_module(pytester, "workflow", "luminaguard.yaml", "--repo", ".", "-o", str(out),
                       "--install", "pip install 'pytest-waves @ git+https://example.invalid/pytest-waves'")
    assert made.returncode == 0, made.stderr
    lint = subprocess.run(["actionlint", str(out)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    jobs = yaml.safe_load(out.read_text())["jobs"]
    waves = ["merges-wave1", "merges-wave2", "merges-wave3"]  # the plan has merge checks
    assert list(jobs) == ["issue152", "issue154", "issue155", *waves, "report"]
    assert "needs" not in jobs["issue152"] and jobs["issue155"]["needs"] == ["issue154"]
    # a deferred #154 succeeds as a job, but #155 must not run on it: it waits for "passed"
    assert jobs["issue155"]["if"] == "needs.issue154.outputs.status == 'passed'"
    assert jobs["report"]["needs"] == ["issue152", "issue154", "issue155", *waves]
    assert jobs["report"]["if"] == "${{ !cancelled() }}"
    run155 = jobs["issue155"]["steps"][3]
    assert run155["run"] == ("pytest --waves luminaguard.yaml --waves-repo . --ignore-unknown-dependency -m issue155 "
                             "--junitxml=junit/issue155.xml --waves-json waves.json")
    assert run155["env"] == {"AMP_API_KEY": "${{ secrets.AMP_API_KEY }}"}  # the agent's variable
    assert jobs["merges-wave2"]["steps"][3]["run"].endswith("-m 'wave2 and merges' --junitxml=junit/merges-wave2.xml")
    # the wave's checks judge #152 against #154 (merge-152-154), so its job waits for both
    assert jobs["merges-wave2"]["needs"] == ["issue152", "issue154"]
    assert jobs["issue152"]["steps"][2]["run"] == "pip install 'pytest-waves @ git+https://example.invalid/pytest-waves'"
    # as an admin would merge it: one run of the plan at a time, least permissions, bounded jobs
    document = yaml.safe_load(out.read_text())
    assert document["concurrency"] == {"group": "pytest-waves luminaguard.yaml", "cancel-in-progress": False}
    assert document["permissions"] == {}
    assert jobs["issue154"]["permissions"] == {"contents": "write"}  # it pushes; the local forge needs no PR rights
    assert jobs["report"]["permissions"] == {"contents": "read"}
    assert all(job["permissions"] == {"contents": "read"} for name, job in jobs.items() if name.startswith("merges"))
    # #155: its agent's 90 minutes, two cargo runs' 30 each, seven other steps' 5 each, 10 of set-up
    assert jobs["issue155"]["timeout-minutes"] == 90 + 2 * 30 + 7 * 5 + 10
    assert all(0 < job["timeout-minutes"] <= 360 for job in jobs.values())
    # the check can fail: a job that needs a job that does not exist
    out.write_text(out.read_text().replace("- issue154\n", "- issue999\n", 1))
    assert subprocess.run(["actionlint", str(out)], capture_output=True, text=True).returncode != 0


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="pip install -e '.[test]' installs actionlint")
def test_a_workflow_for_github_asks_pull_request_rights_only_where_a_pr_is_opened(pytester: pytest.Pytester) -> None:
    text = (PLANS / "luminaguard.yaml").read_text()
    text = edit(text, 'title: "feat: Implement macOS VM Backend (#155)"',
                'title: "feat: Implement macOS VM Backend (#155)"\n              labels: [waves]')
    pytester.path.joinpath("gh.yaml").write_text(edit(text, "forge: local", "forge: {kind: github, repo: acme/luminaguard}"))
    out = pytester.path / "waves.yml"
    made = _run_module(pytester, "workflow", "gh.yaml", "--repo", ".", "-o", str(out), "--install", "pip install x")
    assert made.returncode == 0, made.stderr
    assert subprocess.run(["actionlint", str(out)], capture_output=True, text=True).returncode == 0
    jobs = yaml.safe_load(out.read_text())["jobs"]
    assert jobs["issue154"]["permissions"] == {"contents": "write", "pull-requests": "write", "statuses": "read",
                                               "checks": "read"}
    assert jobs["issue154"]["steps"][3]["env"]["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    # labels it may have to create: GitHub asks issues: write of the workflow's token for that
    assert jobs["issue155"]["permissions"]["issues"] == "write" and "issues" not in jobs["issue154"]["permissions"]
    # the merge checks' run reads the forge before any item: it gets the token too, and only reads
    assert jobs["merges-wave1"]["steps"][3]["env"]["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert jobs["merges-wave1"]["permissions"] == {"contents": "read"}


def test_a_workflow_whose_repository_a_runner_would_not_have_is_refused(pytester: pytest.Pytester) -> None:
    shutil.copy(PLANS / "luminaguard.yaml", pytester.path / "luminaguard.yaml")  # repository.path: ../../luminaguard
    made = _run_module(pytester, "workflow", "luminaguard.yaml", "--install", "pip install x")
    assert made.returncode == 2 and made.stdout == ""
    assert "error: the plan's repository (../../luminaguard → " in made.stderr
    assert "give --repo PATH (e.g. --repo . for that checkout)" in made.stderr
    demo = _run_module(pytester, "workflow", str(PLANS / "demo.yaml"), "--install", "pip install x")
    assert demo.returncode == 0, demo.stderr  # a sandbox plan builds its own repository on the runner
    # a clone nested in the plan's repository (git-ignored) is not in a runner's checkout either
    subprocess.run(["git", "init", "-q", str(pytester.path)], check=True)
    subprocess.run(["git", "init", "-q", str(pytester.path / "vendor/luminaguard")], check=True)
    (pytester.path / ".gitignore").write_text("vendor/\n")
    nested = (PLANS / "luminaguard.yaml").read_text().replace("path: ../../luminaguard", "path: vendor/luminaguard")
    assert "vendor/luminaguard" in nested
    (pytester.path / "nested.yaml").write_text(nested)
    refused = _run_module(pytester, "workflow", "nested.yaml", "--install", "pip install x")
    assert refused.returncode == 2 and "is not the repository that holds nested.yaml" in refused.stderr, refused.stderr


def test_with_v_a_long_step_shows_its_output_as_it_comes(world: GitWorld, pytester: pytest.Pytester) -> None:
    # the command prints, then waits for a file that this test creates only once it has seen the line
    go = pytester.path / "go"
    issues = ("- number: 1\n  title: Long\n  branch: feature/issue-1\n  steps:\n"
              f"    - run: {{cmd: 'echo started; while [ ! -e {go} ]; do sleep 0.05; done; echo finished',"
              " allow_empty: true, timeout: 60}\n")
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues))
    run = subprocess.Popen([sys.executable, "-m", "pytest", "--waves", "plan.yaml", "-v", "-p", "no:cacheprovider"],
                           cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert run.stdout is not None
    seen = []
    for line in run.stdout:
        seen.append(line)
        if line.strip() == "| started":
            go.touch()  # only now may the command finish: the line came while it ran
            break
    rest = run.communicate(timeout=60)[0]
    assert run.returncode == 0, "".join(seen) + rest
    assert "    | finished" in rest and "plan.yaml::wave1::issue1::run PASSED" in rest


def test_with_v_under_xdist_the_terminal_says_where_each_issue_runs(plan: Path, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--waves", "plan.yaml", "-n", "2", "-v")
    result.stdout.fnmatch_lines(["[[]gw?[]] ▶ #1 Base (wave 1)"], consecutive=False)
    for number, title, wave in ((3, "Broken", 1), (2, "On top", 2)):
        result.stdout.fnmatch_lines([f"[[]gw?[]] ▶ #{number} {title} (wave {wave})"])
    quiet = pytester.runpytest("--waves", "plan.yaml", "-n", "2")  # as docs/reports.md says: only with -v
    assert "▶" not in quiet.stdout.str()


def test_with_v_a_burst_of_output_is_thinned_but_its_last_line_shown(world: GitWorld, pytester: pytest.Pytester) -> None:
    issues = ("- number: 1\n  title: Loud\n  branch: feature/issue-1\n  steps:\n"
              "    - run: {cmd: 'seq 1 5000; echo VERDICT all good', allow_empty: true}\n")
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues))
    result = pytester.runpytest("--waves", "plan.yaml", "-v")
    result.assert_outcomes(passed=1)
    shown = [line for line in result.outlines if line.startswith("    | ")]
    assert shown[0] == "    | 1" and 0 < len(shown) < 100  # 20 lines a second at most
    assert re.fullmatch(r"    \| \(\+\d+ lines\) VERDICT all good", shown[-1]), shown[-3:]


def test_report_refuses_junit_files_of_another_plan(plan: Path, pytester: pytest.Pytester) -> None:
    pytester.runpytest("--waves", "plan.yaml", "--junitxml=j.xml")
    shutil.copy(PLANS / "luminaguard.yaml", pytester.path / "luminaguard.yaml")
    result = _run_module(pytester, "report", "--plan", "luminaguard.yaml", "j.xml")
    assert result.returncode == 2
    assert "the JUnit files hold no step of plan 'luminaguard' (luminaguard.yaml); they name 'plan'" in result.stderr


ODD_FACTS_KIND = """
from pathlib import Path
from pytest_waves.steps import StepKind

class Lint(StepKind):
    name = "lint"

    def run(self, options, ctx):
        ctx.record("command", ["ruff", "check", "src"])  # a list, not a string
        ctx.record("log", Path("lint.log"))  # a path
        ctx.record("exit_code", "n/a")  # not a number
        ctx.record("pr_checks", "neutral")  # not one of the report's verdicts
        return "linted"

def pytest_waves_step_kinds():
    return [Lint]
"""


def test_a_third_party_kind_recording_odd_facts_still_gets_its_table(pytester: pytest.Pytester,
                                                                    world: GitWorld) -> None:
    """`ctx.record` takes any value; the typed report brings each to its type instead of failing."""
    pytester.makeconftest(ODD_FACTS_KIND)
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue("[lint]", worktree=False)))
    result = pytester.runpytest("--waves", "plan.yaml", "--waves-json=report.json", "--waves-report=report.md")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*#7*Seven*1/1*✅ passed*"])
    (step,) = json.loads((pytester.path / "report.json").read_text())["issues"][0]["steps"]
    assert (step["command"], step["log"], step["exit_code"]) == ("ruff check src", "lint.log", None)
    assert json.loads((pytester.path / "report.json").read_text())["issues"][0]["pr_checks"] is None


def test_the_table_lines_up_wide_characters_and_joined_emoji(pytester: pytest.Pytester, world: GitWorld) -> None:
    from wcwidth import wcswidth

    issues = issue("[{run: {cmd: 'true', allow_empty: true}}]", worktree=False, title="🧑‍💻 pairing 漢字") + issue(
        "[{run: {cmd: 'true', allow_empty: true}}]", number=8, worktree=False, title="plain")
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues))
    result = pytester.runpytest("--waves", "plan.yaml")
    result.assert_outcomes(passed=2)
    rows = [line for line in result.outlines if line.startswith("1 ") and ("#7" in line or "#8" in line)]
    assert len(rows) == 2
    columns = {wcswidth(line[:line.index("1/1")]) for line in rows}  # where the Steps column starts
    assert len(columns) == 1, rows


@pytest.mark.parametrize("columns", [80, 120])
def test_the_table_fits_the_terminal_and_breaks_no_word(pytester: pytest.Pytester, world: GitWorld,
                                                        monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    from wcwidth import wcswidth

    failing = "[{run: {cmd: \"echo 'error: the backend could not be initialised on this machine'; exit 2\"}}]"
    issues = (issue(failing, worktree=False, title="A rather long title for an issue that needs wrapping",
                    criteria="PR created, plots render in every supported backend, documentation updated")
              + issue("[{run: {cmd: 'true', allow_empty: true}}]", number=8, worktree=False, title="Short"))
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues))
    monkeypatch.setenv("COLUMNS", str(columns))
    result = pytester.runpytest("--waves", "plan.yaml", "--waves-json=r.json")
    lines = result.outlines
    start = next(n for n, line in enumerate(lines) if line.startswith("Wave  Issue"))
    table = lines[start:lines.index("1 passed, 1 failed")]
    assert all(wcswidth(line) <= columns for line in table), [line for line in table if wcswidth(line) > columns]
    report = json.loads((pytester.path / "r.json").read_text())
    words = {"Wave", "Issue", "Title", "Steps", "PR", "Status", "Criteria", "Risk", "—", "✅", "❌", "#7", "#8", "1"}
    for row in report["issues"]:
        words |= {*row["title"].split(), *row["criteria"].split(), *row["status"].split(), *row["reason"].split(),
                  f"{row['steps_passed']}/{row['steps_total']}", row["risk"]["level"]}
    words |= {f"({word}" for word in words} | {f"{word})" for word in words}
    for token in " ".join(table[2:]).split():
        shortened = token.endswith("…") and any(word.startswith(token[:-1]) for word in words)
        assert token in words or shortened, f"{token!r} is a broken word"
    assert report["issues"][0]["title"] == "A rather long title for an issue that needs wrapping"  # whole in JSON
    assert report["issues"][0]["steps"][0]["reason"].endswith("could not be initialised on this machine")


def test_with_v_a_long_step_says_where_its_log_is(world: GitWorld, pytester: pytest.Pytester) -> None:
    issues = ("- number: 1\n  title: Slow\n  branch: feature/issue-1\n  steps:\n"
              "    - run: {cmd: 'echo begun; sleep 2.5; echo over', allow_empty: true}\n"
              "    - {name: quick, run: {cmd: 'echo quick', allow_empty: true}}\n")
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues))
    result = pytester.runpytest("--waves", "plan.yaml", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["    | begun", "    | log: */.waves/logs/*/issue1-run.log (tail -f to follow)",
                                 "    | over"])
    assert "issue1-quick.log" not in result.stdout.str()  # a short step is not worth a tail -f
