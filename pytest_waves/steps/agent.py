"""The agent step: dispatch a coding agent (amp, claude, any CLI) on the issue, then check its work.

The plan declares each agent once, as an argv template or a preset for a known CLI; the step names
it and gives the prompt. No shell is involved, so nothing in a prompt can become a command. The
agent's stdin is empty, its output a pipe (to the step's log and the live view), and it sees only
the environment the plan allows: the base variables below, its secrets (masked in every output),
the variables it passes through and those it sets.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import time
import warnings
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

import pytest_waves.engine.masking as masking
from pytest_waves.engine.commands import CommandResult, run_command
from pytest_waves.engine.slots import slot
from pytest_waves.steps.base import (
    NotVerifiable,
    StepContext,
    StepFailed,
    StepKind,
    StepOptions,
    nonempty_command,
    not_installed,
)
from pytest_waves.steps.deliverable import delivered_by_branch

if TYPE_CHECKING:
    import git

    from pytest_waves.plan.model import Agent, Plan

# What any program needs to start at all; everything else must be passed by name in `env:`.
BASE_ENVIRONMENT = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TERM", "TMPDIR", "SHELL",
                    "SYSTEMROOT", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                    "GIT_COMMITTER_EMAIL", "GIT_CONFIG_NOSYSTEM",
                    # where agent CLIs keep their logins, when not under HOME
                    "XDG_CONFIG_HOME", "CLAUDE_CONFIG_DIR", "CODEX_HOME")
TRANSIENT_LINES = 20  # retry_on.output is searched in the last lines of an attempt's output
_FIELD = re.compile(r"\{(agent|prompt|number|title|branch|worktree|deliverables|checklist)\}")


@dataclass(frozen=True)
class Preset:
    """A known agent CLI, run unattended: its argv template, and the API keys it reads. The keys are
    not passed unless the agent's `env:` names them: a set ANTHROPIC_API_KEY, say, would take the
    place of a subscription login, and bill per call."""

    command: tuple[str, ...]
    reads: tuple[str, ...]


PRESETS = {
    # stream-json: one JSON event a line, so the live view shows the agent at work (print mode needs
    # --verbose); unattended, it must edit, run tests and commit without asking
    "claude": Preset(("claude", "-p", "{prompt}", "--output-format", "stream-json", "--verbose",
                      "--dangerously-skip-permissions"), ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN")),
    # its workspace-write sandbox keeps a linked worktree's git directory read-only: no commit there
    "codex": Preset(("codex", "exec", "--dangerously-bypass-approvals-and-sandbox", "{prompt}"), ("CODEX_API_KEY",)),
    "amp": Preset(("amp", "--dangerously-allow-all", "--execute", "{prompt}"), ("AMP_API_KEY",)),
    # aider commits its own changes; --yes-always answers its questions, --no-pretty keeps the log plain
    "aider": Preset(("aider", "--yes-always", "--no-pretty", "--message", "{prompt}"),
                    ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")),
    "gemini": Preset(("gemini", "--yolo", "--prompt", "{prompt}"), ("GEMINI_API_KEY", "GOOGLE_API_KEY")),
}


class WavesWarning(UserWarning):
    """pytest-waves says something worth a look that does not fail a step (filter it by this class)."""


def preset_of(name: str, agent: Agent) -> Preset | None:
    """The agent's preset: named by `preset:`, or by the agent's own name when it gives no command."""
    chosen = agent.preset or (name if agent.command is None and name in PRESETS else None)
    return PRESETS[chosen] if chosen else None


def command_of(name: str, agent: Agent) -> list[str] | None:
    preset = preset_of(name, agent)
    return list(agent.command) if agent.command else list(preset.command) if preset else None


class DoneWhen(StepOptions):
    files: tuple[str, ...] = Field(default=(), description="paths in the worktree that must exist")
    cmd: str | list[str] | None = Field(default=None, description="a command that must exit 0")

    _checks_something = field_validator("cmd")(nonempty_command)


class AgentOptions(StepOptions):
    prompt: str = Field(min_length=1, description="templated with {number}, {title}, {branch}, {worktree}, "
                        "{deliverables}, {checklist}")
    use: str | None = Field(default=None, description="which of the plan's agents; default: the only one")
    label: str | None = Field(default=None, description="the {agent} value; default Sub-Agent-<wave>-<number>")
    timeout: float | None = Field(default=None, gt=0, description="default: the agent's")
    commits: bool = Field(default=True, description="it must leave new commits on the branch")
    clean: bool = Field(default=True, description="it must leave the worktree clean")
    if_dirty: Literal["say", "refuse"] = Field(
        default="say", description="a worktree with uncommitted changes before dispatch (a killed agent's, "
        "a person's): dispatch and say so, or refuse and dispatch nothing")
    done_when: DoneWhen | None = Field(default=None, description="acceptance: when it holds before dispatch, "
                                       "the agent is not run again")


class AgentStep(StepKind[AgentOptions]):
    name = "agent"
    Options = AgentOptions
    shorthand = "prompt"

    def check_plan(self, options: AgentOptions, plan: Plan) -> str | None:
        for path in options.done_when.files if options.done_when else ():
            normal = posixpath.normpath(path.replace("\\", "/"))
            if normal.startswith(("/", "../")) or normal == ".." or (len(path) > 1 and path[1] == ":"):
                return f"done_when file {path!r} leaves the issue's worktree"
        if not plan.agents:
            return "the plan declares no agents: add an `agents:` section (name → command)"
        if options.use is None and len(plan.agents) != 1:
            have = ", ".join(plan.agents) or "none"
            return f"say which agent with `use:` (the plan's agents: {have})"
        if options.use is not None and options.use not in plan.agents:
            return f"agent {options.use!r} is not among the plan's agents ({', '.join(plan.agents) or 'none'})"
        name = options.use or next(iter(plan.agents))
        if command_of(name, plan.agents[name]) is None:
            return (f"agent {name!r} has no command: give `command:` or `preset:` (one of {', '.join(PRESETS)}), "
                    "or name the agent after a preset")
        return None

    def describe(self, options: AgentOptions, ctx: StepContext) -> str:
        argv, _ = self._command(options, ctx)
        return masking.mask(f"dispatch `{shlex.join(argv)}` in {ctx.issue.worktree or '.'}")

    # -- running ------------------------------------------------------------------------------------

    def run(self, options: AgentOptions, ctx: StepContext) -> str | None:
        import pytest_waves.engine.gitops as gitops

        repo = gitops.open_repo(ctx.worktree)
        argv, agent = self._command(options, ctx)
        environment = self._environment(self._name(options, ctx), agent)
        if not ctx.force and not self._unmet(options, ctx, repo, environment):
            return "already satisfied: not dispatched (--waves-force-step to run it again)"
        missing = self._require_variables(self._name(options, ctx), agent)
        left = self._left_before(options, repo)
        before = repo.head.commit.hexsha
        lock_before = (Path(repo.git_dir) / "index.lock").exists()
        timeout = options.timeout or agent.timeout
        ctx.record("command", shlex.join(argv))
        retried: list[str] = []  # why each failed attempt before this one was retried
        attempts: list[str] = []  # the same, with its wait and log, for a failure's details
        while True:
            log = ctx.log_path() if not attempts else ctx.log_path().with_suffix(f".attempt{len(attempts) + 1}.log")
            ctx.record("log", str(log))
            try:
                with self._slot(self._name(options, ctx), agent, ctx):
                    result = run_command(argv, ctx.worktree, environment, timeout, log, inherit=False,
                                         on_line=ctx.on_output)
            except FileNotFoundError as exc:
                if exc.filename != argv[0]:
                    raise
                raise not_installed(argv[0], f"agent {options.use or next(iter(ctx.plan.plan.agents), '')}") from None
            except KeyboardInterrupt:  # run_command killed the agent's group on the way out
                self._tidy_after_kill(ctx, lock_before)
                record_changes(ctx, before)  # what it left behind, uncommitted files too
                raise
            transient = _transient(agent, result) if len(attempts) < agent.retries else None
            if transient is None:
                break
            wait = agent.backoff * 2 ** len(attempts)
            left_now = gitops.dirty_lines(repo)  # what this attempt left: the next one starts in it
            retried.append(f"attempt {len(attempts) + 1}: {transient}"
                           + (f", left uncommitted: {', '.join(left_now[:5])}" if left_now else ""))
            attempts.append(f"{retried[-1]}; retried after {wait:g} s (log: {log})")
            if left_now and options.if_dirty == "refuse":
                record_changes(ctx, before)
                raise StepFailed(f"agent exited with {result.exit_code}; not retried: it left uncommitted changes "
                                 f"(if_dirty: refuse)", [*attempts[:-1], retried[-1], f"log: {log}"],
                                 output="\n".join(result.tail()))
            if ctx.on_output is not None:
                ctx.on_output(f"[pytest-waves] {attempts[-1]}")
            try:
                time.sleep(wait)
            except KeyboardInterrupt:  # between attempts: what the last one did is still its account
                ctx.record("exit_code", result.exit_code)
                record_changes(ctx, before)
                raise
        ctx.record("exit_code", result.exit_code)
        shown = masking.mask(f"$ {shlex.join(argv)}")
        tail = "\n".join(result.tail())
        if result.timed_out:
            tidied = self._tidy_after_kill(ctx, lock_before)
            changes = record_changes(ctx, before)
            raise StepFailed(f"agent timed out after {timeout:g}s; its process group was killed",
                             [shown, *attempts, *tidied, *changes.uncommitted_note(), f"log: {log}"], output=tail)
        changes = record_changes(ctx, before)
        if result.exit_code != 0:
            tried = f" (attempt {len(attempts) + 1} of {agent.retries + 1})" if agent.retries else ""
            raise StepFailed(f"agent exited with {result.exit_code}{tried}",
                             [shown, *attempts, *changes.uncommitted_note(), f"log: {log}"], output=tail)
        repo = gitops.open_repo(ctx.worktree)  # the agent may have switched branches under us
        problems = self._problems(options, ctx, repo, environment, since=before)
        if problems:
            before_it = [f"uncommitted before it started: {', '.join(left)}"] if left else []
            raise StepFailed("the agent finished, but its work is not accepted", [*problems, *before_it, f"log: {log}"],
                             output=tail)
        said = [f"dispatched into a worktree with uncommitted changes from before: {', '.join(left)}"] if left else []
        said += [missing] if missing else []
        said += [f"after {len(retried) + 1} attempts ({'; '.join(retried)})"] if retried else []
        return f"agent finished in {result.duration:.1f}s with {changes.summary()}" + "".join(f"; {s}" for s in said)

    @staticmethod
    def _slot(name: str, agent: Agent, ctx: StepContext) -> AbstractContextManager[object]:
        """Under xdist, one of the agent's `max_parallel` slots, waited for when all are taken (in one
        process steps run one at a time anyway)."""
        if agent.max_parallel is None or ctx.slots is None:
            return nullcontext()
        output = ctx.on_output
        waiting = f"[pytest-waves] waiting for one of agent {name!r}'s {agent.max_parallel} slots (max_parallel)"
        return slot(ctx.slots, f"{ctx.plan.key}::{name}", agent.max_parallel,
                    on_wait=(lambda: output(waiting)) if output else None)

    @staticmethod
    def _left_before(options: AgentOptions, repo: git.Repo) -> list[str]:
        """What the worktree holds uncommitted before dispatch: said, or a reason not to dispatch
        (an agent may commit or discard what someone else left there)."""
        import pytest_waves.engine.gitops as gitops

        left = gitops.dirty_lines(repo)
        if left and options.if_dirty == "refuse":
            raise StepFailed(f"the worktree has uncommitted changes: {', '.join(left[:5])}"
                             + (f" and {len(left) - 5} more" if len(left) > 5 else "") + "; nothing was dispatched",
                             ["commit, stash or remove them, or set `if_dirty: say` to dispatch anyway"])
        return left

    def verify(self, options: AgentOptions, ctx: StepContext) -> str | None:
        import pytest_waves.engine.gitops as gitops

        if not self._declares_done(options, ctx):
            raise NotVerifiable("an agent step without deliverables or done_when has nothing to verify")
        environment = self._environment(self._name(options, ctx), self._agent(options, ctx))
        unmet = self._unmet(options, ctx, gitops.open_repo(ctx.worktree), environment)
        if unmet:
            raise StepFailed("the agent's work is not there (verify mode does not dispatch agents)", unmet)
        return "the agent's work is there"

    # -- helpers ------------------------------------------------------------------------------------

    @staticmethod
    def _name(options: AgentOptions, ctx: StepContext) -> str:
        return options.use or next(iter(ctx.plan.plan.agents))

    def _agent(self, options: AgentOptions, ctx: StepContext) -> Agent:
        return ctx.plan.plan.agents[self._name(options, ctx)]

    def _command(self, options: AgentOptions, ctx: StepContext) -> tuple[list[str], Agent]:
        agent = self._agent(options, ctx)
        issue, wave = ctx.issue, ctx.wave
        fields = {
            "number": str(issue.number), "title": issue.title, "branch": issue.branch,
            "worktree": str(ctx.worktree), "deliverables": ", ".join(issue.deliverables) or "none",
            "checklist": "\n".join(f"- {step.name} ({step.kind.name})" for step in ctx.plan.steps[issue.number]),
        }
        fields["agent"] = options.label or f"Sub-Agent-{wave.name or wave.id}-{issue.number}"
        fields["prompt"] = _fill(options.prompt, fields)
        command = command_of(self._name(options, ctx), agent) or []  # check_plan made sure there is one
        return [_fill(part, fields) for part in command], agent

    @staticmethod
    def _require_variables(name: str, agent: Agent) -> str | None:
        """A variable the plan names and this machine lacks fails the step before dispatch (or is
        said, by `missing_env: warn`): an agent without its key would fail later, and less clearly."""
        missing = [key for key in (*agent.env, *agent.pass_env) if not os.environ.get(key)]  # "" is unset too
        if not missing:
            return None
        said = f"agent {name!r} needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not set here"
        if agent.missing_env == "error":
            raise StepFailed(said + "; nothing was dispatched",
                             ["set it, or take it out of the agent's env/pass_env (missing_env: warn to go on)"])
        warnings.warn(said, WavesWarning, stacklevel=2)
        return said

    @staticmethod
    def _environment(name: str, agent: Agent) -> dict[str, str]:
        """Base variables, the agent's secrets, what it passes through and what it sets."""
        environment = {key: os.environ[key] for key in BASE_ENVIRONMENT if key in os.environ}
        passed = {key: os.environ[key] for key in agent.pass_env if key in os.environ}
        return {**environment, **passed, **agent_secrets(name, agent), **agent.set_env}  # set_env says last

    @staticmethod
    def _declares_done(options: AgentOptions, ctx: StepContext) -> bool:
        """Only files or a command can show that the work is done; commits cannot (a branch has
        commits from before the agent, and none beyond the base once it is merged)."""
        done_when = options.done_when
        return bool(done_when.files or done_when.cmd is not None) if done_when else bool(ctx.issue.deliverables)

    def _unmet(self, options: AgentOptions, ctx: StepContext, repo: git.Repo, environment: dict[str, str]) -> list[str]:
        """Before dispatch: what shows the work is not done yet (empty: already done)."""
        if not self._declares_done(options, ctx):
            return ["nothing in the plan shows this agent's work is done"]  # so it always runs
        return self._problems(options, ctx, repo, environment, since=None)

    def _problems(self, options: AgentOptions, ctx: StepContext, repo: git.Repo, environment: dict[str, str],
                  *, since: str | None) -> list[str]:
        """What does not hold of: on its branch, new commits since `since`, clean, files, done_when.cmd."""
        import pytest_waves.engine.gitops as gitops

        problems = []
        branch = gitops.current_branch(repo)
        if branch != ctx.issue.branch:
            problems.append(f"the worktree is on {branch or 'a detached HEAD'}, not {ctx.issue.branch}")
        if options.commits and since is not None:
            made = int(repo.git.rev_list("--count", f"{since}..HEAD"))
            if made == 0:
                problems.append(f"no new commits on {ctx.issue.branch}")
            elif not repo.git.diff("--name-only", since, "HEAD").strip():  # an empty commit is not work
                problems.append(f"its {made} new commit{'s' * (made != 1)} change no file")
        if options.clean:
            dirty = gitops.dirty_lines(repo)
            if dirty:
                problems.append(f"the worktree is not clean: {', '.join(dirty[:5])}"
                                + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else ""))
        files = options.done_when.files if options.done_when else tuple(ctx.issue.deliverables)
        problems += [f"{path} is missing" for path in files if not (ctx.worktree / path).exists()]
        for path in files:  # a file the base already had shows nothing of this agent's work
            if (ctx.worktree / path).exists():
                try:
                    delivered_by_branch(path, ctx)
                except StepFailed as not_yet:
                    problems.append(not_yet.summary)
        command = options.done_when.cmd if options.done_when else None
        if command is not None and not problems:
            log = ctx.log_path().with_suffix(".done_when.log")
            # with the agent's environment: the command may read what the agent may, nothing more
            result = run_command(command, ctx.worktree, environment, 600, log, inherit=False)
            if result.exit_code != 0:
                problems.append(f"done_when command exited with {result.exit_code} (log: {log})")
        return problems

    @staticmethod
    def _tidy_after_kill(ctx: StepContext, lock_before: bool) -> list[str]:
        """The agent's whole group is dead: what its git left half done in the issue's own worktree
        (a stale index.lock, a merge or rebase in progress) is undone, so the next run can start."""
        import pytest_waves.engine.gitops as gitops

        if ctx.issue.worktree is None:  # the shared checkout: another issue's git may be at work there
            return []
        repo = gitops.open_repo(ctx.worktree)
        notes = []
        lock = Path(repo.git_dir) / "index.lock"
        if lock.exists() and not lock_before:
            lock.unlink()
            notes.append("removed the index.lock its killed git left")
        busy = gitops.operation_in_progress(repo)
        if busy:
            repo.git.execute(["git", busy, "--abort"])
            notes.append(f"aborted the {busy} it left half done")
        return notes


