"""The agent step: dispatch a coding agent (amp, claude, any CLI) on the issue, then check its work.

The plan declares each agent once as an argv template; the step names it and gives the prompt. No
shell is involved, so nothing in a prompt can become a command. The agent sees only the environment
the plan allows; the values it passes by name are secrets, masked in every output.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from .. import masking
from ..process import run_command
from .base import StepContext, StepFailed, StepKind, StepOptions

if TYPE_CHECKING:
    import git

    from ..model import Agent, Plan

# What any program needs to start at all; everything else must be passed by name in `env:`.
BASE_ENVIRONMENT = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TERM", "TMPDIR", "SHELL",
                    "SYSTEMROOT", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                    "GIT_COMMITTER_EMAIL", "GIT_CONFIG_NOSYSTEM")
_FIELD = re.compile(r"\{(agent|prompt|number|title|branch|worktree|deliverables|checklist)\}")


class DoneWhen(StepOptions):
    files: tuple[str, ...] = Field(default=(), description="paths in the worktree that must exist")
    cmd: str | list[str] | None = Field(default=None, description="a command that must exit 0")


class AgentOptions(StepOptions):
    prompt: str = Field(min_length=1, description="templated with {number}, {title}, {branch}, {worktree}, "
                        "{deliverables}, {checklist}")
    use: str | None = Field(default=None, description="which of the plan's agents; default: the only one")
    label: str | None = Field(default=None, description="the {agent} value; default Sub-Agent-<wave>-<number>")
    timeout: float | None = Field(default=None, gt=0, description="default: the agent's")
    commits: bool = Field(default=True, description="it must leave new commits on the branch")
    clean: bool = Field(default=True, description="it must leave the worktree clean")
    done_when: DoneWhen | None = Field(default=None, description="acceptance: when it holds before dispatch, "
                                       "the agent is not run again")


class AgentStep(StepKind[AgentOptions]):
    name = "agent"
    Options = AgentOptions
    shorthand = "prompt"

    def check_plan(self, options: AgentOptions, plan: Plan) -> str | None:
        if options.use is None and len(plan.agents) != 1:
            have = ", ".join(plan.agents) or "none"
            return f"say which agent with `use:` (the plan's agents: {have})"
        if options.use is not None and options.use not in plan.agents:
            return f"agent {options.use!r} is not among the plan's agents ({', '.join(plan.agents) or 'none'})"
        return None

    def describe(self, options: AgentOptions, ctx: StepContext) -> str:
        argv, _ = self._command(options, ctx)
        return masking.mask(f"dispatch `{shlex.join(argv)}` in {ctx.issue.worktree or '.'}")

    # -- running ------------------------------------------------------------------------------------

    def run(self, options: AgentOptions, ctx: StepContext) -> str | None:
        from .. import gitops

        repo = gitops.open_repo(ctx.worktree)
        if not ctx.force:
            unmet = self._unmet(options, ctx, repo)
            if not unmet:
                return "already satisfied: not dispatched (--waves-force-step to run it again)"
        argv, agent = self._command(options, ctx)
        environment = self._environment(agent)
        before = repo.head.commit.hexsha
        lock = Path(repo.git_dir) / "index.lock"
        lock_before = lock.exists()
        timeout = options.timeout or agent.timeout
        log = ctx.log_path()
        ctx.record("log", str(log))
        try:
            result = run_command(argv, ctx.worktree, environment, timeout, log, inherit=False)
        finally:
            if lock.exists() and not lock_before:
                # the agent's git died with it (timeout, Ctrl-C): its whole group is gone, so the lock
                # is stale and would block every later step in this worktree
                lock.unlink()
        ctx.record("exit_code", result.exit_code)
        shown = masking.mask(f"$ {shlex.join(argv)}")
        tail = "\n".join(result.tail())
        if result.timed_out:
            raise StepFailed(f"agent timed out after {timeout:g}s; its process group was killed",
                             [shown, f"log: {log}"], output=tail)
        if result.exit_code != 0:
            raise StepFailed(f"agent exited with {result.exit_code}", [shown, f"log: {log}"], output=tail)
        repo = gitops.open_repo(ctx.worktree)  # the agent may have switched branches under us
        problems = self._acceptance(options, ctx, repo, since=before)
        if problems:
            raise StepFailed("the agent finished, but its work is not accepted", [*problems, f"log: {log}"],
                             output=tail)
        added = int(repo.git.rev_list("--count", f"{before}..HEAD"))
        return f"agent finished in {result.duration:.1f}s with {added} new commit{'s' * (added != 1)}"

    def verify(self, options: AgentOptions, ctx: StepContext) -> str | None:
        from .. import gitops

        unmet = self._unmet(options, ctx, gitops.open_repo(ctx.worktree))
        if unmet:
            raise StepFailed("the agent's work is not there (verify mode does not dispatch agents)", unmet)
        return "the agent's work is there"

    # -- helpers ------------------------------------------------------------------------------------

    def _agent(self, options: AgentOptions, ctx: StepContext) -> Agent:
        agents = ctx.plan.plan.agents
        return agents[options.use] if options.use is not None else next(iter(agents.values()))

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
        return [_fill(part, fields) for part in agent.command], agent

    @staticmethod
    def _environment(agent: Agent) -> dict[str, str]:
        environment = {name: os.environ[name] for name in BASE_ENVIRONMENT if name in os.environ}
        for name in agent.env:
            if name in os.environ:
                environment[name] = os.environ[name]
                masking.register(os.environ[name])
        return environment

    def _unmet(self, options: AgentOptions, ctx: StepContext, repo: git.Repo) -> list[str]:
        """Before dispatch: what of the agent's acceptance does not hold yet (empty: already done)."""
        from .. import gitops

        done_when = options.done_when
        if not (options.commits or self._files(options, ctx) or (done_when and done_when.cmd)):
            return ["nothing in the plan shows this agent's work is done"]  # so it always runs
        repository = ctx.plan.plan.repository
        return self._acceptance(options, ctx, repo, since=gitops.resolve(repo, f"{repository.remote}/{repository.base}"))

    @staticmethod
    def _files(options: AgentOptions, ctx: StepContext) -> tuple[str, ...]:
        return options.done_when.files if options.done_when else tuple(ctx.issue.deliverables)

    def _acceptance(self, options: AgentOptions, ctx: StepContext, repo: git.Repo, *, since: str | None) -> list[str]:
        """What does not hold of: on its branch, new commits since `since`, clean, files, done_when.cmd."""
        from .. import gitops

        problems = []
        branch = gitops.current_branch(repo)
        if branch != ctx.issue.branch:
            problems.append(f"the worktree is on {branch or 'a detached HEAD'}, not {ctx.issue.branch}")
        if options.commits and since is not None and int(repo.git.rev_list("--count", f"{since}..HEAD")) == 0:
            problems.append(f"no new commits on {ctx.issue.branch}")
        if options.clean:
            dirty = gitops.dirty_lines(repo)
            if dirty:
                problems.append(f"the worktree is not clean: {', '.join(dirty[:5])}"
                                + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else ""))
        problems += [f"{path} is missing" for path in self._files(options, ctx) if not (ctx.worktree / path).exists()]
        command = options.done_when.cmd if options.done_when else None
        if command is not None and not problems:
            log = ctx.log_path().with_suffix(".done_when.log")
            result = run_command(command, ctx.worktree, None, 600, log)
            if result.exit_code != 0:
                problems.append(f"done_when command exited with {result.exit_code} (log: {log})")
        return problems


def _fill(template: str, fields: dict[str, str]) -> str:
    """Replace the known {fields} only: other braces (code in a prompt) stay as they are."""
    return _FIELD.sub(lambda match: fields[match[1]], template)
