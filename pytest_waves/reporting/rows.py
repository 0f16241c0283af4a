"""The success-metrics table of one plan, computed once per run (`Report`), and its terminal text.

The rows are the report schema's models (schema.py): the terminal table, Markdown, JSON and the
tracking comment are all written from the same `Report`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from wcwidth import wcswidth

from pytest_waves.plan.loader import LoadedPlan, PlannedStep
from pytest_waves.plan.stepid import StepId
from pytest_waves.reporting.outcomes import Outcomes, StepRecord
from pytest_waves.reporting.schema import VERSION as JSON_SCHEMA_VERSION
from pytest_waves.reporting.schema import (
    Changes,
    CheckResult,
    Commit,
    FileChange,
    IssueResult,
    MergeResult,
    ReportDocument,
    Risk,
    StepResult,
)
from pytest_waves.reporting.status import RAN, Outcome, Status

HEADERS = ("Wave", "Issue", "Title", "Steps", "PR", "Status", "Criteria", "Risk")
AGENT = "Agent"  # a last column, in a plan with agent steps: how long its agents worked


@dataclass(frozen=True)
class Report:
    """One plan's results: a row per issue and one per wave with merge checks."""

    loaded: LoadedPlan
    issues: list[IssueResult]
    merges: list[MergeResult]

    @property
    def failed(self) -> bool:
        return any(row.status == Status.FAILED for row in self.issues) or any(
            row.status == Status.FAILED for row in self.merges)

    @property
    def whole(self) -> bool:
        """Did every step and merge check of the plan run (or get skipped for a reason)? Not after
        -k, -m, --lf or --deselect chose part of it, nor after -x stopped it half-way."""
        return all(step.outcome not in (Outcome.NOT_RUN, Outcome.INTERRUPTED)
                   for row in self.issues for step in row.steps) and all(
            check.outcome != Outcome.NOT_RUN for row in self.merges for check in row.checks.values())

    def statuses(self) -> dict[int, str]:
        """What a later rerun may trust of each issue: its status when every step of it ran; when
        only part did, only a failure (one failed step is enough to say it is not done)."""
        return {row.issue: row.status.value for row in self.issues
                if row.status in (Status.FAILED, Status.DEFERRED, Status.INTERRUPTED)
                or all(step.outcome != Outcome.NOT_RUN for step in row.steps)}

    def step_outcomes(self) -> dict[str, str]:
        """The outcome of each step that ran, by its dependency name: what a later --lf may trust."""
        return {StepId(self.loaded.key, row.issue, step.name).dependency_name: step.outcome.value
                for row in self.issues for step in row.steps if step.outcome in (*RAN, Outcome.INTERRUPTED)}

    @property
    def headers(self) -> tuple[str, ...]:
        return (*HEADERS, AGENT) if self.has_agents else HEADERS

    @property
    def has_agents(self) -> bool:
        return any(step.kind == "agent" for row in self.issues for step in row.steps)

    def cells(self, row: IssueResult) -> tuple[str, ...]:
        return (*cells(row), agent_time(row)) if self.has_agents else cells(row)

    def as_json(self) -> str:
        document = ReportDocument(schema="pytest-waves/report", version=JSON_SCHEMA_VERSION,
                                  plan=str(self.loaded.path), project=self.loaded.plan.project,
                                  issues=self.issues, merges=self.merges)
        return json.dumps(document.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False) + "\n"


def build(loaded: LoadedPlan, outcomes: Outcomes) -> Report:
    return Report(loaded, issue_rows(loaded, outcomes), merge_rows(loaded, outcomes))


