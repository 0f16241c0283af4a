"""agent steps with real executables as agents: scripts that edit and commit, fail, hang, shout."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import git
import pytest

from conftest import GitWorld, edit, issue, plan_text

# A token sits in the environment and in the origin's URL; no output or file of these runs may show it.
pytestmark = pytest.mark.usefixtures("planted_token")

# An agent: records how it was called, then does what its first argument (the agent label) says.
AGENT = """\
#!{python}
import os, subprocess, sys, time
from pathlib import Path


label, prompt = sys.argv[1], sys.argv[2]
calls = Path({calls!r})
calls.write_text(calls.read_text() + label + "\\n" if calls.exists() else label + "\\n")
Path({seen!r}).write_text(repr(sys.argv[1:]) + "\\n" + repr(sorted(os.environ)) + "\\n")

def commit(name, text):
    Path(name).write_text(text)
    subprocess.run(["git", "add", name], check=True)
    subprocess.run(["git", "commit", "-q", "-m", "agent: " + name], check=True)

if label == "work":  # the call count keeps a forced second run's commit from being empty
    commit("agent.txt", prompt + "\\n" + "#" * len(calls.read_text().split()) + "\\n")
elif label == "fail":
    print("cannot do it: the trait does not compile")
    sys.exit(3)
elif label == "idle":
    print("looked around, changed nothing")
elif label == "messy":
    commit("agent.txt", "done\\n")
    Path("scratch.txt").write_text("left behind\\n")
elif label == "loud":
    line = "x" * 1023 + "\\n"
    for _ in range(8 * 1024):  # 8 MiB
        sys.stdout.write(line)
    print("LAST LINE")
    commit("agent.txt", "done\\n")
elif label == "secret":
    print("using key", os.environ.get("AGENT_KEY"), "and", os.environ.get("NOT_ALLOWED"))
    commit("agent.txt", "done\\n")
elif label == "leaves-lock":  # exits 0 with a lock that is not ours to judge
    commit("agent.txt", "done\\n")
    Path(subprocess.check_output(["git", "rev-parse", "--git-dir"], text=True).strip(), "index.lock").touch()
elif label == "merging":  # stops in a conflicted merge, then hangs
    subprocess.run(["git", "checkout", "-q", "-b", "side"], check=True)
    commit("c.txt", "side\\n")
    subprocess.run(["git", "checkout", "-q", "-"], check=True)
    commit("c.txt", "mine\\n")
    subprocess.run(["git", "merge", "-q", "side"])
    Path({ready!r}).touch()
    time.sleep(300)
elif label == "flaky":  # rate-limited on its first call, then it works
    if len(calls.read_text().split()) == 1:
        print("API Error: HTTP 429 Too Many Requests")
        sys.exit(1)
    commit("agent.txt", prompt + "\\n")
elif label == "latin-1":  # a file name that is not UTF-8
    Path(os.fsdecode(b"caf\\xe9.txt")).write_text("menu\\n")
    subprocess.run(["git", "add", "-A"], check=True)
    subprocess.run(["git", "commit", "-q", "-m", "agent: menu"], check=True)
elif label == "orphan":  # leaves an unborn branch checked out, then fails
    subprocess.run(["git", "checkout", "-q", "--orphan", "scratch"], check=True)
    sys.exit(2)
elif label == "dirty-fail":  # fails, leaving a file behind
    Path("draft.txt").write_text("half\\n")
    print("HTTP 429")
    sys.exit(1)
elif label == "half-done":  # one commit, a file written but not committed, then it hangs
    commit("agent.txt", "part one\\n")
    Path("draft.txt").write_text("half\\n")
    time.sleep(300)
elif label in ("hang", "locked"):
    sleeper = subprocess.Popen(["sleep", "300"])  # a grandchild that must die with it
    Path({pids!r}).write_text(f"{{os.getpid()}} {{sleeper.pid}}\\n")
    if label == "locked":  # as if its git were killed mid-commit
        Path(subprocess.check_output(["git", "rev-parse", "--git-dir"], text=True).strip(), "index.lock").touch()
    Path({ready!r}).touch()
    time.sleep(300)
"""


@pytest.fixture(autouse=True)
def agent_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test agent's `env: [AGENT_KEY]` is set, as a plan's agent key is where it runs (an unset
    one stops the step before dispatch: see test_presets.py)."""
    monkeypatch.setenv("AGENT_KEY", "sk-agent-0123456789")


