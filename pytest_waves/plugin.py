"""pytest hooks: options, loading plans, collecting them, the gate at setup, and the table at the end."""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_waves.session import hookspecs, runids
from pytest_waves.reporting import rows
from pytest_waves.engine import sandbox
from pytest_waves.engine.reaper import REAPER
from pytest_waves.engine.runlock import RepositoryBusy, RunLocks
from pytest_waves.session.items import PlanFile, StepItem
from pytest_waves.engine.forge import ForgeError
from pytest_waves.session.gate import CACHE_KEY, Gate
from pytest_waves.session.adapters import junit_xml
from pytest_waves.session.state import STATE, WavesState
from pytest_waves.plan.loader import LoadedPlan, PlanError, load_plan, paused_gc
from pytest_waves.engine.masking import mask, mask_report
from pytest_waves.parallel.controller import Controller
from pytest_waves.parallel.worker import Worker
from pytest_waves.reporting.publish import Published, publish
from pytest_waves.steps import registry
from pytest_waves.steps.agent import agent_secrets
from pytest_waves.plan.checks import KIND as MERGES
from pytest_waves.session.wave_items import WaveCheck

def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("waves", "run a wave plan of dependent issues (pytest-waves)")
    group.addoption("--waves", action="append", default=[], metavar="PLAN",
                    help="run this wave plan (YAML); may be given more than once. ini: waves_plans")
    group.addoption("--waves-repo", metavar="PATH",
                    help="the repository checkout the plan works on, instead of the plan's repository.path. "
                         "ini: waves_repo")
    group.addoption("--waves-dry-run", action="store_true", default=None,
                    help="collect and report what each step would do; touch no repository. ini: waves_dry_run")
    group.addoption("--waves-report", metavar="PATH.md", help="write the success-metrics table as Markdown. "
                    "ini: waves_report")
    group.addoption("--waves-json", metavar="PATH", help="write the results as JSON. ini: waves_json")
    group.addoption("--waves-verify", action="store_true", default=None,
                    help="read-only acceptance: every step checks the state instead of changing it; agents are "
                         "not dispatched, nothing in any repository, remote or forge is written. ini: waves_verify")
    group.addoption("--waves-force-step", action="append", default=[], metavar="issueN[::STEP]",
                    help="run this agent step (or every agent step of issue N) even when its work is already "
                         "there; repeatable")
    group.addoption("--waves-logs", metavar="DIR",
                    help="write step logs under DIR/<plan>/<run>/ instead of .waves/logs next to the plan. "
                         "ini: waves_logs")
    group.addoption("--waves-comment", metavar="ISSUE", type=int,
                    help="post the success-metrics table as one comment on this issue of the plan's forge, "
                         "and edit that same comment on later runs. ini: waves_comment")
    group.addoption("--waves-fresh-sandbox", action="store_true", default=False,
                    help="rebuild the throwaway repository of a plan with `repository.sandbox`")
    group.addoption("--waves-wait", metavar="SECONDS", type=float, default=None,
                    help="when another run is working on the same repository, wait this long for it to end "
                         "(default 0: stop at once with an error naming it). ini: waves_wait")
    parser.addini("waves_plans", "wave plans to run when --waves is not given", type="paths", default=[])
    parser.addini("waves_repo", "default for --waves-repo", default="")
    parser.addini("waves_dry_run", "default for --waves-dry-run", type="bool", default=False)
    parser.addini("waves_report", "default for --waves-report", default="")
    parser.addini("waves_json", "default for --waves-json", default="")
    parser.addini("waves_comment", "default for --waves-comment", default="")
    parser.addini("waves_verify", "default for --waves-verify", type="bool", default=False)
    parser.addini("waves_logs", "default for --waves-logs", default="")
    parser.addini("waves_wait", "default for --waves-wait", default="0")


def _option(config: pytest.Config, name: str) -> Any:
    value = config.getoption(f"--{name.replace('_', '-')}")
    return config.getini(name) if value in (None, "") else value


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "waves: a step of a pytest-waves plan")
    given = [Path(p) for p in config.getoption("--waves")] or list(config.getini("waves_plans"))
    if not given:
        return
    kinds = registry(config.hook.pytest_waves_step_kinds())
    repo = _option(config, "waves_repo") or None
    plans: dict[Path, LoadedPlan] = {}
    for path in given:
        try:
            loaded = load_plan(path, kinds, repo)
        except PlanError as exc:
            raise pytest.UsageError(mask(f"invalid wave plan: {exc}")) from None
        same = next((other for other in plans.values() if other.key == loaded.key), None)
        if same is not None and same.path != loaded.path:
            raise pytest.UsageError(f"two plans are named {loaded.key!r} ({same.path} and {loaded.path}): "
                                    "step names, reports and recorded outcomes would mix; rename one")
        plans[loaded.path] = loaded
        _register_markers(config, loaded)
    _refuse_conflicting_options(config)
    _hold_repositories(config, given, plans)
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    recorded = cache.get(CACHE_KEY, {}) if cache is not None else {}
    logs = _option(config, "waves_logs")
    state = WavesState(plans=plans, gate=Gate(recorded, config.getoption("--ignore-unknown-dependency")),
                       dry_run=bool(_option(config, "waves_dry_run")), verify=bool(_option(config, "waves_verify")),
                       forced=_forced_steps(config, plans), logs=Path(logs).resolve() if logs else None,
                       run_id=runids.run_id(config))
    config.stash[STATE] = state
    if not (_is_worker(config) or state.dry_run or config.option.collectonly):
        for loaded in plans.values():
            runids.ignore_state(loaded.state_dir)
        runids.prune(state.log_dir(loaded).parent for loaded in plans.values())
    for loaded in plans.values():  # before any step runs, on every worker: see masking.register
        for agent in loaded.plan.agents.values():
            agent_secrets(agent)
    runids.terminate_as_interrupt(config)
    if not (_is_worker(config) or state.dry_run or config.option.collectonly):
        _check_forges(config, state)
    config.pluginmanager.register(WavesRun(state), "waves-run")
    _distribute(config, state)
    _collect_plans(config, [str(p) for p in plans])


