"""The words of the table, defined once: an issue's status and a step's outcome, each with its mark."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """An issue's status in the success-metrics table (and a wave's, for its merge checks)."""

    PASSED = "passed"
    FAILED = "failed"
    BLOCKED = "blocked"
    DEFERRED = "deferred"
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM stopped one of its steps while it ran
    NOT_RUN = "not run"

    @property
    def symbol(self) -> str:
        return _STATUS_SYMBOLS[self]

    @property
    def shown(self) -> str:
        return f"{self.symbol} {self.value}"


class Outcome(StrEnum):
    """One step's outcome."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    DEFERRED = "deferred"
    INTERRUPTED = "interrupted"
    NOT_RUN = "not run"

    @property
    def symbol(self) -> str:
        return _OUTCOME_SYMBOLS[self]


_STATUS_SYMBOLS = {Status.PASSED: "✅", Status.FAILED: "❌", Status.BLOCKED: "⏸", Status.DEFERRED: "⏭",
                   Status.INTERRUPTED: "⏹", Status.NOT_RUN: "⚪"}
_OUTCOME_SYMBOLS = {Outcome.PASSED: "✅", Outcome.FAILED: "❌", Outcome.SKIPPED: "⏸", Outcome.DEFERRED: "⏭",
                    Outcome.INTERRUPTED: "⏹", Outcome.NOT_RUN: "⚪"}

CRASHED = "crashed its worker"  # a step whose xdist worker died ("???" phase): its reason
RAN = (Outcome.PASSED, Outcome.FAILED, Outcome.DEFERRED)  # skipped and blocked steps did not run
FAILING = (Outcome.FAILED, Outcome.DEFERRED)  # a deferrable issue's failure is still a failure
