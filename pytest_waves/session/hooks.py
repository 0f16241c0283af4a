"""The hooks of one run with plans: collecting the plan files, the gate at setup, the reports of
each step, and the table at the end. Registered by the entry point only when plans are given."""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

import pytest_waves.session.gcfreeze as gcfreeze
from pytest_waves.engine.masking import mask, mask_report
from pytest_waves.plan.loader import paused_gc
from pytest_waves.session.adapters import junit_xml, terminal_width
from pytest_waves.session.gate import Gate
from pytest_waves.session.items import PlanFile, StepItem
from pytest_waves.session.settings import Settings
from pytest_waves.session.state import WavesState
from pytest_waves.session.wave_items import WaveCheck


class WavesRun:
    """The hooks of one run with plans; registered by pytest_configure only when plans are given."""

    def __init__(self, state: WavesState, settings: Settings) -> None:
        self.state, self.settings = state, settings

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Suite-level facts for JUnit, on the process that writes the XML (xdist's controller too;
        `record_testsuite_property` would only reach a worker's copy)."""
        xml = junit_xml(session.config)
        if xml is None:
            return
        for loaded in self.state.plans.values():
            xml.add_global_property("waves.plan", loaded.key)
            xml.add_global_property("waves.project", loaded.plan.project)
            xml.add_global_property("waves.plan_file", _shown_path(loaded.path, session.config.rootpath))

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        loaded = self.state.plans.get(file_path.resolve())
        if loaded is None:
            return None
        node = PlanFile.from_parent(parent, path=file_path)
        node.loaded = loaded
        return node

    @pytest.hookimpl(hookwrapper=True)
    def pytest_collection(self, session: pytest.Session) -> Generator[None, Any, None]:
        with paused_gc():  # a plan's items are long-lived: see paused_gc
            yield
        gcfreeze.freeze(session.config)  # and so kept out of every later collection, like the plan

    @pytest.hookimpl(tryfirst=True)  # after every reordering (--ff's is a wrapper), before xdist reads the list
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # after every deselection (-k, -m, --deselect, and --lf's, which a hook wrapper makes last):
        # what is not here is "not in this run"
        self.state.gate.select(session.items)
        _restore_plan_order(session.items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if isinstance(item, (StepItem, WaveCheck)):
            if self.state.worker is not None:
                self.state.worker.await_dependencies(item)
            self.state.gate.check(item)

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)  # outermost: after pytest's own skip handling
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
        outcome = yield
        if not isinstance(item, (StepItem, WaveCheck)):
            return
        rep: pytest.TestReport = outcome.get_result()
        if rep.skipped and isinstance(rep.longrepr, tuple):
            # Point skips (gate, `when`, dry run) at the plan's line, not at plugin code.
            rep.longrepr = (str(item.loaded.path), item.reportinfo()[1] + 1, rep.longrepr[2])
        if isinstance(item, StepItem) and item.issue.deferrable and rep.when == "call" and rep.failed:
            # "complete or deferred to specialist": reported like an xfail, not as a failure of the run
            rep.outcome = "skipped"
            why = dict(item.user_properties).get("waves.failure")
            rep.wasxfail = (f"step {item.planned.name} failed{f': {why}' if why else ''}; "  # type: ignore[attr-defined]
                            f"#{item.issue.number} is deferrable")
        self.state.gate.observe(item, rep)
        if rep.when == "call":  # when it ran, for the timeline. On the item, so that the teardown
            # report carries it too: JUnit writes only that report's properties
            ran = [("waves.start", round(rep.start, 3)), ("waves.stop", round(rep.stop, 3))]
            rep.user_properties += ran
            item.user_properties += ran
        mask_report(rep)  # before the terminal, JUnit or xdist's controller sees it

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.state.outcomes.add(report)  # on the controller this sees every worker's reports

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        """A step stopped by Ctrl-C or SIGTERM (session/items.py) is counted as interrupted, not failed."""
        if report.when == "call" and any(key == "waves.interrupted" for key, _ in report.user_properties):
            return "interrupted", "I", ("INTERRUPTED", {"yellow": True})
        return None

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        if self.settings.worker or self.settings.collect_only:
            return
        import pytest_waves.reporting.rows as rows  # the controller's alone: a worker never loads reports

        for loaded in self.state.plans.values():
            report = self.state.report(loaded)
            if self.settings.verbose > 0:
                terminalreporter.write_sep("-", f"steps: {loaded.plan.project}")
                for line in rows.step_lines(report):
                    terminalreporter.write_line(mask(line))
            terminalreporter.write_sep("=", f"success metrics: {loaded.plan.project} ({loaded.path.name})")
            for line in [*rows.terminal_lines(report, terminal_width(config)), *rows.merge_lines(report)]:
                terminalreporter.write_line(mask(line))
            for published in self.state.published:
                for line in published.lines if published.plan is loaded else ():
                    terminalreporter.write_line(line, red=published.failed)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        config, settings = session.config, self.settings
        if settings.worker or settings.collect_only:
            return
        from pytest_waves.reporting.publish import Published, publish

        # The tracking comment and the job summary speak for the whole plan: none from a dry run, from
        # verify (it writes nothing anywhere, the forge included), or from a run in which part of the
        # plan did not run (-k, -m, --lf, --deselect; -x, Ctrl-C), whose table is partly "not run"
        # (the generated workflow's report job writes the whole plan's). Verify's outcomes are not
        # recorded for the gate either.
        interrupted = session.exitstatus == pytest.ExitCode.INTERRUPTED
        for loaded in self.state.plans.values():
            report = self.state.report(loaded)
            if not (settings.dry_run or settings.verify) and getattr(config, "cache", None) is not None:
                Gate.remember(config.cache, loaded.key, report.statuses(), report.step_outcomes())
            quiet = settings.dry_run or settings.verify or interrupted or not report.whole
            comment_on = None if quiet else settings.comment
            summary = None if quiet else os.environ.get("GITHUB_STEP_SUMMARY")
            if comment_on is None and settings.comment is not None and not (settings.dry_run or settings.verify):
                self.state.published.append(Published(loaded, [
                    "success metrics not posted: part of the plan did not run (-k, -m, --lf, --deselect, -x or Ctrl-C)"]))
            suffix = f"-{loaded.key}" if len(self.state.plans) > 1 else ""
            published = publish(report, comment_on=comment_on,
                                forge=self.state.forge(loaded) if comment_on is not None else None,
                                markdown=_suffixed(settings.report, suffix) if settings.report else None,
                                as_json=_suffixed(settings.json, suffix) if settings.json else None,
                                per_step=settings.verbose > 0,
                                step_summary=Path(summary) if summary else None)
            self.state.published.append(published)
            if published.failed and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _restore_plan_order(items: list[pytest.Item]) -> None:
    """A plan's order is its meaning: put its steps back in plan order after --ff, --nf or
    pytest-randomly reordered them, in the slots they took (other tests stay where they were)."""
    slots = [n for n, item in enumerate(items) if isinstance(item, (StepItem, WaveCheck))]
    steps = [items[n] for n in slots]
    ordered = sorted(steps, key=lambda item: item.plan_position)  # type: ignore[attr-defined]
    for n, item in zip(slots, ordered):
        items[n] = item


def _shown_path(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _suffixed(path: Path, suffix: str) -> Path:
    return path.with_name(f"{path.stem}{suffix}{path.suffix}") if suffix else path
