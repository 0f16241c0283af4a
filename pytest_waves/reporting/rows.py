"""The success-metrics table: terminal text, Markdown and JSON from the same rows."""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime, timezone
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_waves.plan.loader import LoadedPlan, PlannedStep
from pytest_waves.reporting.outcomes import SYMBOLS, Outcomes, StepRecord
from pytest_waves.reporting.schema import VERSION as JSON_SCHEMA_VERSION

HEADERS = ("Wave", "Issue", "Title", "Steps", "PR", "Status", "Criteria", "Risk")


def rows(loaded: LoadedPlan, outcomes: Outcomes) -> list[dict[str, Any]]:
    result = []
    for number in loaded.order:
        wave, issue = loaded.issue(number)
        outcome = outcomes.issue(loaded, number)
        result.append({
            "wave": wave.id, "wave_name": wave.name, "issue": number, "title": issue.title,
            "status": outcome.status, "reason": outcome.reason,
            "steps_passed": outcome.passed, "steps_total": outcome.total,
            "pr": outcome.pr, "pr_url": outcome.pr_url, "pr_checks": outcome.pr_checks or None,
            "criteria": issue.criteria,
            "risk": {"level": issue.risk.level, "mitigation": issue.risk.mitigation},
            "depends_on": loaded.deps[number], "deferrable": issue.deferrable,
            "steps": [_step_row(step, outcome.steps.get(step.name, StepRecord())) for step in loaded.steps[number]],
        })
    return result


def _step_row(step: PlannedStep, record: StepRecord) -> dict[str, Any]:
    facts = record.facts
    return {"name": step.name, "kind": step.kind.name, "outcome": record.outcome, "reason": record.reason,
            "duration": round(record.duration, 3), "start": _iso(facts.get("start")),
            "end": _iso(facts.get("stop")), "command": facts.get("command"),
            "exit_code": facts.get("exit_code"), "pr_url": facts.get("pr_url"), "log": facts.get("log"),
            "output": facts.get("output")}


def _iso(epoch: object) -> str | None:
    if epoch in (None, ""):
        return None
    return datetime.fromtimestamp(float(epoch), timezone.utc).isoformat(timespec="milliseconds")  # type: ignore[arg-type]


def cells(row: dict[str, Any]) -> tuple[str, ...]:
    status = f"{SYMBOLS[row['status']]} {row['status']}"
    if row["reason"] and row["status"] != "passed":
        status += f" ({row['reason']})"
    return (str(row["wave"]), f"#{row['issue']}", row["title"], f"{row['steps_passed']}/{row['steps_total']}",
            row["pr"] or "—", status, row["criteria"] or "—", row["risk"]["level"])


def _width(text: str) -> int:
    # Emoji take two terminal columns; the variation selector takes none.
    return sum(0 if unicodedata.category(c) == "Mn" or c == "\ufe0f" else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def terminal_lines(table: list[dict[str, Any]]) -> list[str]:
    grid = [HEADERS, *(cells(row) for row in table)]
    widths = [max(_width(row[i]) for row in grid) for i in range(len(HEADERS))]
    lines = []
    for index, row in enumerate(grid):
        lines.append("  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    counts = {status: sum(1 for row in table if row["status"] == status) for status in SYMBOLS}
    lines.append(", ".join(f"{count} {status}" for status, count in counts.items() if count))
    return lines


def step_lines(table: list[dict[str, Any]]) -> list[str]:
    """Every checklist item with its outcome and note (shown with -v)."""
    marks = {"passed": "✅", "failed": "❌", "deferred": "⏭", "skipped": "⏸", "not run": "⚪"}
    lines = []
    for row in table:
        lines.append(f"#{row['issue']} {row['title']}")
        for step in row["steps"]:
            note = f" — {step['reason']}" if step["reason"] else ""
            lines.append(f"  {marks.get(step['outcome'], '?')} {step['name']} ({step['kind']}){note}")
    return lines


def merge_rows(loaded: LoadedPlan, outcomes: Outcomes) -> list[dict[str, Any]]:
    """Per wave with merge checks: does it merge cleanly, and what each check found."""
    result = []
    for wave in loaded.plan.waves:
        checks = outcomes.checks.get((loaded.key, str(wave.id)), {})
        if not checks:
            continue
        found = {name: {"outcome": r.outcome, "reason": r.reason} for name, r in checks.items()}
        failed = [f"{name}: {r.reason}" for name, r in checks.items() if r.outcome == "failed"]
        pending = [f"{name}: {r.reason}" for name, r in checks.items() if r.outcome not in ("passed", "failed")]
        status = "failed" if failed else "blocked" if pending else "passed"
        if failed:
            summary = "; ".join(failed)
        elif pending:  # usually one cause holds back every check of the wave: say it once
            reasons = list(dict.fromkeys(r.reason for r in checks.values() if r.outcome != "passed"))
            summary = f"{len(pending)} of {len(checks)} checks not run: {'; '.join(reasons)}"
        else:
            summary = next((r.reason for name, r in checks.items() if name == "integration"), "merges cleanly")
        result.append({"wave": wave.id, "name": wave.name, "status": status, "summary": summary, "checks": found})
    return result


def merge_lines(merges: list[dict[str, Any]]) -> list[str]:
    return [f"wave {row['wave']} {row['name']}: {SYMBOLS[row['status']]} {row['summary']}" for row in merges]


def as_json(loaded: LoadedPlan, table: list[dict[str, Any]], merges: Sequence[dict[str, Any]] = ()) -> str:
    document = {"schema": "pytest-waves/report", "version": JSON_SCHEMA_VERSION,
                "plan": str(loaded.path), "project": loaded.plan.project, "issues": table, "merges": list(merges)}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
