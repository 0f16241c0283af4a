"""Plan → pytest nodes, in the shape of pytest's non-python example:
PlanFile (the YAML) → WaveNode (wave2) → IssueNode (issue154) → StepItem (clippy)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pytest

import pytest_waves.session.gate as gate
import pytest_waves.session.wave_items as wave_items
from pytest_waves.engine.masking import mask_report
from pytest_waves.plan.loader import LoadedPlan, PlannedStep
from pytest_waves.plan.model import Issue, Wave
from pytest_waves.plan.stepid import StepId
from pytest_waves.session.adapters import TerminalRepr
from pytest_waves.session.live import LiveView, live_view
from pytest_waves.session.state import INTERRUPTED_KEY, SLOTS_KEY, WavesState, state_of
from pytest_waves.steps.base import NotVerifiable, StepContext, StepFailed

OUTPUT_TAIL_LINES, OUTPUT_TAIL_CHARS = 20, 4000


def bounded_tail(output: str) -> str:
    """What of a failed step's output travels with its report: the last lines, at most a few KB."""
    tail = "\n".join(output.splitlines()[-OUTPUT_TAIL_LINES:])
    return tail[-OUTPUT_TAIL_CHARS:]


@cache
def _mark(name: str) -> pytest.MarkDecorator:
    return getattr(pytest.mark, name)  # looked up once: plans with 10,000 steps add these 20,000 times


class PlanFile(pytest.File):
    loaded: LoadedPlan

    def collect(self) -> Iterator[pytest.Collector]:
        for wave in self.loaded.plan.waves:
            yield WaveNode.from_parent(self, name=wave.key, wave=wave, loaded=self.loaded)


