"""One step's identity, as one value: `StepId("luminaguard", 154, "clippy")`.

It is the step's pytest-dependency name (`luminaguard::issue154::clippy`), its issue's scheduling
unit under xdist (`luminaguard::issue154`), the `-k`/`--waves-force-step` selector (`issue154::clippy`)
and the properties its reports carry to JUnit and across xdist workers. Built and parsed here only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class StepId(NamedTuple):  # a tuple: made ten thousand times when a large plan is collected
    plan: str  # the plan's key: its file name without suffix
    issue: int
    step: str

    @property
    def dependency_name(self) -> str:
        return f"{self.plan}::issue{self.issue}::{self.step}"

    @classmethod
    def from_dependency_name(cls, name: str) -> StepId | None:
        """The inverse of `dependency_name`; None for a name that is not a step's (a wave check's)."""
        plan, issue, step = (name.rsplit("::", 2) + ["", ""])[:3]
        number = issue.removeprefix("issue")
        return cls(plan, int(number), step) if issue.startswith("issue") and number.isdigit() and step else None

    @property
    def unit(self) -> str:
        return issue_unit(self.plan, self.issue)

    @property
    def selector(self) -> str:
        return f"issue{self.issue}::{self.step}"

    def properties(self, wave: object) -> list[tuple[str, object]]:
        """What tells a report which step it is; it travels with the report, also from xdist workers."""
        return [("waves.plan", self.plan), ("waves.wave", str(wave)), ("waves.issue", self.issue),
                ("waves.step", self.step)]

    @classmethod
    def from_properties(cls, properties: Iterable[tuple[str, object]]) -> StepId | None:
        facts = dict(properties)
        if not {"waves.plan", "waves.issue", "waves.step"} <= facts.keys():
            return None
        return cls(str(facts["waves.plan"]), int(str(facts["waves.issue"])), str(facts["waves.step"]))


def issue_unit(plan: str, issue: int) -> str:
    """An issue's steps, as one xdist scheduling unit."""
    return f"{plan}::issue{issue}"


def issue_of_unit(unit: str) -> tuple[str, int] | None:
    plan, _, issue = unit.rpartition("::issue")
    return (plan, int(issue)) if plan and issue.isdigit() else None
