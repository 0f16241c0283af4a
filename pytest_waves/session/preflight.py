"""Before the first item: the plans loaded (one usage error for a bad one), their markers
registered, the repositories locked and sandboxes built, the forges' tokens checked."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import pytest_waves.engine.runlock as runlock
import pytest_waves.engine.sandbox as sandbox
import pytest_waves.plan.transfer as transfer
from pytest_waves.engine.forge import ForgeError
from pytest_waves.engine.masking import mask
from pytest_waves.engine.runlock import RepositoryBusy, RunLocks
from pytest_waves.plan.checks import KIND as MERGES
from pytest_waves.plan.graph import levels
from pytest_waves.plan.kinds import Kind
from pytest_waves.plan.loader import LoadedPlan, PlanError, load_plan
from pytest_waves.session.settings import Settings
from pytest_waves.session.state import WavesState
from pytest_waves.steps import registry


def load_plans(config: pytest.Config, settings: Settings, kinds: Mapping[str, Kind]) -> dict[Path, LoadedPlan]:
    """The plans, each read and validated once, by the controller: xdist's workers take its copy."""
    blob = getattr(config, "workerinput", {}).get(transfer.PLANS_KEY)
    if blob is not None:
        try:
            given = transfer.loads(blob, kinds)
        except transfer.TransferError as exc:
            raise pytest.UsageError(str(exc)) from None
        for loaded in given.values():
            _register_markers(config, loaded)
        return given
    plans: dict[Path, LoadedPlan] = {}
    preloaded = config.stash.get(PRELOADED, (None, {}))[1]
    for path in settings.plans:
        try:
            loaded = preloaded.get(path) or load_plan(path, kinds, settings.repo)
        except PlanError as exc:
            raise pytest.UsageError(mask(f"invalid wave plan: {exc}")) from None
        same = next((other for other in plans.values() if other.key == loaded.key), None)
        if same is not None and same.path != loaded.path:
            raise pytest.UsageError(f"two plans are named {loaded.key!r} ({same.path} and {loaded.path}): "
                                    "step names, reports and recorded outcomes would mix; rename one")
        plans[loaded.path] = loaded
        _register_markers(config, loaded)
    return plans


# `-n auto` sizes the run by the plans before pytest_configure loads them: loaded once, kept here
PRELOADED = pytest.StashKey[tuple[Mapping[str, Kind], dict[Path, LoadedPlan]]]()


def step_kinds(config: pytest.Config) -> Mapping[str, Kind]:
    """The run's step kinds: the ones `-n auto` loaded the plans with, else the registry's."""
    preloaded = config.stash.get(PRELOADED, None)
    return preloaded[0] if preloaded is not None else dict(registry(config.hook.pytest_waves_step_kinds()))


def useful_workers(config: pytest.Config, settings: Settings) -> int | None:
    """How many workers the plans can keep busy at once: the sum of each plan's widest wave (its
    largest level of independent issues). None when a plan does not load: the run's own loading
    says why, in its place."""
    kinds = step_kinds(config)
    try:
        plans = {path: load_plan(path, kinds, settings.repo) for path in settings.plans}
    except PlanError:
        return None
    config.stash[PRELOADED] = (kinds, plans)  # load_plans takes them: one reading of each plan a run
    return sum(max((len(level) for level in levels(loaded.order, loaded.deps)), default=1)
               for loaded in plans.values())


def _register_markers(config: pytest.Config, loaded: LoadedPlan) -> None:
    for wave, issue in loaded.plan.issues():
        config.addinivalue_line("markers", f"issue{issue.number}: #{issue.number} {issue.title}")
        config.addinivalue_line("markers", f"{wave.key}: wave {wave.id} {wave.name}".rstrip())
    if loaded.plan.merges is not None:
        config.addinivalue_line("markers", f"{MERGES}: a pytest-waves wave-level merge check")
    for steps in loaded.steps.values():
        for step in steps:
            config.addinivalue_line("markers", f"{step.kind.name}: a pytest-waves `{step.kind.name}` step")