class WaveNode(pytest.Collector):
    def __init__(self, *, wave: Wave, loaded: LoadedPlan, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wave, self.loaded = wave, loaded
        self.add_marker(self.wave.key)

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        before, after = wave_items.collect(self, self.loaded, self.wave)
        yield from before
        in_wave = {issue.number: issue for issue in self.wave.issues}
        for number in self.loaded.order:  # dependencies first, else the plan's order
            if number in in_wave:
                yield IssueNode.from_parent(self, name=f"issue{number}", issue=in_wave[number], loaded=self.loaded)
        yield from after

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.loaded.line("waves", self.loaded.plan.waves.index(self.wave)) - 1, self.name


class IssueNode(pytest.Collector):
    def __init__(self, *, issue: Issue, loaded: LoadedPlan, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.issue, self.loaded = issue, loaded
        self.add_marker(self.name)

    def collect(self) -> Iterator[pytest.Item]:
        wave = self.parent.wave  # type: ignore[union-attr]
        for planned in self.loaded.steps[self.issue.number]:
            yield StepItem.from_parent(self, name=planned.name, planned=planned, wave=wave,
                                       issue=self.issue, loaded=self.loaded)


class StepItem(pytest.Item):
    """One checklist item. It runs real work; its failure reads like the failing checklist line."""

    def __init__(self, *, planned: PlannedStep, wave: Wave, issue: Issue, loaded: LoadedPlan, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned, self.wave, self.issue, self.loaded = planned, wave, issue, loaded
        self.step_id = StepId(loaded.key, issue.number, planned.name)
        self.add_marker(_mark(planned.kind.name))
        self.add_marker(_mark("waves"))
        if planned.skip_reason:
            self.add_marker(pytest.mark.skip(reason=planned.skip_reason))
        elif self.state.dry_run:
            self.add_marker(pytest.mark.skip(reason=f"dry run: would {self.describe()}"))
        else:
            self.add_marker(gate.dependency_mark(self.step_id.dependency_name,
                                                 gate.prerequisites(loaded, issue.number, planned.name)))
        self.user_properties += self.step_id.properties(wave.id)
        self.user_properties.append(("waves.kind", planned.kind.name))

    @property
    def plan_position(self) -> tuple[str, int, int]:
        """Where the step stands in the plan's run order: plan, issue's place in that order, step."""
        return str(self.loaded.path), self.loaded.position[self.issue.number], self.planned.index

    @property
    def state(self) -> WavesState:
        return state_of(self.config)

    def context(self) -> StepContext:
        state = self.state
        return StepContext(plan=self.loaded, wave=self.wave, issue=self.issue, step_name=self.planned.name,
                           forge=state.forge(self.loaded), log_dir=state.log_dir(self.loaded),
                           force=state.is_forced(self.issue.number, self.planned.name),
                           on_output=live_view(self.config, f"#{self.issue.number} {self.planned.name}"),
                           slots=_slots(self.config))

    def describe(self) -> str:
        try:
            return self.planned.kind.describe(self.planned.options, self.context())
        except StepFailed as exc:
            return f"{self.planned.kind.name} ({exc.summary})"

    def runtest(self) -> None:
        ctx = self.context()
        kind, options = self.planned.kind, self.planned.options
        if isinstance(ctx.on_output, LiveView):
            ctx.on_output.start(ctx.log_path())
        started = time.time()
        try:
            note = kind.verify(options, ctx) if self.state.verify else kind.run(options, ctx)
        except NotVerifiable as exc:
            pytest.skip(f"--waves-verify: {exc}")
        except StepFailed as exc:
            ctx.record("failure", exc.summary)  # the table's and the reports' reason for the failure
            if exc.output.strip():
                ctx.record("output", bounded_tail(exc.output))
            raise
        except KeyboardInterrupt as exc:
            if not self.config.getoption("usepdb", False):  # with --pdb pytest reports it itself
                self._report_interrupted(ctx, started, str(exc) or "Ctrl-C")
            else:
                ctx.record("interrupted", f"interrupted ({str(exc) or 'Ctrl-C'}) after {time.time() - started:.1f} s")
            raise
        finally:
            if isinstance(ctx.on_output, LiveView):
                ctx.on_output.finish()
            self.user_properties += ctx.properties
            ctx.properties.clear()
        if note:
            self.user_properties.append(("waves.note", note))

    def _report_interrupted(self, ctx: StepContext, started: float, how: str) -> None:
        """Ctrl-C or SIGTERM stopped this step while it ran. pytest makes no report for a phase
        that ends so; without one the step would read "not run" everywhere. Its reports are made
        here (a call that says how it was stopped, a teardown that carries the properties to JUnit),
        then the interrupt goes on."""
        stopped = time.time()
        reason = f"interrupted ({how}) after {stopped - started:.1f} s"
        ctx.record("interrupted", reason)
        ctx.record("start", round(started, 3))
        ctx.record("stop", round(stopped, 3))
        self.user_properties += ctx.properties
        ctx.properties.clear()
        keywords: dict[str, Literal[1]] = {name: 1 for name in self.keywords}
        call = pytest.TestReport(self.nodeid, self.location, keywords, "failed",
                                 f"#{self.issue.number} {self.planned.name}: {reason}", "call",
                                 duration=stopped - started, start=started, stop=stopped,
                                 user_properties=list(self.user_properties))
        teardown = pytest.TestReport(self.nodeid, self.location, keywords, "passed", None, "teardown",
                                     start=stopped, stop=stopped, user_properties=list(self.user_properties))
        for report in (call, teardown):
            mask_report(report)
            self.ihook.pytest_runtest_logreport(report=report)
        folder = getattr(self.config, "workerinput", {}).get(INTERRUPTED_KEY)
        if folder:  # an xdist worker: its controller no longer listens, so it reads them from here
            left = Path(folder) / f"{hashlib.sha1(self.nodeid.encode()).hexdigest()}.json"
            serial = [self.config.hook.pytest_report_to_serializable(config=self.config, report=report)
                      for report in (call, teardown)]
            left.write_text(json.dumps(serial, default=str))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | TerminalRepr:
        error = excinfo.value
        if isinstance(error, StepFailed):
            return self._failure_text(error.summary, error.details, error.output)
        import git  # only a failure needs it (see steps/git.py)

        if isinstance(error, git.GitCommandError):
            return self._failure_text(f"git {error.command[1] if len(error.command) > 1 else ''} failed "
                                      f"(exit {error.status})", [str(error.stderr).strip()])
        if isinstance(error, OSError):
            return self._failure_text(f"{type(error).__name__}: {error}", [])
        return super().repr_failure(excinfo, style=style)  # a plugin bug: show the traceback

    def _failure_text(self, summary: str, details: list[str], output: str = "") -> str:
        rel = self.loaded.path.name
        lines = [f"#{self.issue.number} {self.issue.title} — step {self.planned.name!r} "
                 f"({self.planned.kind.name}, {rel}:{self.planned.line})", f"  {summary}"]
        lines += [f"    {detail}" for detail in details if detail]
        if output.strip():
            lines += ["  last lines of output:", *(f"    | {line}" for line in output.splitlines())]
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.loaded.path, self.planned.line - 1, f"#{self.issue.number} {self.planned.name}"



def _slots(config: pytest.Config) -> Path | None:
    folder = getattr(config, "workerinput", {}).get(SLOTS_KEY)
    return Path(folder) if folder else None