def agent_secrets(name: str, agent: Agent) -> dict[str, str]:
    """The secrets an agent may see by name (its `env`), with their values; these are masked from now on (called for every agent when a run starts, on every xdist worker, before
    any step runs)."""
    found = {key: os.environ[key] for key in agent.env if key in os.environ}
    for value in found.values():
        masking.register(value)
    return found


@dataclass(frozen=True)
class Changes:
    """What an agent did to its branch: commits (sha, subject), the files they changed (path, lines
    added, removed; None for a binary file), and what it left uncommitted."""

    commits: list[tuple[str, str]]
    files: list[tuple[str, int | None, int | None]]
    uncommitted: list[str]

    def summary(self) -> str:
        """`2 new commits (3 files, +40 −2)`."""
        count, files = len(self.commits), self.files
        added = sum(f[1] or 0 for f in files)
        removed = sum(f[2] or 0 for f in files)
        stat = f" ({len(files)} file{'s' * (len(files) != 1)}, +{added} −{removed})" if files else ""
        return f"{count} new commit{'s' * (count != 1)}{stat}"

    def uncommitted_note(self) -> list[str]:
        left = self.uncommitted
        return [f"left uncommitted in the worktree: {', '.join(left[:10])}"
                + (f" and {len(left) - 10} more" if len(left) > 10 else "")] if left else []


