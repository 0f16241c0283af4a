"""Plan file → a validated, resolved plan, or one PlanError naming file, line and field."""

from __future__ import annotations

import contextlib
import difflib
import gc
import posixpath
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from pytest_waves.plan.graph import find_cycle, stable_topological_order
from pytest_waves.plan.kinds import Kind, plan_model
from pytest_waves.plan.model import COMMON_STEP_KEYS, Issue, Plan, Wave
from pytest_waves.plan.source import (
    LineMap,
    Loc,
    SourceError,
    dotted,
    line_of,
    load_yaml,
)


class PlanError(Exception):
    """A plan that cannot be run. str() is the one message a user sees."""

    def __init__(self, path: Path, message: str, line: int | None = None, field: str | None = None) -> None:
        self.path, self.line, self.field, self.message = path, line, field, message
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """A step with its kind resolved, its options validated and its unique name chosen."""

    index: int
    name: str
    kind: Kind
    options: BaseModel
    line: int
    skip_reason: str | None  # set when `when:` excludes this machine


@dataclass
class LoadedPlan:
    path: Path
    plan: Plan
    repo_root: Path
    lines: LineMap
    steps: dict[int, list[PlannedStep]] = field(default_factory=dict)
    deps: dict[int, list[int]] = field(default_factory=dict)  # effective: issue + wave dependencies
    order: list[int] = field(default_factory=list)  # issues in run order

    @cached_property
    def key(self) -> str:
        return self.path.stem

    @property
    def state_dir(self) -> Path:
        """`.waves/` next to the plan: logs and the local forge's records."""
        return self.path.parent / ".waves"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs" / self.key

    @cached_property
    def applicable(self) -> dict[int, list[str]]:
        """Each issue's step names that run on this machine (`when:` did not exclude them)."""
        return {number: [step.name for step in steps if step.skip_reason is None]
                for number, steps in self.steps.items()}

    def step_names(self, issue: int) -> set[str]:
        """Every step name of the issue (an empty set for an issue the plan does not have)."""
        return self._step_names.get(issue, set())

    @cached_property
    def _step_names(self) -> dict[int, set[str]]:
        return {number: {step.name for step in steps} for number, steps in self.steps.items()}

    @cached_property
    def position(self) -> dict[int, int]:
        """Each issue's place in the run order (dependencies first)."""
        return {number: place for place, number in enumerate(self.order)}

    @cached_property
    def _issues(self) -> dict[int, tuple[Wave, Issue]]:
        return {issue.number: (wave, issue) for wave, issue in self.plan.issues()}

    def issue(self, number: int) -> tuple[Wave, Issue]:
        return self._issues[number]  # KeyError for a number the plan does not have

    def line(self, *loc: str | int) -> int:
        return line_of(self.lines, loc) or 1


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Building 100,000 long-lived objects makes the cyclic collector run over and over for nothing
    (they all stay alive); pausing it halves the time to load and collect a 10,000-step plan."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_plan(path: Path, kinds: Mapping[str, Kind], repo_override: str | None = None) -> LoadedPlan:
    with paused_gc():
        return _load_plan(path, kinds, repo_override)


def _load_plan(path: Path, kinds: Mapping[str, Kind], repo_override: str | None) -> LoadedPlan:
    try:
        data, lines = load_yaml(path)
    except SourceError as exc:
        raise PlanError(path, exc.message, exc.line) from None
    if not isinstance(data, dict):
        raise PlanError(path, "a plan is a mapping with `project`, `repository` and `waves`", 1)

    def fail(loc: Loc, message: str) -> PlanError:
        return PlanError(path, message, line_of(lines, loc), dotted(loc))

    try:
        plan = plan_model(kinds).model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = _first_error(errors)
        loc, message = _located(first, data, kinds)
        if first["type"] == "extra_forbidden":
            message += _did_you_mean(str(first["loc"][-1]), errors, plan_model(kinds))
        more = len({_choice(error["loc"]) for error in errors} - {_choice(first["loc"])})
        raise fail(loc, message + (f"; {more} more error(s) after this one" if more else "")) from None

    if repo_override is None:
        repo_root = (path.parent / plan.repository.path).resolve()
    else:
        repo_root = Path(repo_override).resolve()
    loaded = LoadedPlan(path=path.resolve(), plan=plan, repo_root=repo_root, lines=lines)
    _check_issues(loaded, kinds, fail)
    return loaded


