"""Every step's result this process knows, in one store.

Fed by the process's own reports (the gate observes them) and by the ledger (steps that ran on other
xdist workers); read by the gate; written to the ledger for the other workers. pytest-dependency's
own table, whose marks are the public contract, is kept in step through session/adapters.py only.
(The run's table, reporting/outcomes.py, is a view built from the reports on the process that
writes it: it needs their facts and durations, which a result does not carry.)"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from pytest_waves.session.adapters import adopt_result, recorded_result

NOT_RUN_PHASES: dict[str, str | None] = {"setup": "skipped", "call": None, "teardown": None}


@dataclass(frozen=True)
class Result:
    """One finished step: pytest-dependency's phase outcomes and, when it did not pass, why."""

    phases: dict[str, str | None]
    cause: str | None = None
    gated: bool = False  # the gate held the step back: its cause is a full reason already


@dataclass
class Results:
    causes: dict[str, str] = field(default_factory=dict)  # dependency name → why it did not pass
    held: set[str] = field(default_factory=set)  # names the gate skipped

    def hold(self, name: str, reason: str) -> None:
        """The gate skipped this step, for this reason."""
        self.causes[name] = reason
        self.held.add(name)

    def did_not_pass(self, name: str, cause: str) -> None:
        """The step's own report says it did not pass (the first reason found stays)."""
        self.causes.setdefault(name, cause)

    def cause(self, name: str) -> str | None:
        return self.causes.get(name)

    def was_held(self, name: str) -> bool:
        return name in self.held

    def adopt(self, item: pytest.Item, name: str, result: Result) -> None:
        """A result from elsewhere (another worker) becomes this process's, pytest-dependency's too."""
        adopt_result(item, name, result.phases)
        if result.cause:
            self.causes[name] = result.cause
        if result.gated:
            self.held.add(name)

    def result(self, item: pytest.Item, name: str) -> Result:
        """The step's result as this process knows it, for the other workers."""
        recorded = recorded_result(item, name)
        phases = dict(recorded[1]) if recorded is not None else dict(NOT_RUN_PHASES)
        return Result(phases=phases, cause=self.causes.get(name), gated=name in self.held)