@pytest.fixture
def agent(tmp_path: Path) -> Path:
    script = tmp_path / "agent.py"
    script.write_text(AGENT.format(python=sys.executable, calls=str(tmp_path / "calls"), seen=str(tmp_path / "seen"),
                                   pids=str(tmp_path / "pids"), ready=str(tmp_path / "ready")))
    script.chmod(0o755)
    return script


def agents_block(script: Path, timeout: float = 60) -> str:
    return (f"agents:\n  scripted:\n    command: ['{script}', '{{agent}}', '{{prompt}}']\n"
            f"    timeout: {timeout}\n    env: [AGENT_KEY]\n")


PROMPT = "Implement #{number} {title} on {branch}; deliver {deliverables}. Not a shell: $(touch pwned); {braces}"


def agent_steps(label: str, **options: object) -> str:
    extra = "".join(f", {key}: {value}" for key, value in options.items())
    return f"[{{agent: {{label: {label}, prompt: '{PROMPT}'{extra}}}}}]"


@pytest.fixture
def run_agent(pytester: pytest.Pytester, world: GitWorld, agent: Path):  # type: ignore[no-untyped-def]
    world.worktree("wt/issue-7", "feature/issue-7")

    def run(steps: str, *args: str, timeout: float = 60) -> pytest.RunResult:
        pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(steps), extra=agents_block(agent, timeout)))
        return pytester.runpytest("--waves", "plan.yaml", *args)

    return run


def calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "calls"
    return path.read_text().split() if path.exists() else []


def test_an_agent_that_commits_passes_and_gets_a_templated_prompt_without_a_shell(
        run_agent, world: GitWorld, tmp_path: Path, pytester: pytest.Pytester) -> None:
    result = run_agent(agent_steps("work"), "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*✅ agent (agent) — agent finished in *s with 1 new commit (1 file, +2 −0)"])
    tree = git.Repo(world.path / "wt/issue-7")
    assert tree.head.commit.message.strip() == "agent: agent.txt"
    prompt = (world.path / "wt/issue-7/agent.txt").read_text().splitlines()[0]
    assert prompt == ("Implement #7 Seven on feature/issue-7; deliver none. Not a shell: $(touch pwned); {braces}")
    assert not list(world.path.rglob("pwned")) and not list(pytester.path.rglob("pwned"))
    argv = (tmp_path / "seen").read_text().splitlines()[0]
    assert argv == repr(["work", prompt])


