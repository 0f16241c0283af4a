"""`python -m pytest_waves waves PLAN [--write]`: the waves the dependency graph implies.

Waves are topological levels of the issues' dependencies (their own `depends_on` and those their wave
inherits from a wave's `depends_on`): an issue sits one wave after its deepest dependency. Where two issues of one wave change the same files (their branches, as the repository has
them now), the later one is proposed for a later wave, so parallel work does not meet at merge time.
`--write` puts the derived waves into the plan with ruamel.yaml, keeping comments and key order.
It also shows the plan's stacks (an issue whose `integrate` restacks it onto another's branch) and
warns where two issues' branches share commits beyond the base while the plan says neither depends
on the other: one was cut from the other, and the plan does not know it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_waves.plan.graph import levels
from pytest_waves.plan.loader import LoadedPlan, load_plan
from pytest_waves.steps.base import StepKind

if TYPE_CHECKING:
    import git


@dataclass
class Derived:
    waves: list[list[int]]
    critical_path: list[int]
    moves: list[str] = field(default_factory=list)  # why an issue was put in a later wave
    ordered_after: dict[int, list[int]] = field(default_factory=dict)  # issue → issues it was moved after

    @property
    def width(self) -> int:
        return max(len(wave) for wave in self.waves)


def derive(loaded: LoadedPlan, changed: dict[int, set[str]] | None = None) -> Derived:
    """Levels of the plan's issue graph; with `changed` (issue → files its branch changes), issues of
    one level that share files are separated by an extra ordering edge, the later after the earlier."""
    order = loaded.order
    deps = {number: list(loaded.deps[number]) for number in order}  # own and inherited from wave depends_on
    moves: list[str] = []
    after: dict[int, list[int]] = {}
    changed = changed or {}
    while True:
        waves = levels(order, deps)
        clash = next(((a, b, shared) for wave in waves for i, a in enumerate(wave) for b in wave[i + 1:]
                      if (shared := changed.get(a, set()) & changed.get(b, set()))), None)
        if clash is None:
            break
        a, b, shared = clash
        deps[b].append(a)
        after.setdefault(b, []).append(a)
        moves.append(f"#{b} moved after #{a}: both change {', '.join(sorted(shared))}")
    return Derived(waves=waves, critical_path=_longest_chain(loaded, order, deps), moves=moves,
                   ordered_after=after)


def _longest_chain(loaded: LoadedPlan, order: list[int], deps: dict[int, list[int]]) -> list[int]:
    """The chain of issues with the most steps: the floor for wall time at any -n."""
    best: dict[int, tuple[int, list[int]]] = {}
    for number in order:
        steps = len(loaded.applicable[number])
        before = max((best[d] for d in deps[number]), default=(0, []), key=lambda found: found[0])
        best[number] = (before[0] + steps, [*before[1], number])
    return max(best.values(), key=lambda found: found[0])[1]


def branch_changes(loaded: LoadedPlan) -> dict[int, set[str]]:
    """Files each issue's branch changes, as its PR shows them: against the base, or a stacked issue's
    against the branch it is stacked on (siblings on one issue do not both change that issue's files).
    Issues without a branch yet are left out."""
    import pytest_waves.engine.gitops as gitops
    import pytest_waves.engine.trial_merge as trial_merge
    from pytest_waves.steps.git import stacked_on

    repo = gitops.open_repo(loaded.repo_root)
    repository = loaded.plan.repository
    base = f"refs/remotes/{repository.remote}/{repository.base}"
    refs = _branch_refs(loaded, repo)
    found: dict[int, set[str]] = {}
    for number, (_, ref) in refs.items():
        parent = stacked_on(loaded, number)
        since = refs[parent][1] if parent in refs else base
        found[number] = trial_merge.changed_files(repo, since, ref)
    return found


def _branch_refs(loaded: LoadedPlan, repo: git.Repo) -> dict[int, tuple[str, str]]:
    """issue → (its branch, the ref it is found at: local, else remote) for issues whose branch exists."""
    import pytest_waves.engine.trial_merge as trial_merge

    remote = loaded.plan.repository.remote
    return {issue.number: (issue.branch, ref) for _, issue in loaded.plan.issues()
            if (ref := trial_merge.branch_ref(repo, remote, issue.branch)) is not None}


def stacks(loaded: LoadedPlan) -> list[list[int]]:
    """Each stack of the plan, bottom first (#152 ⟶ #154 ⟶ #155): chains of `integrate` restacks."""
    from pytest_waves.steps.git import stacked_on

    parent = {n: p for n in loaded.order if (p := stacked_on(loaded, n)) is not None}
    chains = []
    for top in (n for n in loaded.order if n in parent and n not in parent.values()):
        chain = [top]
        while chain[-1] in parent and parent[chain[-1]] not in chain:
            chain.append(parent[chain[-1]])
        chains.append(chain[::-1])
    return chains


def unsaid_stacks(loaded: LoadedPlan) -> list[str]:
    """Pairs of issues whose branches hold the same change the base lacks, though neither depends on
    the other in the plan: one was cut from the other (its restack and its merge checks would say so
    late). Changes are compared by patch id, so a branch cut from an issue since rebased is found too."""
    import pytest_waves.engine.gitops as gitops

    repo = gitops.open_repo(loaded.repo_root)
    repository = loaded.plan.repository
    base = f"refs/remotes/{repository.remote}/{repository.base}"
    refs = _branch_refs(loaded, repo)
    changes = {n: set(gitops.patch_ids(repo, [f"{base}..{ref}"]).values()) for n, (_, ref) in refs.items()}
    closure = {n: _ancestors(loaded, n) for n in loaded.order}
    warnings = []
    numbers = [n for n in loaded.order if n in refs]
    for i, a in enumerate(numbers):
        for b in numbers[i + 1:]:
            if a in closure[b] or b in closure[a]:
                continue
            # siblings stacked on one issue both hold that issue's changes: not one cut from the other
            inherited = set().union(*(changes[c] for c in closure[a] & closure[b] if c in changes))
            if (changes[a] & changes[b]) - inherited:
                warnings.append(f"warning: #{a}'s {refs[a][0]} and #{b}'s {refs[b][0]} share commits "
                                f"{repository.base} does not have (one was cut from the other), but the plan "
                                f"says neither depends on the other")
    return warnings


def _ancestors(loaded: LoadedPlan, number: int) -> set[int]:
    seen: set[int] = set()
    todo = list(loaded.deps[number])
    while todo:
        dep = todo.pop()
        if dep not in seen:
            seen.add(dep)
            todo.extend(loaded.deps[dep])
    return seen


def describe(loaded: LoadedPlan, derived: Derived) -> list[str]:
    def names(numbers: list[int]) -> str:
        return ", ".join(f"#{n} {loaded.issue(n)[1].title}" for n in numbers)

    steps = sum(len(loaded.applicable[n]) for n in derived.critical_path)
    lines = [f"waves implied by the dependencies of {loaded.path.name}:"]
    lines += [f"  wave {index}: {names(wave)}" for index, wave in enumerate(derived.waves, 1)]
    lines += [f"critical path: {' → '.join(f'#{n}' for n in derived.critical_path)} ({steps} steps)",
              f"useful workers: -n {derived.width} (the widest wave)"]
    lines += [f"proposal: {move}" for move in derived.moves]
    lines += ["stack: " + " ⟶ ".join(f"#{n}" for n in chain) for chain in stacks(loaded)]
    declared = [[issue.number for issue in wave.issues] for wave in loaded.plan.waves]
    if declared == derived.waves:
        lines.append("the plan's waves already are these")
    else:
        lines.append("the plan declares: " + "; ".join(f"wave {wave.id} {wave.name}: "
                                                        + ", ".join(f"#{i.number}" for i in wave.issues)
                                                        for wave in loaded.plan.waves))
    return lines


def write(loaded: LoadedPlan, derived: Derived, kinds: Mapping[str, StepKind[Any]]) -> None:
    """Rewrite the plan's `waves:` as derived: existing waves keep their id, name, comments and other
    keys; issues move with their comments. A wave's `depends_on` goes: the issues it made wait get
    those dependencies in their own `depends_on`, so nothing waits less than before."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line the user wrote on one
    yaml.indent(mapping=2, sequence=4, offset=2)  # the layout of the plans in this project's docs
    document = yaml.load(loaded.path.read_text(encoding="utf-8"))
    old_waves = document["waves"]
    issue_maps = {entry["number"]: entry for wave in old_waves for entry in wave["issues"]}
    home = {entry["number"]: wave for wave in old_waves for entry in wave["issues"]}
    for number, entry in issue_maps.items():
        own = list(entry.get("depends_on", []))
        # Inherited wave dependencies, and the order a proposal chose: both become the issue's own.
        wanted = [*loaded.deps[number], *derived.ordered_after.get(number, [])]
        inherited = list(dict.fromkeys(dep for dep in wanted if dep not in own))
        if inherited:
            deps = CommentedSeq([*own, *inherited])
            deps.fa.set_flow_style()
            entry["depends_on"] = deps
    new_waves = CommentedSeq()
    used: set[int] = set()
    kept_ids = {str(home[numbers[0]]["id"]) for numbers in derived.waves}
    fresh = (n for n in range(1, 1_000_000) if str(n) not in kept_ids)
    for numbers in derived.waves:
        # A derived wave keeps the id, name and comments of the wave its first issue came from.
        wave = home[numbers[0]]
        if id(wave) in used:
            number = next(fresh)
            wave = CommentedMap([("id", number), ("name", f"Wave {number}")])
        used.add(id(wave))
        wave.pop("depends_on", None)
        wave["issues"] = CommentedSeq(issue_maps[number] for number in numbers)
        new_waves.append(wave)
    document["waves"] = new_waves
    handle, temporary = tempfile.mkstemp(dir=loaded.path.parent, prefix=f".{loaded.path.name}.")
    os.chmod(temporary, loaded.path.stat().st_mode & 0o7777)  # the plan keeps its permissions
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            yaml.dump(document, out)
        load_plan(Path(temporary), kinds, str(loaded.repo_root))  # the rewritten plan must load as it is
    except BaseException:
        os.unlink(temporary)
        raise
    os.replace(temporary, loaded.path)  # all or nothing: the plan is never half written