def _refuse_conflicting_options(config: pytest.Config) -> None:
    read_only = [name for name, given in (("--waves-verify", _option(config, "waves_verify")),
                                          ("--waves-dry-run", _option(config, "waves_dry_run")),
                                          ("--collect-only", config.option.collectonly)) if given]
    if _option(config, "waves_verify") and _option(config, "waves_dry_run"):
        raise pytest.UsageError("--waves-verify checks the state and --waves-dry-run only describes the "
                                "steps: choose one")
    if read_only and config.getoption("--waves-fresh-sandbox"):
        raise pytest.UsageError(f"{read_only[0]} writes nothing, so it cannot rebuild the sandbox "
                                "(--waves-fresh-sandbox)")


def _hold_repositories(config: pytest.Config, given: list[Path], plans: dict[Path, LoadedPlan]) -> None:
    """A run that may write locks every repository it works on, then builds missing sandboxes. The
    locks are taken in one order (sandboxes, then repositories, each sorted) so that two runs of
    overlapping plans can never hold one lock each and wait for the other."""
    locks = _run_locks(config, given)
    if locks is None:
        return
    try:
        locks.take_sandboxes([loaded.repo_root for loaded in plans.values()
                              if loaded.plan.repository.sandbox is not None])
        for loaded in plans.values():
            _ensure_sandbox(config, loaded)
        locks.take_repositories([loaded.repo_root for loaded in plans.values()])
    except RepositoryBusy as exc:
        raise pytest.UsageError(str(exc)) from None


def _ensure_sandbox(config: pytest.Config, loaded: LoadedPlan) -> None:
    try:
        note = sandbox.ensure(loaded, config.getoption("--waves-fresh-sandbox"))
    except (OSError, ValueError, sandbox.SandboxError) as exc:
        raise pytest.UsageError(f"{loaded.path}: cannot build the sandbox repository: {exc}") from None
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if note and terminal is not None:
        terminal.write_line(note)


def _run_locks(config: pytest.Config, given: list[Path]) -> RunLocks | None:
    """A run that may write holds its repositories until it ends (runlock.py); xdist's workers run
    under their controller's lock, and read-only runs need none."""
    if (_is_worker(config) or config.option.collectonly or _option(config, "waves_verify")
            or _option(config, "waves_dry_run")):
        return None
    try:
        wait = float(_option(config, "waves_wait") or 0)
    except ValueError:
        raise pytest.UsageError(f"waves_wait: {config.getini('waves_wait')!r} is not a number of seconds") from None
    locks = RunLocks(plan=", ".join(str(path) for path in given), wait=wait)
    config.add_cleanup(locks.release)
    return locks


def _forced_steps(config: pytest.Config, plans: dict[Path, LoadedPlan]) -> frozenset[str]:
    known = {f"issue{number}" for loaded in plans.values() for number in loaded.steps}
    known |= {f"issue{number}::{step.name}" for loaded in plans.values()
              for number, steps in loaded.steps.items() for step in steps}
    for name in config.getoption("--waves-force-step"):
        if name not in known:
            raise pytest.UsageError(f"--waves-force-step {name}: no such issue or step in the plans "
                                    "(write issueN or issueN::STEP, e.g. issue155::agent)")
    return frozenset(config.getoption("--waves-force-step"))


def _comment_issue(config: pytest.Config) -> int | None:
    value = _option(config, "waves_comment")
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise pytest.UsageError(f"waves_comment: {value!r} is not an issue number") from None


def _check_forges(config: pytest.Config, state: WavesState) -> None:
    """A missing or rejected token is one clear error before any step runs, not one per `pr` step."""
    comment = _comment_issue(config) is not None
    for loaded in state.plans.values():
        needed = comment or any(step.kind.name == "pr" for steps in loaded.steps.values() for step in steps)
        if needed and loaded.plan.forge.kind != "local":
            try:
                state.forge(loaded).check_access()
            except ForgeError as exc:
                raise pytest.UsageError(mask("\n  ".join([f"{loaded.path}: {exc.summary}", *exc.details]))) from None


