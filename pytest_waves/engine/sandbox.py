"""A throwaway repository for plans that declare `repository.sandbox`: a bare origin next to a
checkout, `main` from a seed folder, and one branch per overlay folder, pushed to the origin.

It lets the demo run every offline step kind on a fresh machine with nothing but Python and git.
Throwaway is not worthless: people try things in it. So the sandbox is rebuilt only from what it
made itself, never over work (uncommitted or untracked files, stashes, commits not on the origin),
and `--waves-fresh-sandbox` moves the old one aside instead of deleting it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_waves.plan.loader import LoadedPlan

if TYPE_CHECKING:
    import git

IDENTITY = {"name": "pytest-waves sandbox", "email": "sandbox@pytest-waves.invalid"}
BUILT = "pytest-waves-sandbox"  # in the git folder of a checkout or origin we built: the commits we made
BUILDING = "pytest-waves-sandbox.building"  # there while we build: a half-built sandbox holds no one's work
SHOWN_LIMIT = 10  # work lines named in an error


class SandboxError(Exception):
    """The sandbox cannot be (re)built without losing something. str() is the one message shown."""


def ensure(loaded: LoadedPlan, fresh: bool) -> str | None:
    """Build the sandbox when it is missing (or `fresh`); what was done, for the terminal, or None."""
    sandbox = loaded.plan.repository.sandbox
    if sandbox is None:
        return None
    checkout = loaded.repo_root
    origin = checkout.parent / f"{checkout.name}-origin.git"
    forge_file = loaded.state_dir / "forge" / f"{loaded.key}.json"
    if _marked(checkout, BUILDING) or _marked(origin, BUILDING):  # a run was stopped while building it
        for half in (checkout, origin):
            if half.exists():
                shutil.rmtree(half)
        _build(loaded, checkout, origin)
        return "sandbox: an earlier run stopped while building the sandbox; built it again"
    if checkout.exists() and origin.exists() and not fresh:
        return None
    if fresh and (checkout.exists() or origin.exists()):
        aside = _move_aside(loaded, checkout, origin, forge_file)
        note = f"sandbox: the old sandbox was moved to {aside} (nothing deleted); building a new one"
    elif origin.exists():  # the checkout alone is gone: clone it again, the origin keeps every push
        _refuse_unless_ours(origin)
        _clone(loaded, origin, checkout)
        return f"sandbox: {checkout} was missing; cloned it again from {origin}"
    elif checkout.exists():  # the origin is gone: the checkout holds the only copy of everything in it
        _refuse_unless_ours(checkout)
        work = work_in(checkout)
        if work:
            raise SandboxError("\n  ".join([
                f"the sandbox's origin {origin} is missing, and rebuilding the sandbox would delete work in "
                f"{checkout}:", *work[:SHOWN_LIMIT], *([f"… and {len(work) - SHOWN_LIMIT} more"]
                                                       if len(work) > SHOWN_LIMIT else []),
                "nothing was touched; --waves-fresh-sandbox moves the old sandbox aside (deleting nothing) "
                "and builds a new one"]))
        shutil.rmtree(checkout)
        forge_file.unlink(missing_ok=True)
        note = f"sandbox: the origin {origin} was missing; rebuilt the sandbox (its checkout held no work)"
    else:
        forge_file.unlink(missing_ok=True)
        note = None
    _build(loaded, checkout, origin)
    return note


def work_in(checkout: Path) -> list[str]:
    """What deleting `checkout` would lose, one line each: files in it or any of its worktrees that
    git does not hold (changed, untracked or ignored), stashes, and every commit on any ref or
    worktree HEAD that the sandbox did not make itself (with the origin gone, pushed is not safe)."""
    work: list[str] = []
    trees = _worktrees(checkout)
    for tree in trees:
        if not tree.exists():
            continue
        where = "the checkout" if tree == checkout else str(tree.relative_to(checkout)
                                                            if tree.is_relative_to(checkout) else tree)
        status = _git(tree, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all", "--ignored")
        for line in status.splitlines():
            if line.strip() and (tree / line[3:].rstrip("/")).resolve() not in trees:  # a worktree inside
                work.append(f"{'ignored' if line.startswith('!!') else 'uncommitted'} in {where}: {line.strip()}")
    stashes = [line for line in _git(checkout, "stash", "list").splitlines() if line]
    work += [f"stash: {line}" for line in stashes]
    made = _built_commits(checkout)
    ours = _git(checkout, "rev-list", "--exclude=refs/stash", "--all", *_worktree_heads(checkout), "--not",
                *made).split()
    if ours:
        shown = _git(checkout, "log", "--no-walk=unsorted", "--format=%h %s (%an)", "--abbrev=12", *ours[:50])
        work += [f"commit: {line}" for line in shown.splitlines() if line]
        work += [f"… and {len(ours) - 50} more commits"] if len(ours) > 50 else []
    return work


def _git_dir(repo: Path) -> Path | None:
    for candidate in (repo / ".git", repo):  # a checkout, or a bare origin
        if (candidate / "HEAD").is_file():
            return candidate
    return None


def _marked(repo: Path, name: str) -> bool:
    folder = _git_dir(repo) if repo.exists() else None
    return folder is not None and (folder / name).exists()


def _built_commits(repo: Path) -> list[str]:
    folder = _git_dir(repo)
    record = folder / BUILT if folder else None
    return record.read_text(encoding="utf-8").split() if record and record.is_file() else []


def _worktrees(checkout: Path) -> list[Path]:
    listing = _git(checkout, "worktree", "list", "--porcelain")
    return [Path(line.removeprefix("worktree ")).resolve() for line in listing.splitlines()
            if line.startswith("worktree ")]


def _worktree_heads(checkout: Path) -> list[str]:
    """Every worktree's HEAD: a detached HEAD's commits are on no branch."""
    listing = _git(checkout, "worktree", "list", "--porcelain")
    return [line.removeprefix("HEAD ") for line in listing.splitlines() if line.startswith("HEAD ")]


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SandboxError(f"cannot tell what {cwd} holds (git {args[0]}: {done.stderr.strip()}); nothing was touched")
    return done.stdout


def _refuse_unless_ours(path: Path) -> None:
    identity = subprocess.run(["git", "config", "--get", "user.email"], cwd=path, capture_output=True, text=True,
                              check=False)  # sandboxes built before the record have only the identity
    if not _marked(path, BUILT) and identity.stdout.strip() != IDENTITY["email"]:
        raise SandboxError(f"{path} is not a sandbox pytest-waves built, and its other half is missing; "
                           "nothing was touched (move it away, or point repository.path elsewhere)")


def _move_aside(loaded: LoadedPlan, checkout: Path, origin: Path, forge_file: Path) -> Path:
    """Move the sandbox (checkout with its worktrees, origin, local forge records) into one folder,
    its links repaired so that the old checkout still works and pushes to its own old origin."""
    aside = loaded.state_dir / "old-sandboxes" / f"{loaded.key}-{time.strftime('%Y%m%d-%H%M%S')}"
    suffix = 1
    while aside.exists():
        suffix += 1
        aside = aside.with_name(f"{aside.name.split('~')[0]}~{suffix}")
    aside.mkdir(parents=True)
    trees = _worktrees(checkout) if checkout.exists() else []
    for part in (checkout, origin, forge_file):
        if part.exists():
            shutil.move(str(part), aside / part.name)
    moved, moved_origin = aside / checkout.name, aside / origin.name
    if moved.exists():
        inside = [str(moved / tree.relative_to(checkout)) for tree in trees
                  if tree != checkout and tree.is_relative_to(checkout)]
        subprocess.run(["git", "worktree", "repair", *inside], cwd=moved, capture_output=True, check=False)
        if moved_origin.exists():
            remote = loaded.plan.repository.remote
            subprocess.run(["git", "remote", "set-url", remote, str(moved_origin)], cwd=moved,
                           capture_output=True, check=False)
    return aside


def _clone(loaded: LoadedPlan, origin: Path, checkout: Path) -> None:
    import git

    with git.Repo.clone_from(str(origin), checkout, origin=loaded.plan.repository.remote) as repo:
        _configure(repo)
        (Path(repo.git_dir) / BUILT).write_text("\n".join(_built_commits(origin)) + "\n", encoding="utf-8")


def _configure(repo: git.Repo) -> None:
    with repo.config_writer() as config:
        config.set_value("user", "name", IDENTITY["name"])
        config.set_value("user", "email", IDENTITY["email"])


def _build(loaded: LoadedPlan, checkout: Path, origin: Path) -> None:
    """Origin and checkout, each marked as being built until the end, then with the list of the
    commits made here (what a later rebuild may delete without asking)."""
    import git  # only the demo's sandbox needs GitPython at configure time

    sandbox = loaded.plan.repository.sandbox
    assert sandbox is not None
    base, remote = loaded.plan.repository.base, loaded.plan.repository.remote
    # closed when done: a run's long-lived objects are frozen (session/gcfreeze.py), its garbage must not be
    with git.Repo.init(origin, bare=True, initial_branch=base) as bare:
        (Path(bare.git_dir) / BUILDING).touch()
        with git.Repo.init(checkout, initial_branch=base) as repo:
            (Path(repo.git_dir) / BUILDING).touch()
            _configure(repo)
            repo.create_remote(remote, str(origin))
            made = [_commit_tree(repo, loaded.path.parent / sandbox.seed, "Initial commit")]
            repo.git.push(remote, base)
            for branch, overlay in sandbox.branches.items():
                repo.git.checkout("-q", "-b", branch, base)
                made.append(_commit_tree(repo, loaded.path.parent / overlay, f"Work on {branch}"))
                repo.git.push(remote, branch)
                repo.git.checkout("-q", base)
                repo.git.branch("-D", branch)  # the plan's worktree step recreates it from the origin
            repo.git.fetch(remote)
            for folder in (Path(bare.git_dir), Path(repo.git_dir)):
                (folder / BUILT).write_text("\n".join(made) + "\n", encoding="utf-8")
                (folder / BUILDING).unlink()


def _commit_tree(repo: git.Repo, source: Path, message: str) -> str:
    if not source.is_dir():
        raise FileNotFoundError(f"sandbox seed folder {source} does not exist")
    shutil.copytree(source, repo.working_dir, dirs_exist_ok=True)
    repo.git.add("--all")
    repo.git.commit("-q", "--allow-empty", "-m", message)
    return repo.head.commit.hexsha
