"""The Markdown report: the success-metrics table, merges, risks, a Mermaid timeline of the real run
that GitHub renders in a PR comment or job summary, and each failed step's command and last lines."""

from __future__ import annotations

from pytest_waves.reporting import timeline
from pytest_waves.reporting.rows import (
    HEADERS,
    Report,
    cells,
    change_lines,
    duration_text,
)
from pytest_waves.reporting.schema import IssueResult
from pytest_waves.reporting.status import FAILING, Outcome


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(report: Report, *, per_step: bool = False, for_comment: bool = False) -> str:
    """The report. For the tracking comment, without what changes every run (the timeline, the log
    paths, which name the run), so that an unchanged result writes nothing."""
    table, merges = report.issues, report.merges
    # the comment leaves out the agents' times too: they differ every run
    headers = HEADERS if for_comment else report.headers
    out = [f"## Success metrics — {_escape(report.loaded.plan.project)}", "",
           "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in table:
        shown = list(cells(row) if for_comment else report.cells(row))
        if row.pr_url:
            shown[4] = f"[{shown[4]}]({row.pr_url})"
        out.append("| " + " | ".join(_escape(cell) for cell in shown) + " |")
    if merges:
        out += ["", "### Merges", "", "| Wave | Status | Checks |", "|---|---|---|"]
        out += [f"| {row.wave} {_escape(row.name)} | {row.status.shown} | {_escape(row.summary)} |"
                for row in merges]
    out += ["", "### Risks", "", "| Wave | Issue | Risk | Mitigation |", "|---|---|---|---|"]
    out += [f"| {row.wave} | #{row.issue} | {row.risk.level} | {_escape(row.risk.mitigation) or '—'} |"
            for row in table]
    if not for_comment:
        out += timeline.render(report, per_step=per_step)
    if not for_comment:
        out += changes(table)
    out += failed_steps(table, logs=not for_comment)
    return "\n".join(out) + "\n"


def changes(table: list[IssueResult]) -> list[str]:
    """Per issue, what each dispatched agent did: its time, commits, files and what it left uncommitted."""
    out: list[str] = []
    for row in table:
        for step in row.steps:
            if step.changes is None:
                continue
            out += ["", f"#### #{row.issue} {_escape(row.title)} — `{step.name}`, {duration_text(step.duration)}", "",
                    f"{step.outcome.symbol} {_escape(step.reason) or step.outcome.value}", "",
                    "```text", *(line.replace("```", "ʼʼʼ") for line in change_lines(step.changes) or ["no changes"]),
                    "```"]
    return ["", "### Changes", *out] if out else []


def failed_steps(table: list[IssueResult], *, logs: bool = True) -> list[str]:
    """Each failed step: why, its command, and the last lines of its output (bounded at the source)."""
    out: list[str] = []
    for row in table:
        for step in row.steps:
            if step.outcome not in FAILING:
                continue
            deferred = " — deferred" if step.outcome == Outcome.DEFERRED else ""
            out += ["", f"#### #{row.issue} {_escape(row.title)} — step `{step.name}` ({step.kind}){deferred}", "",
                    f"{step.reason or 'failed'}"]
            if step.command:
                code = f" (exit {step.exit_code})" if step.exit_code is not None else ""
                out += ["", f"command{code}:", "", "```sh", step.command.replace("```", "ʼʼʼ"), "```"]
            if step.output:
                out += ["", "```text", *step.output.replace("```", "ʼʼʼ").splitlines(), "```"]
            if step.log and logs:
                out += ["", f"log: `{step.log}`"]
    return ["", "### Failed steps", *out] if out else []
