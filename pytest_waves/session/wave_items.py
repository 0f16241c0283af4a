"""Wave-level acceptance items, for plans with `merges:`. They turn the plan's claim "these issues can
run in parallel (different files, no merge conflicts)" into items of the suite:

- `checkouts` (first in its wave): each branch is checked out only in the worktree the plan names;
- `merge-A-B` for each pair of issues that may run at the same time (neither depends on the other),
  placed in the wave of the later one: changed files, their overlap, and a trial merge of the two;
- `fresh-base` (with `trial_merge.max_behind`): no branch misses more commits of the base than allowed;
- `integration` (last in its wave): the wave's branches merged one after another onto the base.

All of them only read (see trial_merge.py); the merge items run after the steps of the issues they judge.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import pytest_waves.engine.trial_merge as trial_merge
from pytest_waves.engine.errors import StepFailed
from pytest_waves.plan.checks import KIND, check_dependency_name, checks_for
from pytest_waves.plan.loader import LoadedPlan
from pytest_waves.plan.model import Issue, Wave
from pytest_waves.plan.stepid import StepId
from pytest_waves.session.adapters import TerminalRepr
from pytest_waves.session.gate import dependency_mark
from pytest_waves.session.state import state_of

if TYPE_CHECKING:
    import git

class WaveCheck(pytest.Item):
    def __init__(self, *, wave: Wave, loaded: LoadedPlan, issues: list[int], place: tuple[int, int],
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wave, self.loaded, self.numbers = wave, loaded, issues
        self.place = place
        self.add_marker(KIND)
        self.add_marker("waves")
        if state_of(self.config).dry_run:
            self.add_marker(pytest.mark.skip(reason=f"dry run: would {self.describe()}"))
        else:
            depends = [] if self.name == "checkouts" else [
                StepId(loaded.key, n, step).dependency_name for n in issues for step in loaded.applicable[n]]
            self.add_marker(dependency_mark(check_dependency_name(loaded.key, wave, self.name), depends))
        self.user_properties += [("waves.plan", loaded.key), ("waves.wave", str(wave.id)),
                                 ("waves.check", self.name), ("waves.kind", KIND)]

    def describe(self) -> str:
        """What the check would do (dry runs)."""
        numbers = " and ".join(f"#{n}" for n in self.numbers)
        if self.name == "checkouts":
            return f"check that each branch of wave {self.wave.id} is checked out only in its planned worktree"
        if self.name == "fresh-base":
            limit = self.loaded.plan.merges.max_behind  # type: ignore[union-attr]
            return f"check that every branch of wave {self.wave.id} is within {limit} commits of the base"
        if self.name == "integration":
            return f"trial-merge wave {self.wave.id}'s branches one after another onto the base ({numbers})"
        return f"trial-merge {numbers} (changed files, overlap, conflicts) without touching either branch"

    @property
    def plan_position(self) -> tuple[str, int, int]:
        """Sorts with the steps (see StepItem.plan_position): `checkouts` just before the wave's first
        issue, the merge checks just after its last one."""
        return str(self.loaded.path), *self.place

    @property
    def issues(self) -> list[Issue]:
        return [self.loaded.issue(n)[1] for n in self.numbers]

    def runtest(self) -> None:
        import pytest_waves.engine.gitops as gitops

        repo = gitops.open_repo(self.loaded.repo_root)
        repository = self.loaded.plan.repository
        base = f"refs/remotes/{repository.remote}/{repository.base}"
        try:
            try:
                with trial_merge.scratch_objects(repo):
                    note = self._check(repo, base)
            except gitops.GitCommandError as exc:
                verb = exc.command[1] if len(exc.command) > 1 else ""
                raise StepFailed(f"git {verb} failed (exit {exc.status})", [gitops.git_error(exc)]) from None
        except StepFailed as failure:
            self.user_properties.append(("waves.failure", failure.summary))
            raise
        self.user_properties.append(("waves.note", note))

    def _check(self, repo: git.Repo, base: str) -> str:
        checks: dict[str, Callable[[git.Repo, str], str]] = {
            "checkouts": self._checkouts, "fresh-base": self._fresh_base, "integration": self._integration}
        return checks.get(self.name, self._pair)(repo, base)

    def _refs(self, repo: git.Repo) -> list[tuple[Issue, str]]:
        remote = self.loaded.plan.repository.remote
        found = [(issue, trial_merge.branch_ref(repo, remote, issue.branch)) for issue in self.issues]
        missing = [f"#{issue.number}: {issue.branch}" for issue, ref in found if ref is None]
        if missing:
            raise StepFailed("branch not found locally or on the remote", missing)
        return [(issue, ref) for issue, ref in found if ref]

    def _checkouts(self, repo: git.Repo, base: str) -> str:
        where = trial_merge.checkouts(repo)
        problems = []
        for issue in self.issues:
            # An issue without a worktree works in the repository's own checkout.
            expected = (self.loaded.repo_root / (issue.worktree or ".")).resolve()
            paths = where.get(issue.branch, [])
            if len(paths) > 1:
                problems.append(f"#{issue.number}: {issue.branch} is checked out in {len(paths)} worktrees: "
                                + ", ".join(map(str, paths)))
            elif paths and paths[0] != expected:
                problems.append(f"#{issue.number}: {issue.branch} is checked out in {paths[0]}, not in {expected}")
        if problems:
            raise StepFailed("branches are checked out where the plan does not expect them", problems)
        return "every branch is checked out only where the plan says"

    def _pair(self, repo: git.Repo, base: str) -> str:
        trial_merge.require_merge_tree(repo.git.version())
        (first, ours), (second, theirs) = self._refs(repo)
        overlap = sorted(trial_merge.changed_files(repo, base, ours) & trial_merge.changed_files(repo, base, theirs))
        trial = trial_merge.trial_merge(repo, ours, theirs)
        if not trial.clean:
            raise StepFailed(f"#{first.number} and #{second.number} conflict: {first.branch} and {second.branch} "
                             "cannot be merged together", [f"conflict: {name}" for name in trial.conflicts])
        policy = self.loaded.plan.merges.overlap  # type: ignore[union-attr]
        if overlap and policy == "fail":
            raise StepFailed(f"#{first.number} and #{second.number} both change the same files "
                             "(they merge cleanly, but the plan forbids overlap)", overlap)
        if overlap and policy == "warn":
            self.warn(pytest.PytestWarning(f"#{first.number} and #{second.number} both change "
                                           f"{', '.join(overlap)} (they merge cleanly)"))
        return f"merge cleanly{'; both change ' + ', '.join(overlap) if overlap else ', different files'}"

    def _fresh_base(self, repo: git.Repo, base: str) -> str:
        limit = self.loaded.plan.merges.max_behind  # type: ignore[union-attr]
        assert limit is not None  # checks_for makes this item only when a limit is set
        stale = [f"#{issue.number}: {issue.branch} is {behind} commits behind {base.removeprefix('refs/remotes/')}"
                 for issue, ref in self._refs(repo) if (behind := trial_merge.commits_behind(repo, ref, base)) > limit]
        if stale:
            raise StepFailed(f"branches started from a base older than the plan allows ({limit} commits)", stale)
        return f"every branch is within {limit} commits of the base"

    def _integration(self, repo: git.Repo, base: str) -> str:
        trial_merge.require_merge_tree(repo.git.version())
        current: str = base
        merged: list[str] = []
        for issue, ref in self._refs(repo):
            trial = trial_merge.trial_merge(repo, current, ref, chain=True)
            if not trial.clean:
                so_far = " + ".join(merged) or "the base alone"
                raise StepFailed(f"wave {self.wave.id} does not merge cleanly: #{issue.number} conflicts with "
                                 f"{base.removeprefix('refs/remotes/')} + {so_far}",
                                 [f"conflict: {name}" for name in trial.conflicts])
            current = trial.commit or current
            merged.append(f"#{issue.number}")
        return f"wave {self.wave.id} merges cleanly onto {base.removeprefix('refs/remotes/')}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        error = excinfo.value
        if isinstance(error, StepFailed):
            return "\n".join([f"wave {self.wave.id} {self.wave.name} — check {self.name!r}", f"  {error.summary}",
                              *(f"    {detail}" for detail in error.details)])
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        line = self.loaded.line("waves", self.loaded.plan.waves.index(self.wave))
        return self.loaded.path, line - 1, f"wave {self.wave.id} {self.name}"


def collect(parent: pytest.Collector, loaded: LoadedPlan, wave: Wave) -> tuple[list[WaveCheck], list[WaveCheck]]:
    """The wave's checks that go before its issues and those that go after them."""
    before, after = checks_for(loaded, wave)
    places = [loaded.position[issue.number] for issue in wave.issues]

    def items(checks: list[tuple[str, list[int]]], place: Callable[[int], tuple[int, int]]) -> list[WaveCheck]:
        return [WaveCheck.from_parent(parent, name=name, wave=wave, loaded=loaded, issues=issues, place=place(n))
                for n, (name, issues) in enumerate(checks)]

    return (items(before, lambda n: (min(places), -1 - n)),
            items(after, lambda n: (max(places), 1_000_000 + n)))
