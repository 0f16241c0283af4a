"""Agent presets for real agent CLIs, run against fake binaries of the same name that check the argv
they receive; the agent's environment policy; and an empty commit that is not work."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from conftest import GitWorld, issue, plan_text

# argv after the program's name, as each CLI is run without a terminal ({prompt} filled in)
EXPECTED = {
    "claude": ["-p", "PROMPT", "--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions"],
    "codex": ["exec", "--dangerously-bypass-approvals-and-sandbox", "PROMPT"],
    "amp": ["--dangerously-allow-all", "--execute", "PROMPT"],
    "aider": ["--yes-always", "--no-pretty", "--message", "PROMPT"],
    "gemini": ["--yolo", "--prompt", "PROMPT"],
}
PROMPT = "Fix #7 Seven on feature/issue-7"

# A fake CLI: exits 2 unless its argv is the preset's, else commits what it was asked and shows its key.
FAKE = """\
#!{python}
import json, os, subprocess, sys, time
from pathlib import Path
expected = json.loads({expected!r})
if sys.argv[1:] != expected:
    print("unexpected argv:", sys.argv[1:])
    sys.exit(2)
print("key:", os.environ.get({key!r}, "unset"), "| region:", os.environ.get("AWS_REGION", "unset"),
      "| log:", os.environ.get("RUST_LOG", "unset"), "| stdin:", repr(sys.stdin.read()))