def check_repositories(settings: Settings, plans: dict[Path, LoadedPlan]) -> None:
    """A run that works on a repository needs it: one clear error, not a failure per step. A dry
    run and `--co` only describe, so they go on without it."""
    if settings.worker or settings.dry_run or settings.collect_only:
        return
    for loaded in plans.values():
        root, given = loaded.repo_root, settings.repo or loaded.plan.repository.path
        where = f"--waves-repo {settings.repo}" if settings.repo else f"repository.path: {given}"
        fix = ("run the plan once without --waves-verify: it builds its sandbox repository"
               if loaded.plan.repository.sandbox is not None and not settings.repo
               else "clone it there, or give --waves-repo PATH (or the waves_repo ini key)")
        if not root.is_dir():
            raise pytest.UsageError(f"{loaded.path}: the repository {root} does not exist ({where}); {fix}")
        if runlock.git_common_dir(root) is None:
            raise pytest.UsageError(f"{loaded.path}: {root} is not a git repository ({where}); {fix}")


def check_forced_steps(settings: Settings, plans: dict[Path, LoadedPlan]) -> None:
    known = {f"issue{number}" for loaded in plans.values() for number in loaded.steps}
    known |= {f"issue{number}::{step.name}" for loaded in plans.values()
              for number, steps in loaded.steps.items() for step in steps}
    for name in sorted(settings.force_steps - known):
        raise pytest.UsageError(f"--waves-force-step {name}: no such issue or step in the plans "
                                "(write issueN or issueN::STEP, e.g. issue155::agent)")


def hold_repositories(config: pytest.Config, settings: Settings, plans: dict[Path, LoadedPlan]) -> None:
    """A run that may write locks every repository it works on (runlock.py), then builds missing
    sandboxes. The locks are taken in one order (sandboxes, then repositories, each sorted) so that
    two runs of overlapping plans can never hold one lock each and wait for the other. xdist's
    workers run under their controller's lock, and read-only runs need none."""
    if settings.worker or not settings.writes:
        return
    locks = RunLocks(plan=", ".join(str(path) for path in settings.plans), wait=settings.wait)
    config.add_cleanup(locks.release)
    try:
        locks.take_sandboxes([loaded.repo_root for loaded in plans.values()
                              if loaded.plan.repository.sandbox is not None])
        for loaded in plans.values():
            _ensure_sandbox(config, settings, loaded)
        locks.take_repositories([loaded.repo_root for loaded in plans.values()])
    except RepositoryBusy as exc:
        raise pytest.UsageError(str(exc)) from None


def _ensure_sandbox(config: pytest.Config, settings: Settings, loaded: LoadedPlan) -> None:
    try:
        note = sandbox.ensure(loaded, settings.fresh_sandbox)
    except (OSError, ValueError, sandbox.SandboxError) as exc:
        raise pytest.UsageError(f"{loaded.path}: cannot build the sandbox repository: {exc}") from None
    terminal: Any = config.pluginmanager.get_plugin("terminalreporter")
    if note and terminal is not None:
        terminal.write_line(note)


def check_forges(settings: Settings, state: WavesState) -> None:
    """A missing or rejected token is one clear error before any step runs, not one per `pr` step.
    (A verify run reads the forge: it needs the token too.)"""
    if settings.worker or settings.dry_run or settings.collect_only:
        return
    for loaded in state.plans.values():
        needed = settings.comment is not None or any(
            step.kind.name == "pr" for steps in loaded.steps.values() for step in steps)
        if needed and loaded.plan.forge.kind != "local":
            try:
                state.forge(loaded).check_access()
            except ForgeError as exc:
                raise pytest.UsageError(mask("\n  ".join([f"{loaded.path}: {exc.summary}", *exc.details]))) from None


def collect_plans(config: pytest.Config, plans: list[str]) -> None:
    """`pytest --waves PLAN` runs the plan; with explicit paths too, the plan is added to them."""
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args = [*config.args, *(p for p in plans if p not in config.args)]
    else:
        config.args = plans
