"""What happened, gathered on the controller from test reports alone (so it holds under xdist):
one record per step, folded into one status per issue."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from pytest_waves.plan.loader import LoadedPlan
from pytest_waves.reporting.status import CRASHED, Outcome, Status


@dataclass
class StepRecord:
    outcome: Outcome = Outcome.NOT_RUN
    reason: str = ""
    duration: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class IssueOutcome:
    number: int
    status: Status
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
        if "interrupted" in facts:  # the step's own report of a Ctrl-C or SIGTERM (see session/items.py)
            record.outcome, record.reason = Outcome.INTERRUPTED, str(facts["interrupted"])
        elif hasattr(report, "wasxfail"):
            record.outcome, record.reason = Outcome.DEFERRED, str(report.wasxfail)
        elif report.failed:
            record.outcome = Outcome.FAILED
            record.reason = {"call": str(facts.get("failure", "failed")), "???": CRASHED}.get(
                report.when, f"error in {report.when}")
        elif report.skipped and record.outcome != Outcome.FAILED:
            record.outcome, record.reason = Outcome.SKIPPED, _skip_reason(report)
        elif report.when == "call" and report.passed:
            record.outcome, record.reason = Outcome.PASSED, str(facts.get("note", ""))

    def issue(self, loaded: LoadedPlan, number: int) -> IssueOutcome:
        records = self.steps.get((loaded.key, number), {})
        applicable = loaded.applicable[number]
        passed = sum(1 for name in applicable if name in records and records[name].outcome == Outcome.PASSED)
        outcomes = [records[name] for name in applicable if name in records]
        status, reason = Status.NOT_RUN, ""
        if any(r.outcome == Outcome.FAILED for r in outcomes):
            status = Status.FAILED
            reason = next(f"step {n} {CRASHED if records[n].reason == CRASHED else 'failed'}" for n in applicable
                          if n in records and records[n].outcome == Outcome.FAILED)
        elif any(r.outcome == Outcome.INTERRUPTED for r in outcomes):
            status = Status.INTERRUPTED
            reason = next(f"step {n} interrupted" for n in applicable
                          if n in records and records[n].outcome == Outcome.INTERRUPTED)
        elif any(r.outcome == Outcome.DEFERRED for r in outcomes):
            status, reason = Status.DEFERRED, next(r.reason for r in outcomes if r.outcome == Outcome.DEFERRED)
        elif outcomes and outcomes[0].outcome == Outcome.SKIPPED and outcomes[0].reason.startswith("blocked by"):
            status, reason = Status.BLOCKED, outcomes[0].reason
        elif applicable and passed == len(applicable):
            status = Status.PASSED
        elif outcomes and all(r.outcome == Outcome.SKIPPED for r in outcomes):
            reason = outcomes[0].reason
        pr = next((r.facts for r in outcomes if "pr" in r.facts), {})
        return IssueOutcome(number=number, status=status, passed=passed, total=len(applicable), reason=reason,
                            pr=str(pr.get("pr", "")), pr_url=str(pr.get("pr_url", "")),
                            pr_checks=str(pr.get("pr_checks", "")), steps=records)