Path("done.txt").write_text({name!r} + " " + str(time.time()) + "\\n")  # each run its own change
subprocess.run(["git", "add", "done.txt"], check=True)
subprocess.run(["git", "commit", "-q", "-m", "agent: " + {name!r}], check=True)
"""


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    from pytest_waves.steps.agent import PRESETS
    for name, argv in EXPECTED.items():
        script = folder / name
        expected = [PROMPT if part == "PROMPT" else part for part in argv]
        script.write_text(FAKE.format(python=sys.executable, expected=json.dumps(expected),
                                      key=PRESETS[name].reads[0], name=name))
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder


def _plan(world: GitWorld, agents: str, step: str = "{agent: {prompt: 'Fix #{number} {title} on {branch}'}}") -> str:
    world.worktree("wt/issue-7", "feature/issue-7")
    return plan_text(world, issue(f"[{step}]", deliverables=["done.txt"]), extra=agents)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_preset_runs_its_cli_non_interactively(pytester: pytest.Pytester, world: GitWorld, fake_bin: Path,
                                                    monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    from pytest_waves.steps.agent import PRESETS
    key = PRESETS[name].reads[0]
    monkeypatch.setenv(key, "sk-preset-0123456789abcdef")
    pytester.path.joinpath("plan.yaml").write_text(_plan(world, f"agents:\n  {name}: {{}}\n"))  # by its name
    result = pytester.runpytest("--waves", "plan.yaml", "-v", "--waves-json=r.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*agent finished in *s with 1 new commit (1 file, +1 −0)*"])
    log = next((pytester.path / ".waves/logs").rglob("issue7-agent.log")).read_text()
    # a key it reads is not passed unless `env:` names it: a set API key would take a login's place
    assert "key: unset |" in log
    pytester.path.joinpath("plan.yaml").write_text(
        (pytester.path / "plan.yaml").read_text().replace(f"  {name}: {{}}\n", f"  {name}: {{env: [{key}]}}\n"))
    pytester.runpytest("--waves", "plan.yaml", "--waves-force-step", "issue7").assert_outcomes(passed=1)
    log = max((pytester.path / ".waves/logs").rglob("issue7-agent.log"), key=lambda f: f.stat().st_mtime_ns).read_text()
    assert "key: *** |" in log and "sk-preset" not in log  # named in env: passed, and masked in the log
    assert "stdin: ''" in log  # stdin is empty: an agent that asks a question gets no answer and no hang


def test_a_preset_chosen_by_name_and_its_command_overridden(pytester: pytest.Pytester, world: GitWorld,
                                                            fake_bin: Path) -> None:
    agents = ("agents:\n  mine:\n    preset: codex\n"
              "    command: [codex, exec, --dangerously-bypass-approvals-and-sandbox, '{prompt}']\n")
    pytester.path.joinpath("plan.yaml").write_text(_plan(world, agents))
    pytester.runpytest("--waves", "plan.yaml").assert_outcomes(passed=1)


def test_an_agent_without_a_command_or_preset_is_a_plan_error(pytester: pytest.Pytester, world: GitWorld) -> None:
    pytester.path.joinpath("plan.yaml").write_text(_plan(world, "agents:\n  helper: {}\n"))
    result = pytester.runpytest("--waves", "plan.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: invalid wave plan: *agent 'helper' has no command: give `command:` or "
                                 "`preset:` (one of claude, codex, amp, aider, gemini), or name the agent after a preset"])


def test_a_variable_the_plan_names_and_the_machine_lacks_stops_before_dispatch(
        pytester: pytest.Pytester, world: GitWorld, fake_bin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    agents = "agents:\n  codex:\n    env: [OPENAI_API_KEY]\n    pass_env: [AWS_REGION]\n"
    pytester.path.joinpath("plan.yaml").write_text(_plan(world, agents))
    result = pytester.runpytest("--waves", "plan.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*agent 'codex' needs OPENAI_API_KEY, AWS_REGION, which are not set here; "
                                 "nothing was dispatched*"])
    assert not (world.path / "wt/issue-7/done.txt").exists()
    text = (pytester.path / "plan.yaml").read_text()
    pytester.path.joinpath("plan.yaml").write_text(text.replace("pass_env: [AWS_REGION]\n",
                                                                "pass_env: [AWS_REGION]\n    missing_env: warn\n"))
    warned = pytester.runpytest("--waves", "plan.yaml", "-rw")
    warned.assert_outcomes(passed=1)  # (other warnings may come with it where the suite is installed)
    warned.stdout.fnmatch_lines(["*WavesWarning: agent 'codex' needs OPENAI_API_KEY, AWS_REGION, which are not set here*"])


def test_passed_and_set_variables_are_not_secrets(pytester: pytest.Pytester, world: GitWorld, fake_bin: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_API_KEY", "sk-codex-0123456789")
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    agents = "agents:\n  codex:\n    env: [CODEX_API_KEY]\n    pass_env: [AWS_REGION]\n    set_env: {RUST_LOG: info}\n"
    pytester.path.joinpath("plan.yaml").write_text(_plan(world, agents))
    pytester.runpytest("--waves", "plan.yaml").assert_outcomes(passed=1)
    log = next((pytester.path / ".waves/logs").rglob("issue7-agent.log")).read_text()
    assert "key: *** | region: eu-north-1 | log: info" in log


EMPTY = """\
#!/bin/sh
git commit -q --allow-empty -m "agent: done, honestly"
"""


def test_an_empty_commit_is_not_work(pytester: pytest.Pytester, world: GitWorld, tmp_path: Path) -> None:
    script = tmp_path / "empty-agent"
    script.write_text(EMPTY)
    script.chmod(0o755)
    world.worktree("wt/issue-7", "feature/issue-7")
    text = plan_text(world, issue("[{agent: {prompt: go, commits: true}}]"),
                     extra=f"agents:\n  liar:\n    command: [{script}]\n")
    pytester.path.joinpath("plan.yaml").write_text(text)
    result = pytester.runpytest("--waves", "plan.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the agent finished, but its work is not accepted*", "*its 1 new commit change no file*"])


# A fake Claude Code that works for a while: stream-json events, one a line, then a commit.
WORKER = """\
#!{python}
import json, os, subprocess, sys, time
from pathlib import Path
issue = sys.argv[2]
began = time.time()
for turn in range(1, {turns} + 1):
    print(json.dumps({{"type": "assistant", "message": {{"content": [{{"type": "text", "text": f"#{{issue}} turn {{turn}}"}}]}}}}),
          flush=True)
    time.sleep({pause})
Path(f"issue{{issue}}.txt").write_text(f"done at {{time.time()}}\\n")  # each run its own change
subprocess.run(["git", "add", "."], check=True)
subprocess.run(["git", "commit", "-q", "-m", f"feat: #{{issue}}"], check=True)
print(json.dumps({{"type": "result", "subtype": "success", "result": f"#{{issue}} committed"}}), flush=True)
if os.environ.get("SPANS"):  # when it worked, for the test of max_parallel
    with open(os.environ["SPANS"], "a") as spans:
        spans.write(f"{{issue}} {{began}} {{time.time()}}\\n")