def test_the_agent_sees_only_the_environment_the_plan_allows_and_its_secrets_are_masked(
        run_agent, tmp_path: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_KEY", "sk-agent-0123456789")
    monkeypatch.setenv("NOT_ALLOWED", "do-not-pass-this")
    result = run_agent(agent_steps("secret"), "-v")
    result.assert_outcomes(passed=1)
    names = (tmp_path / "seen").read_text().splitlines()[1]
    assert "'AGENT_KEY'" in names and "NOT_ALLOWED" not in names and "PYTEST_CURRENT_TEST" not in names
    (log,) = pytester.path.glob(".waves/logs/plan/*/issue7-agent.log")
    assert log.read_text().splitlines()[3:-1] == ["using key *** and None"]  # between the header and the footer


def test_a_failing_agent_fails_the_step_with_its_last_lines_and_its_log(run_agent, pytester: pytest.Pytester) -> None:
    result = run_agent(agent_steps("fail"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*#7 Seven — step 'agent' (agent, plan.yaml:*)", "*agent exited with 3",
                                 "*log: */.waves/logs/plan/*/issue7-agent.log",
                                 "*| cannot do it: the trait does not compile"])


@pytest.mark.parametrize(("label", "problem"), [("idle", "no new commits on feature/issue-7"),
                                                ("messy", "the worktree is not clean: ?? scratch.txt")])
def test_an_agent_whose_work_is_not_accepted_fails(run_agent, label: str, problem: str) -> None:
    result = run_agent(agent_steps(label))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the agent finished, but its work is not accepted", f"*{problem}*"])


def test_acceptance_checks_can_be_turned_off(run_agent) -> None:
    run_agent(agent_steps("idle", commits="false")).assert_outcomes(passed=1)


def test_a_hanging_agent_is_killed_with_its_whole_process_group(run_agent, tmp_path: Path) -> None:
    result = run_agent(agent_steps("hang"), timeout=1.5)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*agent timed out after 1.5s; its process group was killed*"])
    for pid in map(int, (tmp_path / "pids").read_text().split()):
        assert not _alive(pid), f"process {pid} outlived the agent's timeout"


def test_megabytes_of_output_stay_on_disk_and_the_report_keeps_the_tail(run_agent, pytester: pytest.Pytester) -> None:
    result = run_agent(agent_steps("loud"))
    result.assert_outcomes(passed=1)
    (log,) = pytester.path.glob(".waves/logs/plan/*/issue7-agent.log")
    assert log.stat().st_size > 8 * 1024 * 1024 and log.read_text().splitlines()[-2] == "LAST LINE"
    assert len(result.stdout.str()) < 20_000


def test_a_rerun_does_not_dispatch_an_agent_whose_work_is_there_unless_forced(run_agent, tmp_path: Path) -> None:
    steps = agent_steps("work", done_when="{files: [agent.txt]}")
    run_agent(steps).assert_outcomes(passed=1)
    again = run_agent(steps, "-v")
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines(["*✅ agent (agent) — already satisfied: not dispatched*"])
    assert calls(tmp_path) == ["work"]
    run_agent(steps, "--waves-force-step", "issue7::agent").assert_outcomes(passed=1)
    assert calls(tmp_path) == ["work", "work"]


def test_commits_alone_never_count_as_done(run_agent, world: GitWorld, tmp_path: Path) -> None:
    # the branch has work from before (an integrate, a manual commit); nothing declares the agent's part
    world.commit(git.Repo(world.path / "wt/issue-7"), {"earlier.txt": "x\n"}, "earlier work")
    run_agent(agent_steps("work")).assert_outcomes(passed=1)
    run_agent(agent_steps("work")).assert_outcomes(passed=1)
    assert calls(tmp_path) == ["work", "work"]


def test_a_lock_left_by_an_agent_that_exited_is_not_ours_to_remove(run_agent, world: GitWorld) -> None:
    run_agent(agent_steps("leaves-lock"))
    lock = Path(git.Repo(world.path / "wt/issue-7").git_dir) / "index.lock"
    assert lock.exists()  # nothing was killed: whoever holds it may still be at work
    lock.unlink()


def test_a_merge_an_agent_left_half_done_is_aborted_when_it_is_killed(run_agent, world: GitWorld) -> None:
    result = run_agent(agent_steps("merging"), timeout=3)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*agent timed out after 3s*", "*aborted the merge it left half done*"])
    tree = git.Repo(world.path / "wt/issue-7")
    assert not (Path(tree.git_dir) / "MERGE_HEAD").exists() and tree.git.status("--porcelain") == ""
    assert tree.head.commit.message.strip() == "agent: c.txt"  # its commits stay; only the merge is undone


def test_done_when_runs_with_the_agents_environment_and_masked(
        run_agent, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_KEY", "sk-agent-0123456789")
    monkeypatch.setenv("NOT_ALLOWED", "do-not-pass-this")
    steps = agent_steps("work", done_when="{cmd: 'echo key=$AGENT_KEY not=$NOT_ALLOWED; false'}")
    run_agent(steps, "--waves-verify").assert_outcomes(failed=1)
    (log,) = pytester.path.glob(".waves/logs/plan/*/issue7-agent.done_when.log")
    assert log.read_text().splitlines()[3:-1] == ["key=*** not="]


def test_done_when_is_the_acceptance_before_and_after(run_agent, world: GitWorld, tmp_path: Path) -> None:
    steps = agent_steps("work", done_when="{files: [agent.txt], cmd: 'grep -q Implement agent.txt'}")
    run_agent(steps).assert_outcomes(passed=1)
    run_agent(steps).assert_outcomes(passed=1)
    assert calls(tmp_path) == ["work"]
    missing = agent_steps("work", done_when="{files: [docs/never.md]}")
    result = run_agent(missing)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*docs/never.md is missing*"])
    assert calls(tmp_path) == ["work", "work"]


def test_dry_run_shows_the_agent_command(run_agent, agent: Path) -> None:
    result = run_agent(agent_steps("work"), "--waves-dry-run", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([f"*dry run: would dispatch `{agent} work 'Implement #7 Seven on feature/issue-7;*"])


def test_force_step_names_must_exist(run_agent) -> None:
    result = run_agent(agent_steps("work"), "--waves-force-step", "issue9::agent")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--waves-force-step issue9::agent: no such issue or step in the plans*"])


@pytest.mark.parametrize(("agents", "step", "message"), [
    ("agents: {a: {command: [x]}, b: {command: [y]}}\n", "[{agent: do it}]",
     "say which agent with `use:` (the plan's agents: a, b)"),
    ("agents: {a: {command: [x]}}\n", "[{agent: {use: b, prompt: do it}}]",
     "agent 'b' is not among the plan's agents (a)"),
    ("", "[{agent: do it}]", "the plan declares no agents: add an `agents:` section (name → command)"),
    ("agents: {a: {command: [x]}}\n", "[{agent: {prompt: p, done_when: {files: [../../etc/passwd]}}}]",
     "done_when file '../../etc/passwd' leaves the issue's worktree"),
    ("agents: {a: {command: [x]}}\n", "[{agent: {prompt: p, done_when: {files: [/etc/passwd]}}}]",
     "done_when file '/etc/passwd' leaves the issue's worktree"),
    ("agents: {a: {command: []}}\n", "[{agent: do it}]", "agents.a.command: List should have at least 1 item"),
])
def test_agent_plan_errors_name_the_line(pytester: pytest.Pytester, world: GitWorld, agents: str, step: str,
                                        message: str) -> None:
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(step), extra=agents))
    result = pytester.runpytest("--waves", "plan.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: invalid wave plan: plan.yaml:*{message}*"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupting_a_run_during_an_agent_leaves_the_worktree_usable(
        world: GitWorld, pytester: pytest.Pytester, agent: Path, tmp_path: Path, sig: signal.Signals,
        workers: list[str]) -> None:
    tree = world.worktree("wt/issue-7", "feature/issue-7")
    plan = plan_text(world, issue(agent_steps("locked")), extra=agents_block(agent))
    pytester.path.joinpath("plan.yaml").write_text(plan)
    reports = ["--waves-json=r.json", "--junitxml=j.xml", "--waves-report=r.md"]
    run = subprocess.Popen([sys.executable, "-m", "pytest", "--waves", "plan.yaml", *reports, *workers],
                           cwd=pytester.path, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not (tmp_path / "ready").exists():
        assert time.monotonic() < deadline and run.poll() is None, "the agent never started"
        time.sleep(0.05)
    os.killpg(run.pid, sig)  # the terminal's Ctrl-C, or CI cancelling the job
    output = run.communicate(timeout=60)[0].decode()
    assert run.returncode == pytest.ExitCode.INTERRUPTED, output
    # the step says it was interrupted, in every report: not "not run", not "failed"
    how = "Ctrl-C" if sig == signal.SIGINT else "terminated by signal SIGTERM"
    assert re.search(r"1  +#7  +Seven  +0/1  +—  +⏹ interrupted \(step agent interrupted\)", output), output
    assert re.search(r"=+ 1 interrupted in [\d.]+s", output), output
    (step,) = json.loads((pytester.path / "r.json").read_text())["issues"][0]["steps"]
    assert step["outcome"] == "interrupted" and re.fullmatch(rf"interrupted \({how}\) after \d+\.\d s", step["reason"])
    assert step["start"] and step["end"] and step["changes"] is not None
    junit = ElementTree.parse(pytester.path / "j.xml")
    case = junit.find(".//testcase[@name='agent']")
    assert case is not None and case.find("failure") is not None, (pytester.path / "j.xml").read_text()
    assert [c.get("name") for c in junit.iter("testcase")] == ["agent"], (pytester.path / "j.xml").read_text()
    assert ("waves.interrupted", step["reason"]) in {(p.get("name"), p.get("value")) for p in case.iter("property")}
    assert "⏹ interrupted (step agent interrupted)" in (pytester.path / "r.md").read_text()
    # and a later -k run of a step after it is not given an old pass of it to trust
    (recorded,) = pytester.path.glob(".pytest_cache/v/waves/steps")
    assert json.loads(recorded.read_text())["plan"]["plan::issue7::agent"] == "interrupted"
    for pid in map(int, (tmp_path / "pids").read_text().split()):
        assert not _alive(pid), f"process {pid} outlived the interrupted run"
    assert not (Path(tree.git_dir) / "index.lock").exists(), "the killed agent's index.lock was left behind"
    assert tree.git.status("--porcelain") == ""
    # the next run continues where this one stopped
    pytester.path.joinpath("plan.yaml").write_text(edit(plan, "label: locked", "label: work"))
    pytester.runpytest("--waves", "plan.yaml").assert_outcomes(passed=1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead but not yet reaped by its parent
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


def test_agent_steps_run_under_xdist(run_agent, tmp_path: Path) -> None:
    result = run_agent(agent_steps("work"), "-n", "2")
    result.assert_outcomes(passed=1)
    assert calls(tmp_path) == ["work"]



def test_an_agent_whose_done_file_main_already_had_is_dispatched(world: GitWorld, pytester: pytest.Pytester,
                                                                  agent: Path, tmp_path: Path) -> None:
    """A file the base already had shows nothing of this agent's work: it is dispatched, not "already
    satisfied"; once its commit changed the file, a rerun is."""
    world.commit(world.repo, {"agent.txt": "from main\n"}, "agent.txt on main")
    world.repo.git.push("origin", "main")
    world.worktree("wt/issue-7", "feature/issue-7")
    steps = agent_steps("work", done_when="{files: [agent.txt]}")
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(steps), extra=agents_block(agent)))
    first = pytester.runpytest("--waves", "plan.yaml", "-v")
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["*✅ agent (agent) — agent finished in *s with 1 new commit (1 file, +2 −1)"])
    assert calls(tmp_path) == ["work"]
    again = pytester.runpytest("--waves", "plan.yaml", "-v")
    again.stdout.fnmatch_lines(["*✅ agent (agent) — already satisfied: not dispatched*"])
    assert calls(tmp_path) == ["work"]


def test_what_each_agent_did_is_in_every_report(run_agent, pytester: pytest.Pytester) -> None:
    result = run_agent(agent_steps("work"), "-v", "--waves-json=r.json", "--waves-report=r.md", "--junitxml=j.xml")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*✅ agent (agent) — agent finished in *s with 1 new commit (1 file, +2 −0)",
                                 "      ???????????? agent: agent.txt", "      agent.txt +2 −0"])
    result.stdout.fnmatch_lines(["Wave  Issue  Title  Steps  PR  Status     Criteria  Risk  Agent",
                                 "1     #7     Seven  1/1    —   ✅ passed  —         low   *.* s"])
    (step,) = json.loads((pytester.path / "r.json").read_text())["issues"][0]["steps"]
    changes = step["changes"]
    assert [c["subject"] for c in changes["commits"]] == ["agent: agent.txt"] and len(changes["commits"][0]["sha"]) == 12
    assert changes["files"] == [{"path": "agent.txt", "added": 2, "removed": 0}] and changes["uncommitted"] == []
    markdown = (pytester.path / "r.md").read_text()
    assert "| Wave | Issue | Title | Steps | PR | Status | Criteria | Risk | Agent |" in markdown
    assert "### Changes" in markdown and "#### #7 Seven — `agent`, " in markdown and "agent.txt +2 −0" in markdown
    # the JUnit file keeps them: a report merged from it says the same
    merged = subprocess.run([sys.executable, "-m", "pytest_waves", "report", "j.xml", "--plan", "plan.yaml",
                             "--json", "merged.json"], cwd=pytester.path, capture_output=True, text=True)
    assert merged.returncode == 0, merged.stderr
    (again,) = json.loads((pytester.path / "merged.json").read_text())["issues"][0]["steps"]
    assert again["changes"] == changes


