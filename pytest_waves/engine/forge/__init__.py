"""Forges: where pull requests and the tracking comment live.

The embedded local forge needs no network and no token; the GitHub forge talks to github.com or an
Enterprise server through PyGithub. Both answer the same questions (base.py), so a plan switches by
one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pytest_waves.engine.forge.base import (
    CHECK_MARKS,
    Forge,
    ForgeError,
    PullExists,
    PullRequest,
    PullSpec,
    combined_checks,
)

if TYPE_CHECKING:
    from pytest_waves.plan.model import ForgeSettings

__all__ = ["CHECK_MARKS", "Forge", "ForgeError", "PullExists", "PullRequest", "PullSpec", "combined_checks",
           "make_forge"]


def make_forge(settings: ForgeSettings, plan_path: Path, project: str) -> Forge:
    if settings.kind == "github":
        from pytest_waves.engine.forge.github import (
            GitHubForge,  # PyGithub loads only for plans that use it
        )

        return GitHubForge(settings)
    from pytest_waves.engine.forge.local import LocalForge

    return LocalForge(plan_path.parent / ".waves" / "forge" / f"{plan_path.stem}.json", project)
