"""The run step: a command in the worktree, judged by exit code, output rules and whether it tested anything."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterable
from pathlib import Path

from pydantic import Field, field_validator

from pytest_waves.engine.commands import CommandResult, run_command
from pytest_waves.steps.base import (
    StepContext,
    StepFailed,
    StepKind,
    StepOptions,
    nonempty_command,
    not_installed,
)

# Test runners' own words for "ran nothing". A filter that matched no test is not a passing checklist item.
_CARGO_RESULT = re.compile(r"^test result: \w+\. (\d+) passed; (\d+) failed")
_EMPTY_SIGNS = (
    (re.compile(r"^Ran 0 tests"), "unittest ran 0 tests"),
    (re.compile(r"\bno tests ran\b"), "pytest collected no tests"),
    (re.compile(r"^(ok|\?)\s+\S+\s+.*\[no test files\]|testing: warning: no tests to run"), "go test ran no tests"),
)


class RunOptions(StepOptions):
    cmd: str | list[str] = Field(description="a shell string, or an argv list run without a shell")
    cwd: str = Field(default=".", description="relative to the issue's worktree")
    env: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=1800, gt=0, description="seconds; the whole process group is killed after")
    exit_code: int = 0
    forbid: tuple[str, ...] = Field(default=(), description="fail if any output line matches one of these")
    require: tuple[str, ...] = Field(default=(), description="fail unless each matches some output line")
    allow_empty: bool = Field(default=False, description="pass even if the test command ran no tests")

    _checks_something = field_validator("cmd")(nonempty_command)


def tested_nothing(result: CommandResult) -> str | None:
    """Why the output says no test ran, or None. pytest's exit code 5 counts too."""
    if result.exit_code == 5 and any("pytest" in part for part in result.argv):
        return "pytest exit code 5: no tests collected"
    cargo_counts: list[int] = []
    for line in result.lines():
        match = _CARGO_RESULT.match(line)
        if match:
            cargo_counts.append(int(match[1]) + int(match[2]))
            continue
        for pattern, reason in _EMPTY_SIGNS:
            if pattern.search(line):
                return reason
    if cargo_counts and sum(cargo_counts) == 0:
        return "cargo test ran 0 tests"
    return None


def _shown(cmd: str | list[str]) -> str:
    return cmd if isinstance(cmd, str) else " ".join(cmd)


class Run(StepKind[RunOptions]):
    name = "run"
    Options = RunOptions
    shorthand = "cmd"
    path_options = ("cwd",)
    read_only = True  # --waves-verify runs commands: checklists' commands test, they do not write

    def describe(self, options: RunOptions, ctx: StepContext) -> str:
        where = ctx.issue.worktree or "."
        if options.cwd != ".":
            where = f"{where}/{options.cwd}"
        return f"run `{_shown(options.cmd)}` in {where}"

    def run(self, options: RunOptions, ctx: StepContext) -> str | None:
        cwd = Path(os.path.normpath(ctx.worktree / options.cwd))  # `..` is lexical, as the plan check is
        if not cwd.is_dir():
            raise StepFailed(f"cwd {options.cwd} does not exist in {ctx.worktree}")
        log = ctx.log_path()
        try:
            result = run_command(options.cmd, cwd, options.env, options.timeout, log, on_line=ctx.on_output)
        except FileNotFoundError as exc:
            if isinstance(options.cmd, str) or exc.filename != options.cmd[0]:
                raise
            raise not_installed(options.cmd[0]) from None
        ctx.record("log", str(log))
        ctx.record("exit_code", result.exit_code)
        ctx.record("command", _shown(options.cmd))
        shown = f"$ {_shown(options.cmd)}"
        if result.timed_out:
            raise StepFailed(f"timed out after {options.timeout:g}s; the process group was killed",
                             [shown], output=_tail(result))
        empty_pytest = (options.allow_empty and result.exit_code == 5 and options.exit_code == 0
                        and any("pytest" in part for part in result.argv))  # pytest's "no tests collected"
        if result.exit_code != options.exit_code and not empty_pytest:
            got = (f"killed by signal {-result.exit_code} ({signal.Signals(-result.exit_code).name})"
                   if result.exit_code is not None and result.exit_code < 0 else f"exit code {result.exit_code}")
            telling = _telling_line(result)
            raise StepFailed(f"{got}, expected exit code {options.exit_code}{f': {telling}' if telling else ''}",
                             [shown, f"log: {log}"], output=_tail(result))
        problems = [f"forbidden output ({pattern}): {line}" for pattern in options.forbid
                    for line in _first(result.matching(pattern), 10)]
        problems += [f"no output line matches {pattern}" for pattern in options.require
                     if not result.matching(pattern)]
        empty = None if options.allow_empty else tested_nothing(result)
        if empty:
            problems.append(f"tested nothing: {empty}; a checklist item that tested nothing is not done "
                            "(set allow_empty: true if that is intended)")
        if problems:  # the headline names the rule that failed, not just that one did
            headline = problems[0].split("; a checklist item")[0] + (f" (and {len(problems) - 1} more)"
                                                                     if len(problems) > 1 else "")
            raise StepFailed(headline, [shown, *problems, f"log: {log}"], output=_tail(result))
        return f"exit {result.exit_code} in {result.duration:.1f}s"


# The first line that says what went wrong: compilers, git, test runners, Rust panics, the shell.
_TELLING = re.compile(r"^\s*(error(\[E\d+\])?:|fatal:|FAILED\b|FAIL:|ERROR:|Error:|thread '.*' panicked at|"
                      r"panicked at|.*: (command )?not found$|.*Traceback \(most recent call last\))")
TELLING_CHARS = 160


def _telling_line(result: CommandResult) -> str | None:
    for line in result.lines():
        if _TELLING.match(line):
            line = line.strip()
            return line if len(line) <= TELLING_CHARS else line[:TELLING_CHARS - 1] + "…"
    return None


def _first(lines: Iterable[str], count: int) -> list[str]:
    return list(lines)[:count]


def _tail(result: CommandResult) -> str:
    return "\n".join(result.tail())