def _distribute(config: pytest.Config, state: WavesState) -> None:
    """Under `-n N` the plan schedules itself and the gate holds across workers (parallel/)."""
    if _is_worker(config):
        REAPER.watched = (os.getppid(),)  # xdist's controller: its death ends this worker's steps too
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
        config.pluginmanager.register(Controller(state, config), "waves-controller")


def _distributed(config: pytest.Config) -> bool:
    """Will xdist run this session on workers? (xdist's own configure may run after ours.)"""
    return (config.pluginmanager.hasplugin("xdist") and config.getoption("dist", "no") != "no"
            and bool(config.getoption("tx", None)) and not config.option.collectonly)


def _register_markers(config: pytest.Config, loaded: LoadedPlan) -> None:
    for wave, issue in loaded.plan.issues():
        config.addinivalue_line("markers", f"issue{issue.number}: #{issue.number} {issue.title}")
        config.addinivalue_line("markers", f"{wave.key}: wave {wave.id} {wave.name}".rstrip())
    if loaded.plan.merges is not None:
        config.addinivalue_line("markers", f"{MERGES}: a pytest-waves wave-level merge check")
    for steps in loaded.steps.values():
        for step in steps:
            config.addinivalue_line("markers", f"{step.kind.name}: a pytest-waves `{step.kind.name}` step")


def _collect_plans(config: pytest.Config, plans: list[str]) -> None:
    """`pytest --waves PLAN` runs the plan; with explicit paths too, the plan is added to them."""
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args = [*config.args, *(p for p in plans if p not in config.args)]
    else:
        config.args = plans


class WavesRun:
    """The hooks of one run with plans; registered by pytest_configure only when plans are given."""

    def __init__(self, state: WavesState) -> None:
        self.state = state

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
    def pytest_collection(self) -> Generator[None, Any, None]:
        with paused_gc():  # a plan's items are long-lived: see paused_gc
            yield

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.state.gate.select(items)  # after -k/-m deselection: what is not here is "not in this run"

    @pytest.hookimpl(tryfirst=True)  # after every reordering (--ff's is a wrapper), before xdist reads the list
    def pytest_collection_finish(self, session: pytest.Session) -> None:
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
            rep.wasxfail = f"step {item.planned.name} failed; #{item.issue.number} is deferrable"  # type: ignore[attr-defined]
        self.state.gate.observe(item, rep)
        if rep.when == "call":  # when it ran, for the timeline. On the item, so that the teardown
            # report carries it too: JUnit writes only that report's properties
            ran = [("waves.start", round(rep.start, 3)), ("waves.stop", round(rep.stop, 3))]
            rep.user_properties += ran
            item.user_properties += ran
        mask_report(rep)  # before the terminal, JUnit or xdist's controller sees it

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.state.outcomes.add(report)  # on the controller this sees every worker's reports

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        if _is_worker(config) or config.option.collectonly:
            return
        for loaded in self.state.plans.values():
            report = self.state.report(loaded)
            if config.option.verbose > 0:
                terminalreporter.write_sep("-", f"steps: {loaded.plan.project}")
                for line in rows.step_lines(report):
                    terminalreporter.write_line(mask(line))
            terminalreporter.write_sep("=", f"success metrics: {loaded.plan.project} ({loaded.path.name})")
            for line in [*rows.terminal_lines(report), *rows.merge_lines(report)]:
                terminalreporter.write_line(mask(line))
            for published in self.state.published:
                for line in published.lines if published.plan is loaded else ():
                    terminalreporter.write_line(line, red=published.failed)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        config = session.config
        if _is_worker(config) or config.option.collectonly:
            return
        markdown, as_json = _option(config, "waves_report"), _option(config, "waves_json")
        # no comment from a dry run, or from a run stopped half-way (its table is not the plan's state)
        # verify writes nothing anywhere, the forge included; its outcomes are not recorded for the gate
        # nor from a partial run (-k, -m): its table is mostly "not run", not the plan's state
        interrupted = session.exitstatus == pytest.ExitCode.INTERRUPTED
        partial = bool(config.option.keyword or config.option.markexpr)
        quiet = self.state.dry_run or self.state.verify or interrupted or partial
        comment_on = None if quiet else _comment_issue(config)
        if partial and _comment_issue(config) is not None:
            self.state.published.extend(Published(loaded, ["success metrics not posted: -k/-m ran part of the plan"])
                                        for loaded in self.state.plans.values())
        for loaded in self.state.plans.values():
            report = self.state.report(loaded)
            if not (self.state.dry_run or self.state.verify) and getattr(config, "cache", None) is not None:
                Gate.remember(config.cache, loaded.key, report.statuses())
            suffix = f"-{loaded.key}" if len(self.state.plans) > 1 else ""
            summary = os.environ.get("GITHUB_STEP_SUMMARY")
            published = publish(report, comment_on=comment_on,
                                forge=self.state.forge(loaded) if comment_on is not None else None,
                                markdown=_suffixed(Path(markdown), suffix) if markdown else None,
                                as_json=_suffixed(Path(as_json), suffix) if as_json else None,
                                per_step=config.option.verbose > 0,
                                step_summary=Path(summary) if summary and not self.state.dry_run else None)
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