def issue_rows(loaded: LoadedPlan, outcomes: Outcomes) -> list[IssueResult]:
    result = []
    for number in loaded.order:
        wave, issue = loaded.issue(number)
        outcome = outcomes.issue(loaded, number)
        result.append(IssueResult(
            wave=wave.id, wave_name=wave.name, issue=number, title=issue.title,
            status=outcome.status, reason=outcome.reason,
            steps_passed=outcome.passed, steps_total=outcome.total,
            pr=outcome.pr, pr_url=outcome.pr_url, pr_checks=_checks(outcome.pr_checks),
            criteria=issue.criteria, risk=Risk(level=issue.risk.level, mitigation=issue.risk.mitigation),
            depends_on=loaded.deps[number], deferrable=issue.deferrable,
            steps=[_step_row(step, outcome.steps.get(step.name, StepRecord())) for step in loaded.steps[number]]))
    return result


def _step_row(step: PlannedStep, record: StepRecord) -> StepResult:
    # Facts come from any step kind, a third party's too (`ctx.record`): each is brought to the
    # report's type here, so that an odd value never costs the run its table.
    facts = record.facts
    return StepResult(name=step.name, kind=step.kind.name, outcome=record.outcome, reason=record.reason,
                      duration=round(record.duration, 3), start=_iso(facts.get("start")),
                      end=_iso(facts.get("stop")), command=_text(facts.get("command")),
                      exit_code=_integer(facts.get("exit_code")), pr_url=_text(facts.get("pr_url")),
                      log=_text(facts.get("log")), output=_text(facts.get("output")),
                      changes=_changes(facts.get("changes")))


def _changes(value: object) -> Changes | None:
    """An agent step's changes, recorded as JSON (in-process or from a JUnit property)."""
    if value in (None, ""):
        return None
    try:
        data: Any = json.loads(value) if isinstance(value, str) else value
        return Changes(commits=[Commit(sha=sha, subject=subject) for sha, subject in data["commits"]],
                       files=[FileChange(path=path, added=added, removed=removed)
                              for path, added, removed in data["files"]],
                       uncommitted=[str(line) for line in data["uncommitted"]])
    except (ValueError, TypeError, KeyError, ValidationError):
        return None  # not ours, or from an older run: the report goes on without it


def _text(value: object) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


def _checks(value: str) -> Literal["none", "pending", "success", "failure"] | None:
    known: dict[str, Literal["none", "pending", "success", "failure"]] = {
        "none": "none", "pending": "pending", "success": "success", "failure": "failure"}
    return known.get(value)


def _iso(epoch: object) -> str | None:
    if epoch in (None, ""):
        return None
    return datetime.fromtimestamp(float(epoch), timezone.utc).isoformat(timespec="milliseconds")  # type: ignore[arg-type]


def merge_rows(loaded: LoadedPlan, outcomes: Outcomes) -> list[MergeResult]:
    """Per wave with merge checks: does it merge cleanly, and what each check found."""
    result = []
    for wave in loaded.plan.waves:
        checks = outcomes.checks.get((loaded.key, str(wave.id)), {})
        if not checks:
            continue
        found = {name: CheckResult(outcome=r.outcome, reason=r.reason) for name, r in checks.items()}
        failed = [f"{name}: {r.reason}" for name, r in checks.items() if r.outcome == Outcome.FAILED]
        pending = [f"{name}: {r.reason}" for name, r in checks.items()
                   if r.outcome not in (Outcome.PASSED, Outcome.FAILED)]
        status: Literal[Status.PASSED, Status.FAILED, Status.BLOCKED] = (
            Status.FAILED if failed else Status.BLOCKED if pending else Status.PASSED)
        if failed:
            summary = "; ".join(failed)
        elif pending:  # usually one cause holds back every check of the wave: say it once
            reasons = list(dict.fromkeys(r.reason for r in checks.values() if r.outcome != Outcome.PASSED))
            summary = f"{len(pending)} of {len(checks)} checks not run: {'; '.join(reasons)}"
        else:
            summary = next((r.reason for name, r in checks.items() if name == "integration"), "merges cleanly")
        result.append(MergeResult(wave=wave.id, name=wave.name, status=status, summary=summary, checks=found))
    return result


def cells(row: IssueResult) -> tuple[str, ...]:
    status = row.status.shown
    if row.reason and row.status != Status.PASSED:
        status += f" ({row.reason})"
    return (str(row.wave), f"#{row.issue}", row.title, f"{row.steps_passed}/{row.steps_total}",
            row.pr or "—", status, row.criteria or "—", row.risk.level)