def _check_issues(loaded: LoadedPlan, kinds: Mapping[str, Kind], fail: Any) -> None:
    plan = loaded.plan
    where: dict[int, Loc] = {}
    wave_of: dict[int, int] = {}
    worktrees: dict[str, int] = {}  # normalized worktree → the issue that has it
    wave_index: dict[str, int] = {}
    for i, wave in enumerate(plan.waves):
        wave_index.setdefault(str(wave.id), i)
    for w, wave in enumerate(plan.waves):
        if wave_index[str(wave.id)] != w:
            raise fail(("waves", w, "id"), f"wave id {wave.id!r} is used twice")
        for dep in wave.depends_on:
            if str(dep) not in wave_index:
                raise fail(("waves", w, "depends_on"), f"depends on wave {dep!r}, which the plan does not have")
            if wave_index[str(dep)] > w:
                raise fail(("waves", w, "depends_on"), f"wave {wave.id} depends on wave {dep}, which comes later; "
                           "waves run in the order they are written")
        for i, issue in enumerate(wave.issues):
            loc: Loc = ("waves", w, "issues", i)
            if issue.number in where:
                first = loaded.lines.get((*where[issue.number], "number"))
                raise fail((*loc, "number"), f"issue #{issue.number} is already defined (line {first})")
            where[issue.number], wave_of[issue.number] = loc, w
            _check_paths(issue, loc, fail, loaded.repo_root)
            _check_worktree_overlap(issue, loc, fail, worktrees)
            loaded.steps[issue.number] = _plan_steps(loaded, issue, loc, kinds, fail)

    for number, loc in where.items():
        _, issue = loaded.issue(number)
        for d, dep in enumerate(issue.depends_on):
            if dep not in where:
                raise fail((*loc, "depends_on", d), f"#{number} depends on #{dep}, which the plan does not have")
            if dep == number:
                raise fail((*loc, "depends_on", d), f"#{number} depends on itself")
            if wave_of[dep] > wave_of[number]:
                raise fail((*loc, "depends_on", d),
                           f"#{number} (wave {plan.waves[wave_of[number]].id}) depends on #{dep}, "
                           f"which is in the later wave {plan.waves[wave_of[dep]].id}")
        wave = plan.waves[wave_of[number]]
        inherited = [other.number for dep in wave.depends_on for other in plan.waves[wave_index[str(dep)]].issues]
        loaded.deps[number] = list(dict.fromkeys([*issue.depends_on, *inherited]))

    wave_deps = {i: [wave_index[str(d)] for d in wave.depends_on] for i, wave in enumerate(plan.waves)}
    wave_cycle = find_cycle(wave_deps)
    if wave_cycle:
        names = " → ".join(f"wave {plan.waves[i].id}" for i in wave_cycle)
        raise fail(("waves", wave_cycle[0], "depends_on"), f"dependency cycle: {names}")
    cycle = find_cycle(loaded.deps)
    if cycle:
        names = " → ".join(f"#{n}" for n in cycle)
        raise fail((*where[cycle[0]], "depends_on"), f"dependency cycle: {names}")
    loaded.order = stable_topological_order(list(where), loaded.deps)


def _plan_steps(loaded: LoadedPlan, issue: Issue, loc: Loc, kinds: Mapping[str, Kind],
                fail: Any) -> list[PlannedStep]:
    planned: list[PlannedStep] = []
    used: set[str] = set()
    for s, step in enumerate(issue.steps):
        step_loc: Loc = (*loc, "steps", s)
        kind, options = kinds[step.kind], step.options  # validated with the plan (plan/kinds.py)
        problem = kind.check_plan(options, loaded.plan)
        if problem:
            raise fail((*step_loc, step.kind), problem)
        for option in kind.path_options:
            value = getattr(options, option, None)
            if isinstance(value, str) and _escapes(posixpath.join(issue.worktree or ".", value)):
                raise fail((*step_loc, step.kind, option),
                           f"path {value!r} leaves the repository; paths are relative to the issue's worktree")
        name = step.name or step.kind
        if step.name is None:
            count = 2
            while name in used:
                name, count = f"{step.kind}-{count}", count + 1
        elif name in used:
            raise fail((*step_loc, "name"), f"step name {name!r} is used twice in issue #{issue.number}")
        used.add(name)
        planned.append(PlannedStep(index=s, name=name, kind=kind, options=options,
                                   line=line_of(loaded.lines, step_loc) or 1,
                                   skip_reason=step.when.skip_reason() if step.when else None))
    return planned


def _check_paths(issue: Issue, loc: Loc, fail: Any, repo_root: Path) -> None:
    if issue.worktree is not None and (_escapes(issue.worktree) or posixpath.normpath(issue.worktree) == "."):
        raise fail((*loc, "worktree"), f"worktree {issue.worktree!r} must be a folder inside the repository")
    if issue.worktree is not None and _leaves_by_symlink(repo_root, issue.worktree):
        raise fail((*loc, "worktree"), f"worktree {issue.worktree!r} leaves the repository through a symlink")
    for d, deliverable in enumerate(issue.deliverables):
        if _escapes(posixpath.join(issue.worktree or ".", deliverable)):
            raise fail((*loc, "deliverables", d), f"deliverable {deliverable!r} leaves the repository")


def _leaves_by_symlink(repo_root: Path, relative: str) -> bool:
    """True when the part of the path that exists already resolves outside the repository."""
    path = repo_root / relative
    while not path.exists() and not path.is_symlink() and path != repo_root:
        path = path.parent
    root = repo_root.resolve()
    return not path.resolve().is_relative_to(root)


