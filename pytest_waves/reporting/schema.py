"""The report's rows, typed: the success-metrics table, the JSON report (`--waves-json`,
`python -m pytest_waves report`) and its versioned schema (`python -m pytest_waves schema --report`)
are all these models. rows.py fills them once per plan and run. Version 2 added per-step start/end, command, exit code,
PR URL and output tail, and the PR's checks per issue; version 3 each agent step's changes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pytest_waves.reporting.status import Outcome, Status

VERSION: Literal[3] = 3


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Commit(_Strict):
    sha: str = Field(description="abbreviated to 12 characters")
    subject: str


class FileChange(_Strict):
    path: str
    added: int | None = Field(description="lines; null for a binary file")
    removed: int | None


class Changes(_Strict):
    """What an agent step did to the branch, against its state before dispatch."""

    commits: list[Commit]
    files: list[FileChange]
    uncommitted: list[str] = Field(description="`git status --porcelain` lines it left in the worktree")


class StepResult(_Strict):
    name: str
    kind: str
    outcome: Outcome
    reason: str = Field(description="a failure's summary, a skip's reason, or a passing step's note")
    duration: float = Field(description="seconds, setup and teardown included")
    start: str | None = Field(description="ISO 8601, UTC; null when it did not run")
    end: str | None
    command: str | None = Field(description="run and agent steps: the command as run (secrets masked)")
    exit_code: int | None
    pr_url: str | None
    log: str | None = Field(description="the step's full output, on disk")
    output: str | None = Field(description="a failed step's last lines (at most 20 lines, 4000 characters)")
    changes: Changes | None = Field(description="an agent step that was dispatched: what it changed")


class Risk(_Strict):
    level: str
    mitigation: str


class IssueResult(_Strict):
    wave: int | str
    wave_name: str
    issue: int
    title: str
    status: Status
    reason: str
    steps_passed: int
    steps_total: int
    pr: str = Field(description='the table\'s PR cell, e.g. "#12 open ✅"; empty without a PR')
    pr_url: str
    pr_checks: Literal["none", "pending", "success", "failure"] | None
    criteria: str
    risk: Risk
    depends_on: list[int]
    deferrable: bool
    steps: list[StepResult]


class CheckResult(_Strict):
    outcome: Outcome
    reason: str


class MergeResult(_Strict):
    wave: int | str
    name: str
    status: Literal[Status.PASSED, Status.FAILED, Status.BLOCKED]
    summary: str
    checks: dict[str, CheckResult]


class ReportDocument(_Strict):
    schema_: Literal["pytest-waves/report"] = Field(alias="schema")
    version: Literal[3]
    plan: str
    project: str
    issues: list[IssueResult]
    merges: list[MergeResult]
