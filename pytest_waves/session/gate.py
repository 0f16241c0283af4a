"""The dependency gate, in one place.

pytest-dependency's `dependency` marks are the single description of the gate: each step depends on
the step before it in its issue, and an issue's first step on every step of the issues it depends on.
This module writes those marks, says in the user's words why an item is blocked, and answers for
dependencies that are not part of this run: another issue (`-k issue155`) by that issue's last
recorded status, an earlier step of the same issue (`--lf`, `-m run`) by that step's last outcome.
"""

from __future__ import annotations

import pytest

from pytest_waves.plan.loader import LoadedPlan
from pytest_waves.plan.stepid import StepId
from pytest_waves.session.adapters import SCOPE, recorded_result, trust_as_passed
from pytest_waves.session.results import Results

_DEPENDENCY = pytest.mark.dependency
CACHE_KEY = "waves/outcomes"  # plan key → issue number → its last status, from a run that ran all its steps
STEPS_KEY = "waves/steps"  # plan key → a step's dependency name → its last outcome, from a run that ran it


def prerequisites(loaded: LoadedPlan, issue: int, step: str) -> list[str]:
    """What must have passed before `step` of `issue` may run (steps skipped by `when:` don't count)."""
    own = loaded.applicable[issue]
    position = own.index(step)
    if position > 0:
        return [StepId(loaded.key, issue, own[position - 1]).dependency_name]
    return [StepId(loaded.key, dep, name).dependency_name for dep in loaded.deps[issue] for name in loaded.applicable[dep]]


def dependency_mark(name: str, depends: list[str]) -> pytest.MarkDecorator:
    """pytest-dependency's mark: the public description of the gate."""
    return _DEPENDENCY(name=name, depends=depends, scope=SCOPE)


def _label(item: pytest.Item) -> str:
    planned = getattr(item, "planned", None)  # a step; otherwise a wave check, named by its item
    return planned.name if planned is not None else item.name


class Gate:
    def __init__(self, recorded: dict[str, dict[str, str]], ignore_unknown: bool,
                 recorded_steps: dict[str, dict[str, str]] | None = None) -> None:
        self.recorded = recorded  # plan key → issue number → last status, from pytest's cache
        self.recorded_steps = recorded_steps or {}  # plan key → step dependency name → last outcome
        self.ignore_unknown = ignore_unknown
        self.selected: set[str] = set()
        self.results = Results()

    @classmethod
    def load(cls, cache: pytest.Cache | None, ignore_unknown: bool) -> Gate:
        if cache is None:  # -p no:cacheprovider: nothing recorded, nothing to trust
            return cls({}, ignore_unknown)
        return cls(cache.get(CACHE_KEY, {}), ignore_unknown, cache.get(STEPS_KEY, {}))

    def select(self, items: list[pytest.Item]) -> None:
        self.selected = {m.kwargs["name"] for item in items
                         if (m := item.get_closest_marker("dependency")) is not None and "name" in m.kwargs}

    def check(self, item: pytest.Item) -> None:
        """Skip the item, with the reason, unless everything it depends on passed."""
        marker = item.get_closest_marker("dependency")
        if marker is None:
            return
        for name in marker.kwargs.get("depends", ()):
            result = recorded_result(item, name)
            if result is None:
                reason = self._unknown(item, name)
            elif result[0]:
                continue
            else:
                reason = self._explain(item, name)
            if reason is None:
                continue
            self.results.hold(marker.kwargs["name"], reason)
            pytest.skip(reason)

    def observe(self, item: pytest.Item, report: pytest.TestReport) -> None:
        """Remember why a step did not pass, to explain the steps and issues waiting on it."""
        marker = item.get_closest_marker("dependency")
        if marker is None or report.passed or self.results.cause(marker.kwargs["name"]) is not None:
            return
        step = _label(item)
        if hasattr(report, "wasxfail"):
            cause = f"step {step} failed (deferred)"
        elif report.failed:
            cause = f"step {step} failed" if report.when == "call" else f"step {step} errored in {report.when}"
        else:
            cause = f"step {step} was skipped"
        self.results.did_not_pass(marker.kwargs["name"], cause)

    def _explain(self, item: pytest.Item, name: str) -> str:
        step_id = StepId.from_dependency_name(name)
        if step_id is None:
            return f"{name} did not pass"
        issue, step = step_id.issue, step_id.step
        cause = self.results.cause(name) or f"step {step} did not pass"
        own = getattr(item, "issue", None)
        if own is None or issue != own.number:
            return f"blocked by #{issue} ({cause})"
        if self.results.was_held(name):
            return cause  # the step before was itself held back: same reason
        failed = f"step {step} failed"
        return f"after failed step {step}{cause.removeprefix(failed)}" if cause.startswith(failed) else f"after {cause}"

    def _unknown(self, item: pytest.Item, name: str) -> str | None:
        step_id = StepId.from_dependency_name(name)
        if step_id is None:
            return f"{name} has not run"
        plan_key, issue = step_id.plan, step_id.issue
        if name in self.selected:
            return f"blocked by #{issue} (it has not finished yet)"
        own = getattr(item, "issue", None)
        if own is not None and own.number == issue:  # an earlier step of this issue (--lf, -m run)
            done = self.recorded_steps.get(plan_key, {}).get(name)
            if done == "passed" or self.ignore_unknown:
                trust_as_passed(item, name)
                return None
            return (f"after step {step_id.step} (not selected in this run; "
                    f"last recorded outcome: {done or 'never run'})")
        last = self.recorded.get(plan_key, {}).get(str(issue))
        if last == "passed" or self.ignore_unknown:
            # A deliberate rerun of a dependant: trust the dependency's last recorded success.
            trust_as_passed(item, name)
            return None
        return f"blocked by #{issue} (not selected in this run; last recorded outcome: {last or 'never run'})"

    @staticmethod
    def remember(cache: pytest.Cache, plan_key: str, statuses: dict[int, str], steps: dict[str, str]) -> None:
        """Keep, for later reruns, the status of each issue whose steps all ran and the outcome of each
        step that ran; what did not run keeps what it had."""
        for key, news in ((CACHE_KEY, {str(number): status for number, status in statuses.items()}),
                          (STEPS_KEY, steps)):
            recorded = cache.get(key, {})
            recorded.setdefault(plan_key, {}).update(news)
            cache.set(key, recorded)
