"""pytest-xdist: the controller's scheduler and ledger, and each worker's side of the gate.

The controller hands issues to workers (scheduler.py) and owns a ledger directory (ledger.py) whose
path reaches workers in `workerinput`. A worker, before a step whose dependencies ran elsewhere, waits
for their ledger entries and copies them into its pytest-dependency manager; after each step it
writes its own entry. The gate then decides exactly as it does without xdist.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pytest_dependency import DependencyItemStatus, DependencyManager

from pytest_waves.session.items import step_properties
from pytest_waves.session.gate import SCOPE, Gate
from pytest_waves.parallel.ledger import Entry, Ledger, Stopped
from pytest_waves.parallel.units import NodeIds
from pytest_waves.reporting.outcomes import CRASHED
from pytest_waves.session.runids import RUN_KEY

if TYPE_CHECKING:
    from xdist.remote import Producer
    from xdist.workermanage import WorkerController

    from pytest_waves.plugin import WavesState
    from pytest_waves.parallel.scheduler import WavesScheduling

LEDGER_KEY = "waves_ledger"


def _dependency_marker(item: pytest.Item) -> pytest.Mark | None:
    marker = item.get_closest_marker("dependency")
    return marker if marker is not None and "name" in marker.kwargs else None


class Controller:
    """Registered on the xdist controller when a plan runs with `-n N`."""

    def __init__(self, state: WavesState, config: pytest.Config) -> None:
        self.state, self.config = state, config
        self.scheduler: WavesScheduling | None = None
        self.nodeids = NodeIds(state.plans.values(), config.rootpath)
        self.ledger = Ledger.create()
        self.maxfail = int(config.getoption("maxfail") or 0)
        self.failures = 0
        from xdist.dsession import get_default_max_worker_restart

        self.max_restarts = get_default_max_worker_restart(config)
        self.crashes = 0

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Producer) -> WavesScheduling:
        from pytest_waves.parallel.scheduler import WavesScheduling

        self.scheduler = WavesScheduling(config, self.nodeids, log)
        return self.scheduler

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        """With -v, say when an issue starts and on which worker: which issues run where, now."""
        scheduler, terminal = self.scheduler, self.config.pluginmanager.get_plugin("terminalreporter")
        if self.config.option.verbose <= 0 or scheduler is None or scheduler.collection is None or terminal is None:
            return
        started = scheduler.started(nodeid)
        if started is not None:
            worker, unit = started
            terminal.write_line(f"[{worker}] ▶ {self._label(unit)}")

    def _label(self, unit: str) -> str:
        """`plan::issue155` → `#155 Implement macOS VM Backend (wave 3)`."""
        key, _, issue = unit.rpartition("::issue")
        for loaded in self.state.plans.values():
            if loaded.key == key and issue.isdigit() and int(issue) in loaded.steps:
                wave, found = loaded.issue(int(issue))
                return f"#{issue} {found.title} (wave {wave.id})"
        return unit

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: WorkerController) -> None:
        node.workerinput[LEDGER_KEY] = str(self.ledger.path)
        node.workerinput[RUN_KEY] = self.state.run_id

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: WorkerController, error: object | None) -> None:
        """A worker that stops the run (`--sw`, its own `--maxfail`, Ctrl-C) or that xdist will not
        replace leaves work that never runs: nobody may wait for it."""
        if error is None:
            output = getattr(node, "workeroutput", {})
            if output.get("shouldfail") or output.get("shouldstop") or output.get("exitstatus") == 2:
                self.ledger.stop()
            return
        self.crashes += 1
        if self.max_restarts is not None and self.crashes > self.max_restarts:
            self.ledger.stop()

    @pytest.hookimpl(tryfirst=True)  # before the table's hook reads the report
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "???":  # xdist's report for an item whose worker died (not in its failure count)
            if report.failed:  # (pytest-rerunfailures turns it into "rerun": not finished yet)
                self._crashed(report)
            return
        if report.failed:  # counted as xdist counts for --maxfail, which then stops the run
            self.failures += 1
            if self.maxfail and self.failures >= self.maxfail:
                self.ledger.stop()

    def _crashed(self, report: pytest.TestReport) -> None:
        ref = self.nodeids.step(report.nodeid)
        if ref is None:
            return
        cause = f"step {ref.step} {CRASHED}"
        self.ledger.record(ref.dependency_name, Entry(phases={"setup": "failed", "call": None, "teardown": None},
                                                      cause=cause))
        report.user_properties = step_properties(ref.loaded, ref.loaded.issue(ref.issue)[0], ref.issue, ref.step)
        self._junit_properties(report)

    def _junit_properties(self, report: pytest.TestReport) -> None:
        """A crashed step never gets a teardown report, the only one whose properties JUnit writes:
        give its testcase the properties here, so that `report` merges know whose error it is."""
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is not None:
            reporter = xml.node_reporter(report)
            for name, value in report.user_properties:
                reporter.add_property(name, str(value))
            reporter.add_property("waves.crashed", "1")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        self.ledger.stop()

    def pytest_unconfigure(self) -> None:
        self.ledger.remove()


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
        manager = DependencyManager.getManager(item, scope=SCOPE)
        assert manager is not None
        elsewhere = [name for name in marker.kwargs.get("depends", ())
                     if name not in manager.results and name in self.gate.selected]
        if not elsewhere:
            return
        try:
            entries = self.ledger.wait(elsewhere, alive=lambda: os.getppid() == self.parent)
        except Stopped as stopped:
            reason = f"blocked by {_issue_of(str(stopped))} (the run stopped before it finished)"
            self.gate.causes[marker.kwargs["name"]] = reason
            self.gate.gated.add(marker.kwargs["name"])
            pytest.skip(reason)
        for name, entry in entries.items():
            status = DependencyItemStatus()
            status.results = dict(entry.phases)
            manager.results[name] = status
            if entry.cause:
                self.gate.causes[name] = entry.cause
            if entry.gated:
                self.gate.gated.add(name)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, Any, None]:
        yield
        marker = _dependency_marker(item)
        if marker is None:
            return
        name = marker.kwargs["name"]
        manager = DependencyManager.getManager(item, scope=SCOPE)
        status = manager.results.get(name) if manager is not None else None
        phases = dict(status.results) if status is not None else {"setup": "skipped", "call": None, "teardown": None}
        self.ledger.record(name, Entry(phases=phases, cause=self.gate.causes.get(name), gated=name in self.gate.gated))


def _issue_of(names: str) -> str:
    first = names.split(", ")[0]
    return "#" + first.rsplit("::", 2)[1].removeprefix("issue")
