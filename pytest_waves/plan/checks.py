"""Which wave-level checks a plan with `merges:` has: pure plan logic, shared by the items that run
them (session/wave_items.py), the xdist scheduler and the generated CI workflow."""

from __future__ import annotations

from pytest_waves.plan.graph import concurrent_pairs
from pytest_waves.plan.loader import LoadedPlan
from pytest_waves.plan.model import Wave

KIND = "merges"  # the marker and kind of every wave check

Checks = list[tuple[str, list[int]]]  # (check name, the issues it judges)


def check_dependency_name(plan_key: str, wave: Wave, check: str) -> str:
    return f"{plan_key}::{wave.key}::{check}"


def checks_for(loaded: LoadedPlan, wave: Wave) -> tuple[Checks, Checks]:
    """(checks before the wave's issues, checks after them) as (name, issues judged)."""
    if loaded.plan.merges is None:
        return [], []
    own = [number for number in loaded.order if number in {issue.number for issue in wave.issues}]
    wave_of = {issue.number: w for w, issue in loaded.plan.issues()}
    position = loaded.position
    after = [(f"merge-{a}-{b}", [a, b]) for a, b in concurrent_pairs(loaded.order, loaded.deps)
             if wave_of[max(a, b, key=position.__getitem__)] is wave]
    if loaded.plan.merges.max_behind is not None:
        after.append(("fresh-base", own))
    after.append(("integration", own))
    return [("checkouts", own)], after
