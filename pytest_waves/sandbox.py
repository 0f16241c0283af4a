"""A throwaway repository for plans that declare `repository.sandbox`: a bare origin next to a
checkout, `main` from a seed folder, and one branch per overlay folder, pushed to the origin.

It lets the demo run every offline step kind on a fresh machine with nothing but Python and git.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from .loader import LoadedPlan

if TYPE_CHECKING:
    import git

IDENTITY = {"name": "pytest-waves sandbox", "email": "sandbox@pytest-waves.invalid"}


def ensure(loaded: LoadedPlan, fresh: bool) -> bool:
    """Build the sandbox when it is missing (or `fresh`); True when it was (re)built."""
    sandbox = loaded.plan.repository.sandbox
    if sandbox is None:
        return False
    checkout = loaded.repo_root
    origin = checkout.parent / f"{checkout.name}-origin.git"
    if checkout.exists() and origin.exists() and not fresh:
        return False
    for stale in (checkout, origin, loaded.state_dir / "forge" / f"{loaded.key}.json"):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    import git  # only the demo's sandbox needs GitPython at configure time

    base, remote = loaded.plan.repository.base, loaded.plan.repository.remote
    git.Repo.init(origin, bare=True, initial_branch=base)
    repo = git.Repo.init(checkout, initial_branch=base)
    with repo.config_writer() as config:
        config.set_value("user", "name", IDENTITY["name"])
        config.set_value("user", "email", IDENTITY["email"])
    repo.create_remote(remote, str(origin))
    _commit_tree(repo, loaded.path.parent / sandbox.seed, "Initial commit")
    repo.git.push(remote, base)
    for branch, overlay in sandbox.branches.items():
        repo.git.checkout("-q", "-b", branch, base)
        _commit_tree(repo, loaded.path.parent / overlay, f"Work on {branch}")
        repo.git.push(remote, branch)
        repo.git.checkout("-q", base)
        repo.git.branch("-D", branch)  # the plan's worktree step recreates it from the origin
    repo.git.fetch(remote)
    return True


def _commit_tree(repo: git.Repo, source: Path, message: str) -> None:
    if not source.is_dir():
        raise FileNotFoundError(f"sandbox seed folder {source} does not exist")
    shutil.copytree(source, repo.working_dir, dirs_exist_ok=True)
    repo.git.add("--all")
    repo.git.commit("-q", "--allow-empty", "-m", message)