def agent_time(row: IssueResult) -> str:
    """How long the issue's agents worked in this run (`4 min 12 s`); — when none was dispatched."""
    dispatched = [step.duration for step in row.steps if step.changes is not None]
    return duration_text(sum(dispatched)) if dispatched else "—"


def duration_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    return f"{minutes // 60} h {minutes % 60} min"


def _width(text: str) -> int:
    """Terminal columns: emoji and wide characters take two, joined emoji sequences one glyph's."""
    columns: int = wcswidth(text)
    return columns if columns >= 0 else len(text)  # a control character: count it as one


GAP = "  "
FLEXIBLE = (2, 5, 6)  # Title, Status, Criteria: the columns that wrap when the table is too wide
MIN_FLEXIBLE = 12


def terminal_lines(report: Report, width: int | None = None) -> list[str]:
    """The table, fitted to `width` columns when given: long cells wrap at word boundaries within
    their column (a word longer than its column is shortened with …); Markdown and JSON keep the
    full text."""
    grid = [report.headers, *(report.cells(row) for row in report.issues)]
    widths = _fit([max(_width(row[i]) for row in grid) for i in range(len(grid[0]))], width)
    lines = []
    for index, row in enumerate(grid):
        wrapped = [_wrap(cell, widths[i]) for i, cell in enumerate(row)]
        for n in range(max(len(parts) for parts in wrapped)):
            parts = [cell[n] if n < len(cell) else "" for cell in wrapped]
            lines.append(GAP.join(part + " " * (widths[i] - _width(part)) for i, part in enumerate(parts)).rstrip())
        if index == 0:
            lines.append(GAP.join("-" * w for w in widths))
    counts = {status: sum(1 for row in report.issues if row.status == status) for status in Status}
    lines.append(", ".join(f"{count} {status.value}" for status, count in counts.items() if count))
    return lines


def _fit(natural: list[int], width: int | None) -> list[int]:
    """Column widths within `width`: the wrapping columns give up space, widest first."""
    widths = list(natural)
    if width is None:
        return widths
    while sum(widths) + len(GAP) * (len(widths) - 1) > width:
        widest = max(FLEXIBLE, key=lambda i: widths[i])
        if widths[widest] <= MIN_FLEXIBLE:
            break  # narrower than this, a table is no longer readable: let the terminal wrap
        widths[widest] -= 1
    return widths


def _wrap(text: str, width: int) -> list[str]:
    """Words onto lines of at most `width` columns; never a word broken across lines."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        if _width(word) > width:
            word = _shorten(word, width)
        candidate = f"{current} {word}" if current else word
        if _width(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return lines or [""]


def _shorten(word: str, width: int) -> str:
    while word and _width(word + "…") > width:
        word = word[:-1]
    return word + "…"


def step_lines(report: Report) -> list[str]:
    """Every checklist item with its outcome and note (shown with -v)."""
    lines = []
    for row in report.issues:
        lines.append(f"#{row.issue} {row.title}")
        for step in row.steps:
            note = f" — {step.reason}" if step.reason else ""
            lines.append(f"  {step.outcome.symbol} {step.name} ({step.kind}){note}")
            lines += [f"      {line}" for line in change_lines(step.changes)]
    return lines


def change_lines(changes: Changes | None) -> list[str]:
    """An agent's commits, files (+added −removed) and what it left uncommitted, a line each."""
    if changes is None:
        return []
    lines = [f"{commit.sha} {commit.subject}" for commit in changes.commits]
    lines += [f"{change.path} " + ("(binary)" if change.added is None else f"+{change.added} −{change.removed}")
              for change in changes.files]
    lines += [f"uncommitted: {line}" for line in changes.uncommitted]
    return lines


def merge_lines(report: Report) -> list[str]:
    return [f"wave {row.wave} {row.name}: {row.status.symbol} {row.summary}" for row in report.merges]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
