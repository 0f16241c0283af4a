"""pytest-xdist's controller side: the plan's scheduler, the ledger, and crashed workers.

The controller hands issues to workers (scheduler.py) and owns a ledger directory (ledger.py) whose
path reaches workers in `workerinput`; worker.py is the other half.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

import pytest_waves.plan.transfer as transfer
from pytest_waves.parallel.adapters import (
    Producer,
    WorkerController,
    can_run_alone,
    max_worker_restarts,
    stop_workers,
)
from pytest_waves.parallel.ledger import LEDGER_KEY, Ledger
from pytest_waves.parallel.relay import LiveRelay
from pytest_waves.parallel.scheduler import WavesScheduling
from pytest_waves.parallel.units import NodeIds
from pytest_waves.parallel.worker import ALONE_KEY
from pytest_waves.plan.kinds import Kind
from pytest_waves.plan.stepid import issue_of_unit
from pytest_waves.reporting.status import CRASHED
from pytest_waves.session.adapters import junit_xml
from pytest_waves.session.live import LIVE_KEY
from pytest_waves.session.results import Result
from pytest_waves.session.runids import RUN_KEY
from pytest_waves.session.state import INTERRUPTED_KEY, SLOTS_KEY, WavesState

XDIST_TAGS = ("node", "worker_id", "item_index", "testrun_uid")


class Controller:
    """Registered on the xdist controller when a plan runs with `-n N`."""

    def __init__(self, state: WavesState, config: pytest.Config, kinds: Mapping[str, Kind]) -> None:
        self.state, self.config = state, config
        self.scheduler: WavesScheduling | None = None
        self.nodeids = NodeIds(state.plans.values(), config.rootpath)
        self.ledger = Ledger.create()
        self.maxfail = int(config.getoption("maxfail") or 0)
        self.failures = 0
        self.max_restarts = max_worker_restarts(config)
        self.crashes = 0
        self.relay = self._relay()
        self.interrupted = self.ledger.path / "interrupted"  # steps Ctrl-C stopped on a worker
        self.interrupted.mkdir()
        self.reported: set[str] = set()  # node ids whose call report arrived
        self.setups: dict[str, pytest.TestReport] = {}  # node id → its setup report, which xdist tagged
        # the validated plans, for every worker (and every replacement of a crashed one) to start from
        self.plans = transfer.dumps(state.plans, kinds)
        self.alone = can_run_alone()  # steps start without waiting for a successor (scheduler.py)

    def _relay(self) -> LiveRelay | None:
        """With -v, what the workers' running steps print is shown here (see relay.py)."""
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if self.config.option.verbose <= 0 or terminal is None:
            return None
        relay = LiveRelay(self.ledger.path / "live", terminal.write_line)
        self.config.pluginmanager.register(relay, "waves-live-relay")
        relay.start()
        return relay

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Producer) -> WavesScheduling:
        self.scheduler = WavesScheduling(config, self.nodeids, log, alone=self.alone)
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
        named = issue_of_unit(unit)
        for loaded in self.state.plans.values():
            if named is not None and loaded.key == named[0] and named[1] in loaded.steps:
                wave, found = loaded.issue(named[1])
                return f"#{named[1]} {found.title} (wave {wave.id})"
        return unit

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: WorkerController) -> None:
        node.workerinput[LEDGER_KEY] = str(self.ledger.path)
        node.workerinput[RUN_KEY] = self.state.run_id
        node.workerinput[SLOTS_KEY] = str(self.ledger.path / "slots")
        node.workerinput[INTERRUPTED_KEY] = str(self.interrupted)
        node.workerinput[ALONE_KEY] = self.alone
        if self.plans is not None:  # None: the plans do not pickle, workers read them (plan/transfer.py)
            node.workerinput[transfer.PLANS_KEY] = self.plans
        if self.relay is not None:
            node.workerinput[LIVE_KEY] = str(self.relay.folder)

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
        if self.scheduler is not None:
            self.scheduler.crashed(node)
        if self.max_restarts is not None and self.crashes > self.max_restarts:
            self.ledger.stop()

    @pytest.hookimpl(tryfirst=True)  # before the table's hook reads the report
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            self.reported.add(report.nodeid)
        elif report.when == "setup":
            self.setups[report.nodeid] = report
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
        self.ledger.record(ref.id.dependency_name, Result(phases={"setup": "failed", "call": None, "teardown": None},
                                                      cause=cause))
        report.user_properties = ref.id.properties(ref.loaded.issue(ref.issue)[0].id)
        self._junit_properties(report)

    def _junit_properties(self, report: pytest.TestReport) -> None:
        """A crashed step never gets a teardown report, the only one whose properties JUnit writes:
        give its testcase the properties here, so that `report` merges know whose error it is."""
        xml = junit_xml(self.config)
        if xml is not None:
            reporter = xml.node_reporter(report)
            for name, value in report.user_properties:
                reporter.add_property(name, str(value))
            reporter.add_property("waves.crashed", "1")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, exitstatus: int) -> None:
        self.ledger.stop()
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            self._adopt_interrupted()
        if self.relay is not None:
            self.relay.stop()

    def _adopt_interrupted(self) -> None:
        """Ctrl-C reached the controller too, and xdist stopped listening to the workers: the steps
        it stopped there would read "not run". Each worker left its reports in the ledger; once the
        workers have ended they are taken in here, before any report is written."""
        stop_workers(self.config)
        for left in sorted(self.interrupted.glob("*.json")):
            serial = json.loads(left.read_text())
            reports = [self.config.hook.pytest_report_from_serializable(config=self.config, data=data)
                       for data in serial]
            if reports and reports[0].nodeid not in self.reported:
                setup = self.setups.get(reports[0].nodeid)
                for report in reports:
                    for tag in XDIST_TAGS:  # as xdist tags its worker's reports: JUnit pairs them by these
                        if hasattr(setup, tag):
                            setattr(report, tag, getattr(setup, tag))
                    self.config.hook.pytest_runtest_logreport(report=report)

    def pytest_unconfigure(self) -> None:
        if self.relay is not None:
            self.relay.stop()  # a run that stopped before its session finished
        self.ledger.remove()