def _check_worktree_overlap(issue: Issue, loc: Loc, fail: Any, worktrees: dict[str, int]) -> None:
    """Two issues in one worktree, or one worktree inside another, would check out over each other."""
    if issue.worktree is None:
        return
    mine = posixpath.normpath(issue.worktree)
    for other, number in worktrees.items():
        if other == mine:
            raise fail((*loc, "worktree"), f"worktree {issue.worktree!r} is already #{number}'s")
        if mine.startswith(other + "/") or other.startswith(mine + "/"):
            raise fail((*loc, "worktree"), f"worktree {issue.worktree!r} and #{number}'s {other!r} are nested: "
                       "one would be checked out inside the other")
    worktrees[mine] = issue.number


def _escapes(relative: str) -> bool:
    """True for an absolute path or one whose `..` climbs above its start (checked lexically)."""
    if relative.startswith(("/", "\\")) or (len(relative) > 1 and relative[1] == ":"):
        return True
    normal = posixpath.normpath(relative.replace("\\", "/"))
    return normal == ".." or normal.startswith("../")


def _data_loc(loc: tuple[int | str, ...], data: Any) -> Loc:
    """Map a pydantic error location onto the YAML data (dropping union/validator tags)."""
    result: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            result.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            result.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part not in ("kind", "options"):
            if part.startswith(("function-", "int", "str", "list", "dict")) or "[" in part:
                continue
            result.append(part)  # a missing or unknown key: point at its parent line, name the key
            node = None
    return tuple(result)


def _is_label(part: int | str) -> bool:
    """A part of a pydantic location that names a union's branch or a validator, not a key."""
    return isinstance(part, str) and (part[:1].isupper() or "[" in part or part.startswith("function-")
                                      or part in ("none", "str", "int", "float", "bool", "list", "dict"))


def _choice(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """The location up to its first union branch: errors of a union's other branches share it."""
    for n, part in enumerate(loc):
        if _is_label(part):
            return loc[:n]
    return loc


def _located(error: Any, data: Any, kinds: Mapping[str, Kind]) -> tuple[Loc, str]:
    """Where in the YAML an error is, and what to say: a step's errors are told in the step's terms
    (its kind, its options as written), not in the shape of the union that validated it."""
    loc = tuple(error["loc"])
    got = "" if error["type"] in ("missing", "extra_forbidden") else f" (got {_short(error.get('input'))})"
    at = next((n + 2 for n in range(len(loc) - 1) if loc[n] == "steps" and isinstance(loc[n + 1], int)), None)
    if at is None:
        return _data_loc(loc, data), _message(error) + got
    step_loc, step = _data_loc(loc[:at], data), _walk(data, loc[:at])
    if error["type"] == "union_tag_invalid":
        tag = error["ctx"]["tag"]
        return (*step_loc, tag), f"unknown step kind {tag!r} (known kinds: {', '.join(sorted(kinds))})"
    if error["type"] == "union_tag_not_found":
        found = ", ".join(map(str, (k for k in step if k not in COMMON_STEP_KEYS))) if isinstance(step, dict) else ""
        return step_loc, f"a step needs exactly one step kind key besides name/when (found: {found or 'none'})"
    tag, *inside = [part for part in loc[at:] if not _is_label(part)]
    if inside and inside[0] == tag and tag in kinds:  # the kind's own field: its options
        value = step.get(tag) if isinstance(step, dict) else None
        raw = kinds[str(tag)].parse_options({} if value is None else value)
        return (*step_loc, tag, *_data_loc(tuple(inside[1:]), raw)), _message(error) + got
    return (*step_loc, *_data_loc(tuple(inside), step)), _message(error) + got


def _first_error(errors: list[Any]) -> Any:
    """The error to tell: pydantic's first, except that a misspelt key (`wavez`) is told rather than
    the field it leaves missing (`waves`)."""
    first = errors[0]
    if first["type"] == "missing":
        parent = first["loc"][:-1]
        extra = [error for error in errors if error["type"] == "extra_forbidden" and error["loc"][:-1] == parent]
        if extra:
            return extra[0]
    return first


def _did_you_mean(key: str, errors: list[Any], model: type[BaseModel]) -> str:
    """` (did you mean `waves`?)`: the closest of the keys left missing beside it, else of every key
    the plan knows; nothing when none is close."""
    missing = [str(error["loc"][-1]) for error in errors if error["type"] == "missing"]
    close = difflib.get_close_matches(key, missing, n=1) or difflib.get_close_matches(key, sorted(_keys(model)), n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _keys(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Every field name of the model and of the models inside it."""
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    found = set(model.model_fields)
    for info in model.model_fields.values():
        for inner in _models_in(info.annotation):
            found |= _keys(inner, seen)
    return found


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def _walk(data: Any, loc: tuple[int | str, ...]) -> Any:
    for part in loc:
        data = data[part]
    return data


def _message(error: Any) -> str:
    """pydantic's message, without its "Value error, " prefix on our own validators' words."""
    return str(_MESSAGES.get(error["type"], error["msg"])).removeprefix("Value error, ")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown key",
}
