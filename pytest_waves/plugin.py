"""The entry point (`pytest11: waves`): the `waves` options, and, when a run names plans, the run's
setup — plans loaded, repositories held, state in the stash, the run's hooks and xdist's roles
registered.

Every pytest run in an environment where pytest-waves is installed imports this module, with or
without plans: at import it loads only the options (session/settings.py). The engine is imported
when a run names a plan."""

from __future__ import annotations

import os
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING

import pytest

import pytest_waves.session.hookspecs as hookspecs
from pytest_waves.session.settings import Settings, addoption, plans_given

if TYPE_CHECKING:
    from pytest_waves.plan.kinds import Kind
    from pytest_waves.session.state import WavesState


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    addoption(parser)


@pytest.hookimpl(wrapper=True, optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> Generator[None, int, int]:
    """`-n auto` / `-n logical` with plans: no more workers than the plans can keep busy (the widest
    wave, as `python -m pytest_waves waves` says), nor than xdist's count of CPUs."""
    cpus = yield
    if not plans_given(config):
        return cpus
    import pytest_waves.session.preflight as preflight

    width = preflight.useful_workers(config, Settings.from_config(config))
    return max(1, min(cpus, width)) if width else cpus


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "waves: a step of a pytest-waves plan")
    if plans_given(config):
        _configure_run(config, Settings.from_config(config))


def _configure_run(config: pytest.Config, settings: Settings) -> None:
    import pytest_waves.session.gcfreeze as gcfreeze
    import pytest_waves.session.preflight as preflight
    import pytest_waves.session.runids as runids
    from pytest_waves.session.gate import Gate
    from pytest_waves.session.hooks import WavesRun
    from pytest_waves.session.state import STATE, WavesState
    from pytest_waves.steps.agent import agent_secrets

    kinds = preflight.step_kinds(config)
    plans = preflight.load_plans(config, settings, kinds)
    settings.refuse_conflicts()
    preflight.hold_repositories(config, settings, plans)
    preflight.check_repositories(settings, plans)
    preflight.check_forced_steps(settings, plans)
    gate = Gate.load(getattr(config, "cache", None), config.getoption("--ignore-unknown-dependency"))
    state = WavesState(plans=plans, gate=gate,
                       dry_run=settings.dry_run, verify=settings.verify, forced=settings.force_steps,
                       logs=settings.logs, run_id=runids.run_id(config))
    config.stash[STATE] = state
    if not (settings.worker or settings.dry_run or settings.collect_only):
        for loaded in plans.values():
            runids.ignore_state(loaded.state_dir)
        runids.prune(state.log_dir(loaded).parent for loaded in plans.values())
    for loaded in plans.values():  # before any step runs, on every worker: see masking.register
        for name, agent in loaded.plan.agents.items():
            agent_secrets(name, agent)
    runids.terminate_as_interrupt(config)
    preflight.check_forges(settings, state)
    config.pluginmanager.register(WavesRun(state, settings), "waves-run")
    _distribute(config, settings, state, kinds)
    preflight.collect_plans(config, [str(p) for p in plans])
    gcfreeze.freeze(config)  # the engine and the plan live as long as the session (docs/benchmarks.md)


def _distribute(config: pytest.Config, settings: Settings, state: WavesState, kinds: Mapping[str, Kind]) -> None:
    """Under `-n N` the plan schedules itself and the gate holds across workers (parallel/)."""
    if settings.worker:
        from pytest_waves.engine.reaper import REAPER
        from pytest_waves.parallel.worker import Worker, let_steps_run_alone

        REAPER.watched = (os.getppid(),)  # xdist's controller: its death ends this worker's steps too
        let_steps_run_alone(config, state.plans.values())
        state.worker = Worker.from_config(config, state.gate)
        if state.worker is not None:
            config.pluginmanager.register(state.worker, "waves-worker")
    elif _distributed(config):
        if config.getoption("dist") == "each":
            raise pytest.UsageError("--dist each would run every step of the plan on every worker; "
                                    "use -n N alone (pytest-waves schedules the plan itself)")
        remote = [spec for spec in config.getoption("tx") if "popen" not in spec]
        if remote:
            raise pytest.UsageError(f"--tx {remote[0]}: plan steps share this machine's repositories and "
                                    "results, so workers must run here (-n N or --tx popen)")
        from pytest_waves.parallel.controller import (
            Controller,  # xdist's session machinery: only under -n
        )

        config.pluginmanager.register(Controller(state, config, kinds), "waves-controller")


def _distributed(config: pytest.Config) -> bool:
    """Will xdist run this session on workers? (xdist's own configure may run after ours.)"""
    return (config.pluginmanager.hasplugin("xdist") and config.getoption("dist", "no") != "no"
            and bool(config.getoption("tx", None)) and not config.option.collectonly)
