"""What a step kind is: an options model, a description for dry runs, and the real work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from pytest_waves.engine.errors import NotVerifiable, StepFailed

__all__ = ["NotVerifiable", "StepContext", "StepFailed", "StepKind", "StepOptions", "nonempty_command",
           "not_installed"]

if TYPE_CHECKING:
    from pytest_waves.engine.forge import Forge
    from pytest_waves.plan.loader import LoadedPlan
    from pytest_waves.plan.model import Issue, Plan, Repository, Wave


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # see plan.model.Strict


class StepOptions(NoOptions):
    """Base for a kind's options: unknown keys are plan errors."""


def not_installed(program: str, what: str = "") -> StepFailed:
    """The failure for a program that is not there: named, not a raw FileNotFoundError."""
    where = "does not exist" if "/" in program else "is not on PATH"
    return StepFailed(f"`{program}` {where}{f' ({what})' if what else ''}",
                      ["install it, or correct the command in the plan"])


def nonempty_command(value: str | list[str]) -> str | list[str]:
    """A validator for command options: an empty command exits 0 having checked nothing, a ✅ that
    means nothing."""
    program = value if isinstance(value, str) else (value[0] if value else "")
    if not program.strip():
        raise ValueError("the command is empty: a step must run something to check")
    return value


@dataclass
class StepContext:
    """Everything a step may look at: the plan, its issue, where to work, and where to report."""

    plan: LoadedPlan
    wave: Wave
    issue: Issue
    step_name: str
    forge: Forge
    log_dir: Path = Path(".waves/logs")  # this run's logs
    force: bool = False  # named by --waves-force-step: redo even what is already satisfied
    on_output: Callable[[str], None] | None = None  # a command's lines as they come (the live view, -v)
    slots: Path | None = None  # under xdist, where limits across workers are held (engine/slots.py)
    properties: list[tuple[str, object]] = field(default_factory=list)

    @property
    def repository(self) -> Repository:
        """The plan's repository settings: remote, base branch."""
        return self.plan.plan.repository

    @property
    def repo_root(self) -> Path:
        return self.plan.repo_root

    @property
    def worktree(self) -> Path:
        if self.issue.worktree is None:
            return self.plan.repo_root
        return self.plan.repo_root / self.issue.worktree

    def log_path(self) -> Path:
        return self.log_dir / f"issue{self.issue.number}-{self.step_name}.log"

    def record(self, key: str, value: object) -> None:
        """Attach a fact to the step's report (it travels with the report under xdist)."""
        self.properties.append((f"waves.{key}", value))


O = TypeVar("O", bound=BaseModel)


class StepKind(Generic[O]):
    """A registered kind of checklist step. Subclass, set ``name`` and ``Options``, implement ``run``."""

    name: ClassVar[str]
    Options: ClassVar[type[BaseModel]] = NoOptions
    # A scalar written as the step's value fills this option: `- run: cargo test` means cmd=...
    shorthand: ClassVar[str | None] = None
    # Options that are paths inside the issue's worktree: checked at load time never to escape it.
    path_options: ClassVar[tuple[str, ...]] = ()
    # A kind that only reads (a check, or a command that does not write to the repository) runs as is
    # under --waves-verify; a kind that changes state implements `verify`, or verify mode skips it.
    read_only: ClassVar[bool] = False

    @classmethod
    def parse_options(cls, raw: Any) -> Any:
        if cls.shorthand is not None and not isinstance(raw, dict):
            return {cls.shorthand: raw}
        return raw

    def describe(self, options: O, ctx: StepContext) -> str:
        """One line saying what the step would do (dry runs and reports)."""
        return self.name

    def check_plan(self, options: O, plan: Plan) -> str | None:
        """A problem between these options and the rest of the plan (a plan error), or None."""
        return None

    def verify(self, options: O, ctx: StepContext) -> str | None:
        """Check, without writing anything anywhere, that what `run` would bring about holds."""
        if self.read_only:
            return self.run(options, ctx)
        raise NotVerifiable(f"`{self.name}` steps change state and have no read-only check")

    def run(self, options: O, ctx: StepContext) -> str | None:
        """Do the work or check the state; raise StepFailed when it does not hold.

        Returns an optional note for the report (e.g. "already contained").
        """
        raise NotImplementedError