def test_a_timed_out_agent_says_what_it_left_and_the_next_dispatch_into_it_says_so(
        run_agent, world: GitWorld, tmp_path: Path, pytester: pytest.Pytester) -> None:
    killed = run_agent(agent_steps("half-done"), "--waves-json=r.json", timeout=2)
    killed.assert_outcomes(failed=1)
    killed.stdout.fnmatch_lines(["*agent timed out after 2s*", "*left uncommitted in the worktree: ?? draft.txt"])
    (step,) = json.loads((pytester.path / "r.json").read_text())["issues"][0]["steps"]
    assert [c["subject"] for c in step["changes"]["commits"]] == ["agent: agent.txt"]
    assert step["changes"]["uncommitted"] == ["?? draft.txt"]
    tree = world.path / "wt/issue-7"
    # the next dispatch goes ahead and says what was there before it
    said = run_agent(agent_steps("work", clean="false"), "-v")
    said.assert_outcomes(passed=1)
    said.stdout.fnmatch_lines(["*agent finished in *; dispatched into a worktree with uncommitted changes from "
                               "before: ?? draft.txt"])
    # or refuses, by option: nothing dispatched, nothing touched
    head = git.Repo(tree).head.commit.hexsha
    refused = run_agent(agent_steps("work", if_dirty="refuse"), "--waves-force-step", "issue7")
    refused.assert_outcomes(failed=1)
    refused.stdout.fnmatch_lines(["*the worktree has uncommitted changes: ?? draft.txt; nothing was dispatched",
                                  "*set `if_dirty: say` to dispatch anyway"])
    assert calls(tmp_path) == ["half-done", "work"]
    assert (tree / "draft.txt").read_text() == "half\n" and git.Repo(tree).head.commit.hexsha == head


