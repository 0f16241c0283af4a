"""What happened, gathered on the controller from test reports alone (so it holds under xdist):
one record per step, folded into one status per issue."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from pytest_waves.plan.loader import LoadedPlan

PASSED, FAILED, BLOCKED, DEFERRED, NOT_RUN = "passed", "failed", "blocked", "deferred", "not run"
CRASHED = "crashed its worker"  # xdist's report for a step whose worker died ("???" phase)
SYMBOLS = {PASSED: "✅", FAILED: "❌", BLOCKED: "⏸", DEFERRED: "⏭", NOT_RUN: "⚪"}


@dataclass
class StepRecord:
    outcome: str = NOT_RUN  # passed, failed, skipped, deferred
    reason: str = ""
    duration: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class IssueOutcome:
    number: int
    status: str
    passed: int
    total: int
    reason: str
    pr: str
    pr_url: str
    pr_checks: str
    steps: dict[str, StepRecord]


def _skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return ""


class Outcomes:
    def __init__(self) -> None:
        # (plan key, issue) → step name → record
        self.steps: dict[tuple[str, int], dict[str, StepRecord]] = {}
        # (plan key, wave id) → check name → record
        self.checks: dict[tuple[str, str], dict[str, StepRecord]] = {}

    def add(self, report: pytest.TestReport) -> None:
        facts: dict[str, Any] = {key.removeprefix("waves."): value for key, value in report.user_properties
                 if isinstance(key, str) and key.startswith("waves.")}
        if "check" in facts:  # a wave-level merge check
            record = self.checks.setdefault((facts["plan"], str(facts["wave"])), {}).setdefault(
                facts["check"], StepRecord())
        elif "issue" in facts:
            record = self.steps.setdefault((facts["plan"], int(facts["issue"])), {}).setdefault(
                facts["step"], StepRecord())
        else:
            return
        record.facts.update(facts)
        record.duration += report.duration
        if hasattr(report, "wasxfail"):
            record.outcome, record.reason = "deferred", str(report.wasxfail)
        elif report.failed:
            record.outcome = "failed"
            record.reason = {"call": str(facts.get("failure", "failed")), "???": CRASHED}.get(
                report.when, f"error in {report.when}")
        elif report.skipped and record.outcome != "failed":
            record.outcome, record.reason = "skipped", _skip_reason(report)
        elif report.when == "call" and report.passed:
            record.outcome, record.reason = "passed", str(facts.get("note", ""))

    def issue(self, loaded: LoadedPlan, number: int) -> IssueOutcome:
        records = self.steps.get((loaded.key, number), {})
        applicable = loaded.applicable[number]
        passed = sum(1 for name in applicable if name in records and records[name].outcome == "passed")
        outcomes = [records[name] for name in applicable if name in records]
        status, reason = NOT_RUN, ""
        if any(r.outcome == "failed" for r in outcomes):
            status = FAILED
            reason = next(f"step {n} {CRASHED if records[n].reason == CRASHED else 'failed'}" for n in applicable
                          if n in records and records[n].outcome == "failed")
        elif any(r.outcome == "deferred" for r in outcomes):
            status, reason = DEFERRED, next(r.reason for r in outcomes if r.outcome == "deferred")
        elif outcomes and outcomes[0].outcome == "skipped" and outcomes[0].reason.startswith("blocked by"):
            status, reason = BLOCKED, outcomes[0].reason
        elif applicable and passed == len(applicable):
            status = PASSED
        elif outcomes and all(r.outcome == "skipped" for r in outcomes):
            reason = outcomes[0].reason
        pr = next((r.facts for r in outcomes if "pr" in r.facts), {})
        return IssueOutcome(number=number, status=status, passed=passed, total=len(applicable), reason=reason,
                            pr=str(pr.get("pr", "")), pr_url=str(pr.get("pr_url", "")),
                            pr_checks=str(pr.get("pr_checks", "")), steps=records)

