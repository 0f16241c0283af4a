"""The Markdown report: the success-metrics table, merges, risks, a Mermaid timeline of the real run
that GitHub renders in a PR comment or job summary, and each failed step's command and last lines."""

from __future__ import annotations

import re
from datetime import datetime

from pytest_waves.reporting.rows import HEADERS, Report, cells
from pytest_waves.reporting.schema import IssueResult
from pytest_waves.reporting.status import FAILING, RAN, Outcome, Status


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(report: Report, *, per_step: bool = False, for_comment: bool = False) -> str:
    """The report. For the tracking comment, without what changes every run (the timeline, the log
    paths, which name the run), so that an unchanged result writes nothing."""
    table, merges = report.issues, report.merges
    out = [f"## Success metrics — {_escape(report.loaded.plan.project)}", "",
           "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for row in table:
        shown = list(cells(row))
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
        out += timeline(report, per_step=per_step)
    out += failed_steps(table, logs=not for_comment)
    return "\n".join(out) + "\n"


def _label(text: str) -> str:
    """Mermaid gantt task names may not hold `:` or `;`, `#` starts an entity there, and a name must
    stay on its line."""
    return re.sub(r"[:;#\r\n]", " ", text).strip()


def _millis(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def timeline(report: Report, *, per_step: bool) -> list[str]:
    """A Mermaid gantt block of the real run: a bar per issue (per step with -v), failed ones marked."""
    bars: list[tuple[str, list[str]]] = []  # (section, lines)
    for row in report.issues:
        ran = [(step, step.start, step.end) for step in row.steps if step.outcome in RAN and step.start and step.end]
        if not ran:
            continue  # blocked, deselected or dry run: nothing ran, no bar
        if per_step:
            # led by the issue's number: a bar named `click …` or `title …` would be a Mermaid keyword
            lines = [_bar(f"{row.issue} {step.name}", step.outcome in FAILING, f"s{row.issue}_{n}", start, end)
                     for n, (step, start, end) in enumerate(ran)]
            bars.append((f"{row.issue} {row.title}", lines))
        else:
            failed = row.status in (Status.FAILED, Status.DEFERRED)
            line = _bar(f"{row.issue} {row.title}", failed, f"i{row.issue}", ran[0][1],
                        max(end for _, _, end in ran))
            section = f"Wave {row.wave} {row.wave_name}".strip()
            if bars and bars[-1][0] == section:
                bars[-1][1].append(line)
            else:
                bars.append((section, [line]))
    if not bars:
        return []
    out = ["", "### Timeline", "", "```mermaid", "gantt",
           f"    title {_label(report.loaded.plan.project)} run", "    dateFormat x", "    axisFormat %H:%M:%S"]
    for section, lines in bars:
        out += [f"    section {_label(section)}", *lines]
    return [*out, "```"]


def _bar(name: str, failed: bool, ident: str, start: str, end: str) -> str:
    begin, finish = _millis(start), _millis(end)
    tags = "crit, " if failed else "done, "
    return f"    {_label(name)} :{tags}{ident}, {begin}, {max(finish, begin + 1)}"


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
