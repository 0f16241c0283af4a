"""pytest-xdist's worker side of the gate.

Before a step whose dependencies ran on another worker, the worker waits for their ledger entries and
makes them its pytest-dependency results; after each step it writes its own entry. The gate then
decides exactly as it does without xdist.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

import pytest

from pytest_waves.parallel.adapters import run_alone
from pytest_waves.parallel.ledger import LEDGER_KEY, Ledger, Stopped
from pytest_waves.parallel.units import NodeIds
from pytest_waves.plan.loader import LoadedPlan
from pytest_waves.plan.stepid import StepId
from pytest_waves.session.adapters import recorded_result
from pytest_waves.session.gate import Gate

ALONE_KEY = "waves_steps_run_alone"  # in workerinput when the controller schedules for it (scheduler.py)


def let_steps_run_alone(config: pytest.Config, plans: Iterable[LoadedPlan]) -> None:
    """A plan step starts as soon as it is its worker's turn, without waiting for a successor to be
    sent (parallel/adapters.py, run_alone), when the controller says its scheduler counts on it.
    What is a plan step is decided by node id, exactly as the controller's scheduler decides it: were
    they to disagree, the worker would wait for a successor that the controller never sends."""
    if getattr(config, "workerinput", {}).get(ALONE_KEY):
        nodeids = NodeIds(plans, config.rootpath)
        run_alone(config, lambda item: nodeids.unit(item.nodeid) is not None)


def _dependency_marker(item: pytest.Item) -> pytest.Mark | None:
    marker = item.get_closest_marker("dependency")
    return marker if marker is not None and "name" in marker.kwargs else None


class Worker:
    """The gate's cross-worker half, on an xdist worker."""

    def __init__(self, gate: Gate, ledger: Ledger) -> None:
        self.gate = gate
        self.ledger = ledger
        self.parent = os.getppid()  # if the controller dies we are re-parented: stop waiting

    @classmethod
    def from_config(cls, config: pytest.Config, gate: Gate) -> Worker | None:
        path = getattr(config, "workerinput", {}).get(LEDGER_KEY)
        return cls(gate, Ledger(Path(path))) if path else None

    def await_dependencies(self, item: pytest.Item) -> None:
        """Wait until every dependency that ran on another worker finished; adopt its result."""
        marker = _dependency_marker(item)
        if marker is None:
            return
        elsewhere = [name for name in marker.kwargs.get("depends", ())
                     if recorded_result(item, name) is None and name in self.gate.selected]
        if not elsewhere:
            return
        try:
            found = self.ledger.wait(elsewhere, alive=lambda: os.getppid() == self.parent)
        except Stopped as stopped:
            reason = f"blocked by {_issue_of(str(stopped))} (the run stopped before it finished)"
            self.gate.results.hold(marker.kwargs["name"], reason)
            pytest.skip(reason)
        for name, result in found.items():
            self.gate.results.adopt(item, name, result)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, Any, None]:
        yield
        marker = _dependency_marker(item)
        if marker is None:
            return
        name = marker.kwargs["name"]
        self.ledger.record(name, self.gate.results.result(item, name))


def _issue_of(names: str) -> str:
    """`plan::issue154::clippy, …` → `#154`; a wave check's `plan::wave1::checkouts` → `#wave1`."""
    first = names.split(", ")[0]
    step_id = StepId.from_dependency_name(first)
    return f"#{step_id.issue}" if step_id is not None else "#" + first.rsplit("::", 2)[-2]