def record_changes(ctx: StepContext, before: str) -> Changes:
    """What the agent did since `before`, recorded for the reports as JSON (a JUnit file keeps it too).
    What git cannot say (the agent left an unborn branch, say) is left out: the step's own verdict
    must not give way to a failure of this account."""
    import git as gitpython

    import pytest_waves.engine.gitops as gitops

    repo = gitops.open_repo(ctx.worktree)
    try:
        listing = _text(repo.git.log("--reverse", "--format=%H %s", f"{before}..HEAD", "--", stdout_as_string=False))
        numstat = _text(repo.git.diff("--numstat", "-z", "--no-renames", before, "HEAD", stdout_as_string=False))
    except gitpython.GitCommandError:
        listing = numstat = ""
    commits = [(sha[:12], subject) for sha, _, subject in (line.partition(" ") for line in listing.splitlines() if line)]
    files: list[tuple[str, int | None, int | None]] = []
    for line in numstat.split("\0"):
        added, _, rest = line.partition("\t")
        removed, _, path = rest.partition("\t")
        if path:  # "-" for a binary file's lines
            files.append((path, int(added) if added.isdigit() else None, int(removed) if removed.isdigit() else None))
    try:
        left = gitops.dirty_lines(repo)
    except gitpython.GitCommandError:
        left = []
    changes = Changes(commits, files, left)
    ctx.record("changes", json.dumps(asdict(changes), ensure_ascii=False))
    return changes


def _text(output: object) -> str:
    """git's bytes as text: a name that is not UTF-8 is shown with U+FFFD, never carried as a surrogate
    that no report could write."""
    return output.decode("utf-8", errors="replace") if isinstance(output, bytes) else str(output)


def _transient(agent: Agent, result: CommandResult) -> str | None:
    """Why a failed attempt counts as transient (retried), or None: it passed, timed out, or failed otherwise."""
    if result.timed_out or result.exit_code == 0:
        return None
    rules = agent.retry_on
    if not rules.exit and not rules.output:
        return f"exit {result.exit_code}"
    if result.exit_code in rules.exit:
        return f"exit {result.exit_code}"
    tail = result.tail(TRANSIENT_LINES)  # the error it ended with, not a file it read on the way
    for pattern in rules.output:
        found = [line for line in tail if re.search(pattern, line)]
        if found:
            return f"exit {result.exit_code}, output matched /{pattern}/: {masking.mask(found[-1])[:120]}"
    return None


def _fill(template: str, fields: dict[str, str]) -> str:
    """Replace the known {fields} only: other braces (code in a prompt) stay as they are."""
    return _FIELD.sub(lambda match: fields[match[1]], template)
