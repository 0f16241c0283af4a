"""Node id → plan step, for the xdist controller, which collects nothing and sees only node ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pytest_waves.plan.checks import checks_for
from pytest_waves.plan.loader import LoadedPlan
from pytest_waves.plan.stepid import StepId, issue_unit


@dataclass(frozen=True)
class StepRef:
    """A step named by a node id: its plan, and its identity."""

    loaded: LoadedPlan
    id: StepId

    @property
    def issue(self) -> int:
        return self.id.issue

    @property
    def step(self) -> str:
        return self.id.step


class NodeIds:
    def __init__(self, plans: Iterable[LoadedPlan], rootpath: Path) -> None:
        self.plans = {plan.path: plan for plan in plans}
        self.rootpath = rootpath
        self._checks: dict[tuple[str, str], tuple[list[tuple[str, list[int]]], list[tuple[str, list[int]]]]] = {}
        self._files: dict[str, tuple[LoadedPlan | None, bool]] = {}

    def _file(self, file_part: str) -> tuple[LoadedPlan | None, bool]:
        """The plan a node id's file part names, and whether it names a file at all. Looked up once
        per file: resolving is a system call per path component, and a plan of 400 steps has 400 node
        ids to place before work starts."""
        if file_part not in self._files:
            path = self.rootpath / file_part
            self._files[file_part] = ((self.plans.get(path.resolve()), path.is_file()) if file_part
                                      else (None, False))
        return self._files[file_part]

    def step(self, nodeid: str) -> StepRef | None:
        """`plans/x.yaml::wave2::issue154::clippy` → that step of that plan; anything else → None."""
        parts = nodeid.split("::")
        if len(parts) != 4 or not parts[2].startswith("issue") or not parts[2][5:].isdigit():
            return None
        number = int(parts[2][5:])
        loaded, is_file = self._file(parts[0])
        # A plan outside the rootdir has an odd file part, naming no file: then any plan that has this
        # very step will do. A file that is not a plan holds no plan step, whatever its ids look like.
        candidates = [loaded] if loaded is not None else [] if is_file else list(self.plans.values())
        for plan in candidates:
            if parts[3] in plan.step_names(number):
                return StepRef(plan, StepId(plan.key, number, parts[3]))
        return None

    def unit(self, nodeid: str) -> tuple[str, list[str]] | None:
        """The scheduling unit of a plan item and the units it waits for: an issue's steps form one
        unit; a wave's merge check is a unit of its own, after the issues it judges."""
        ref = self.step(nodeid)
        if ref is not None:
            key = ref.loaded.key
            deps = [issue_unit(key, dep) for dep in ref.loaded.deps[ref.issue]]
            home, _ = ref.loaded.issue(ref.issue)
            if ref.loaded.plan.merges is not None:  # the wave's `checkouts` check goes first
                deps.append(f"{nodeid.split('::')[0]}::{home.key}::checkouts")
            return ref.id.unit, deps
        parts = nodeid.split("::")
        if len(parts) != 3 or not parts[1].startswith("wave"):
            return None
        loaded, _ = self._file(parts[0])
        wave = next((w for w in loaded.plan.waves if w.key == parts[1]), None) if loaded else None
        if loaded is None or wave is None:
            return None
        cached = (loaded.key, wave.key)
        if cached not in self._checks:
            self._checks[cached] = checks_for(loaded, wave)
        before, after = self._checks[cached]
        judged = dict(after).get(parts[2])
        if judged is None:
            return (nodeid, []) if parts[2] in dict(before) else None
        return nodeid, [issue_unit(loaded.key, number) for number in judged]