"""


def _three_agents(world: GitWorld, pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  turns: int = 8, pause: float = 0.4, agent: str = "{}") -> None:
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    (folder / "claude").write_text(WORKER.format(python=sys.executable, turns=turns, pause=pause))
    (folder / "claude").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    issues = ""
    for number in (1, 2, 3):
        world.worktree(f"wt/issue-{number}", f"feature/issue-{number}")
        issues += issue([{"agent": "{number}"}], number, title=f"Issue {number}", deliverables=[f"issue{number}.txt"])
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues, extra=f"agents:\n  claude: {agent}\n"))


def test_under_n_the_controller_shows_each_agents_latest_line(pytester: pytest.Pytester, world: GitWorld,
                                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _three_agents(world, pytester, tmp_path, monkeypatch)
    result = pytester.runpytest_subprocess("--waves", "plan.yaml", "-n", "3", "-v", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    for number in (1, 2, 3):
        result.stdout.fnmatch_lines([f"[[]gw?[]] #{number} agent | log: */issue{number}-agent.log (tail -f to follow)"],
                                    consecutive=False)
        result.stdout.fnmatch_lines([f'[[]gw?[]] #{number} agent | *"text": "#{number} turn 1"*'], consecutive=False)
        # the last line is always shown, whatever was passed over
        result.stdout.fnmatch_lines([f'[[]gw?[]] #{number} agent | *"result": "#{number} committed"*'],
                                    consecutive=False)
    # no line cut by another: each relayed line whole, each of pytest's own whole
    relayed = [line for line in result.outlines if " agent | " in line]
    assert all(re.fullmatch(r'\[gw\d\] #\d agent \| (log: .*|\{"type": .*\}|\(\+\d+ lines\) \{.*\})', line)
               for line in relayed), relayed
    reported = [line for line in result.outlines if "PASSED" in line]
    assert len(reported) == 3 and all(re.fullmatch(r"\[gw\d\] \[ *\d+%\] PASSED \S+ ?", line) for line in reported)
    # a step's lines are all shown before its verdict
    for number in (1, 2, 3):
        last = max(i for i, line in enumerate(result.outlines) if f"#{number} agent | " in line)
        assert last < result.outlines.index(next(line for line in reported if f"issue{number}::agent" in line))
    forced = [arg for number in (1, 2, 3) for arg in ("--waves-force-step", f"issue{number}")]
    quiet = pytester.runpytest_subprocess("--waves", "plan.yaml", "-n", "3", *forced)
    quiet.assert_outcomes(passed=3)
    assert " agent | " not in quiet.stdout.str()  # only with -v, as the single-process view


@pytest.mark.parametrize("limit", [1, None], ids=["max_parallel-1", "unlimited"])
def test_max_parallel_limits_an_agents_steps_at_once_under_n(pytester: pytest.Pytester, world: GitWorld,
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             limit: int | None) -> None:
    spans = tmp_path / "spans"
    limited = f", max_parallel: {limit}" if limit else ""
    _three_agents(world, pytester, tmp_path, monkeypatch, turns=3, pause=0.5,
                  agent=f"{{set_env: {{SPANS: '{spans}'}}{limited}}}")
    result = pytester.runpytest_subprocess("--waves", "plan.yaml", "-n", "3", "-v", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    waits = [line for line in result.outlines if "[pytest-waves] waiting for one of agent 'claude''s 1 slots" in line]
    assert len(waits) >= 1 if limit else not waits, result.outlines  # the live view says why a step waits
    worked = sorted(tuple(map(float, line.split()[1:])) for line in spans.read_text().splitlines())
    overlaps = sum(1 for (_, end), (start, _) in zip(worked, worked[1:]) if start < end)
    assert len(worked) == 3
    # one at a time with the limit; without it, the workers run them side by side
    assert overlaps == 0 if limit else overlaps >= 1, worked