def test_a_transient_failure_is_retried_with_each_attempt_logged(run_agent, pytester: pytest.Pytester,
                                                                 tmp_path: Path, world: GitWorld, agent: Path) -> None:
    retrying = agents_block(agent) + "    retries: 2\n    backoff: 0\n    retry_on: {output: ['\\b429\\b']}\n"
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(agent_steps("flaky")), extra=retrying))
    result = pytester.runpytest("--waves", "plan.yaml", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["    | [[]pytest-waves[]] attempt 1: exit 1, output matched /\\b429\\b/: API Error: HTTP 429 "
                                 "Too Many Requests; retried after 0 s (log: *",  # the live view says it as it happens
                                 "*✅ agent (agent) — agent finished in *; after 2 attempts (attempt 1: exit 1, output "
                                 "matched /\\b429\\b/: API Error: HTTP 429 Too Many Requests)"])
    assert calls(tmp_path) == ["flaky", "flaky"]
    logs = sorted(path.name for path in (pytester.path / ".waves/logs").rglob("issue7-agent*.log"))
    assert logs == ["issue7-agent.attempt2.log", "issue7-agent.log"]
    # a failure that is not transient is not retried
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(agent_steps("fail")), extra=retrying))
    failed = pytester.runpytest("--waves", "plan.yaml")
    failed.assert_outcomes(failed=1)
    failed.stdout.fnmatch_lines(["*agent exited with 3 (attempt 1 of 3)"])
    assert calls(tmp_path) == ["flaky", "flaky", "fail"]


