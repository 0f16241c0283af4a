"""One run's state, kept in pytest's stash: the plans, the gate, the options that shape the run, and
what the run has found so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

from pytest_waves.engine.forge import Forge, make_forge
from pytest_waves.plan.loader import LoadedPlan
from pytest_waves.reporting.outcomes import Outcomes
from pytest_waves.session.gate import Gate

if TYPE_CHECKING:  # the reports are written by the controller alone: an xdist worker never loads them
    from pytest_waves.reporting.publish import Published
    from pytest_waves.reporting.rows import Report

STATE = pytest.StashKey["WavesState"]()


class DependencyWaiter(Protocol):
    """The gate's other half on an xdist worker (parallel/worker.py): waits for steps run elsewhere."""

    def await_dependencies(self, item: pytest.Item) -> None: ...


SLOTS_KEY = "waves_slots"  # the workerinput key: the directory of an agent's max_parallel slots
# the workerinput key: where a worker leaves the reports of steps that Ctrl-C stopped, for the
# controller, which stops listening to workers when the interrupt reaches it (parallel/controller.py)
INTERRUPTED_KEY = "waves_interrupted"


@dataclass
class WavesState:
    plans: dict[Path, LoadedPlan]
    gate: Gate
    dry_run: bool
    verify: bool = False
    forced: frozenset[str] = frozenset()  # --waves-force-step: "issue155" or "issue155::agent"
    logs: Path | None = None  # --waves-logs; else .waves/logs next to each plan
    run_id: str = ""  # one per run, the same on every xdist worker: names the run's log folder
    outcomes: Outcomes = field(default_factory=Outcomes)
    worker: DependencyWaiter | None = None  # set on an xdist worker
    forges: dict[Path, Forge] = field(default_factory=dict)
    published: list[Published] = field(default_factory=list)
    reports: dict[Path, Report] = field(default_factory=dict)  # computed once, when the run is over

    def report(self, loaded: LoadedPlan) -> Report:
        """The plan's table: built once, at the end of the run, from every report seen."""
        from pytest_waves.reporting.rows import build

        if loaded.path not in self.reports:
            self.reports[loaded.path] = build(loaded, self.outcomes)
        return self.reports[loaded.path]

    def forge(self, loaded: LoadedPlan) -> Forge:
        """One per plan and session: a GitHub client keeps its connection and its spacing of writes."""
        if loaded.path not in self.forges:
            self.forges[loaded.path] = make_forge(loaded.plan.forge, loaded.path, loaded.plan.project)
        return self.forges[loaded.path]

    def log_dir(self, loaded: LoadedPlan) -> Path:
        return (self.logs or loaded.state_dir / "logs") / loaded.key / self.run_id

    def is_forced(self, issue: int, step: str) -> bool:
        return f"issue{issue}" in self.forced or f"issue{issue}::{step}" in self.forced


def state_of(config: pytest.Config) -> WavesState:
    return config.stash[STATE]