def test_retries_stop_at_their_number_and_each_attempt_is_said(run_agent, pytester: pytest.Pytester, tmp_path: Path,
                                                              world: GitWorld, agent: Path) -> None:
    retrying = agents_block(agent) + "    retries: 1\n    backoff: 0\n"  # any non-zero exit
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(agent_steps("fail")), extra=retrying))
    failed = pytester.runpytest("--waves", "plan.yaml")
    failed.assert_outcomes(failed=1)
    failed.stdout.fnmatch_lines(["*agent exited with 3 (attempt 2 of 2)",
                                 "*attempt 1: exit 3; retried after 0 s (log: */issue7-agent.log)",
                                 "*log: */issue7-agent.attempt2.log"])
    assert calls(tmp_path) == ["fail", "fail"]


def test_the_account_of_changes_never_hides_the_verdict(run_agent, pytester: pytest.Pytester) -> None:
    latin = run_agent(agent_steps("latin-1"), "--waves-json=r.json", "--waves-report=r.md")
    latin.assert_outcomes(passed=1)
    (step,) = json.loads((pytester.path / "r.json").read_text())["issues"][0]["steps"]
    assert step["changes"]["files"] == [{"path": "caf\ufffd.txt", "added": 1, "removed": 0}]
    orphan = run_agent(agent_steps("orphan"))
    orphan.assert_outcomes(failed=1)
    orphan.stdout.fnmatch_lines(["*agent exited with 2"])  # not git's complaint about an unborn branch


def test_a_retry_is_not_dispatched_into_what_the_failed_attempt_left_when_told_to_refuse(
        pytester: pytest.Pytester, tmp_path: Path, world: GitWorld, agent: Path) -> None:
    world.worktree("wt/issue-7", "feature/issue-7")
    retrying = agents_block(agent) + "    retries: 2\n    backoff: 0\n"
    pytester.path.joinpath("plan.yaml").write_text(
        plan_text(world, issue(agent_steps("dirty-fail", if_dirty="refuse")), extra=retrying))
    result = pytester.runpytest("--waves", "plan.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*agent exited with 1; not retried: it left uncommitted changes (if_dirty: refuse)",
                                 "*attempt 1: exit 1, left uncommitted: ?? draft.txt"])
    assert calls(tmp_path) == ["dirty-fail"]
