"""Read-only answers to "can these branches be merged?": changed files, trial merges, stale bases and
where each branch is checked out.

Nothing here checks out, stashes, fetches or moves a ref. Trial merges use `git merge-tree
--write-tree` (git >= 2.38), which writes only objects (trees, and the commits that chain a wave's
merges): unreachable objects that `git gc` removes in time, invisible to every branch and worktree.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_waves.engine.errors import StepFailed

if TYPE_CHECKING:  # GitPython loads with the first check that runs (see steps/git.py)
    import git

MERGE_TREE_MIN = (2, 38)


@dataclass
class TrialMerge:
    clean: bool
    conflicts: list[str] = field(default_factory=list)
    commit: str | None = None  # the merged result as an unreferenced commit, to chain the next merge on


def parse_version(text: str) -> tuple[int, ...]:
    """`git version 2.39.5` → (2, 39, 5); platform suffixes are ignored."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(part) for part in match.groups() if part is not None) if match else ()


def require_merge_tree(version_text: str) -> None:
    version = parse_version(version_text)
    if version < MERGE_TREE_MIN:
        raise StepFailed(f"trial merges need git >= {'.'.join(map(str, MERGE_TREE_MIN))} "
                         f"(`git merge-tree --write-tree`); this is {version_text.strip() or 'an unknown git'}")


def branch_ref(repo: git.Repo, remote: str, branch: str) -> str | None:
    """The branch as the plan's worktree sees it: the local branch, else the remote-tracking one."""
    import git

    for ref in (f"refs/heads/{branch}", f"refs/remotes/{remote}/{branch}"):
        try:
            repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
            return ref
        except git.GitCommandError:
            continue
    return None


def changed_files(repo: git.Repo, base: str, ref: str) -> set[str]:
    """Files the branch changed since it left `base` (against their merge base, as a PR shows them)."""
    merge_base = repo.git.merge_base(base, ref)
    return {name for name in repo.git.diff("--name-only", merge_base, ref).splitlines() if name}


def commits_behind(repo: git.Repo, ref: str, base: str) -> int:
    """How many commits of `base` the branch does not contain."""
    return int(repo.git.rev_list("--count", f"{ref}..{base}"))


# The unreferenced commits that chain an integration need an identity; CI machines often have none.
TRIAL_IDENTITY = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
                  for what, value in (("NAME", "pytest-waves"), ("EMAIL", "trial-merge@pytest-waves.invalid"))}


@contextlib.contextmanager
def scratch_objects(repo: git.Repo) -> Iterator[None]:
    """Git writes the trial merges' trees and commits to a throwaway object store that reads the
    repository's own as an alternate: the repository itself gains nothing, not even loose objects."""
    with tempfile.TemporaryDirectory(prefix="waves-objects-") as scratch:
        objects = Path(repo.common_dir).resolve() / "objects"
        with repo.git.custom_environment(GIT_OBJECT_DIRECTORY=scratch, GIT_ALTERNATE_OBJECT_DIRECTORIES=str(objects)):
            yield


def trial_merge(repo: git.Repo, ours: str, theirs: str, chain: bool = False) -> TrialMerge:
    """Merge in memory; with `chain`, also record the result as an unreferenced commit to merge onto."""
    status, out, err = repo.git.merge_tree("--write-tree", "--name-only", "--no-messages", ours, theirs,
                                           with_extended_output=True, with_exceptions=False)
    lines = [line for line in out.splitlines() if line]
    if status not in (0, 1) or not lines:
        raise StepFailed(f"git merge-tree {ours} {theirs} failed (exit {status})", [err.strip()])
    if status == 1:
        return TrialMerge(clean=False, conflicts=sorted(set(lines[1:])))
    if not chain:
        return TrialMerge(clean=True)
    commit = repo.git.commit_tree(lines[0], "-p", repo.git.rev_parse(ours), "-p", repo.git.rev_parse(theirs),
                                  "-m", f"pytest-waves trial merge of {theirs} into {ours}", env=TRIAL_IDENTITY)
    return TrialMerge(clean=True, commit=commit)


def checkouts(repo: git.Repo) -> dict[str, list[Path]]:
    """Branch → the worktrees that have it checked out (from `git worktree list --porcelain`)."""
    found: dict[str, list[Path]] = {}
    path: Path | None = None
    for line in repo.git.worktree("list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            path = Path(line.removeprefix("worktree ")).resolve()
        elif line.startswith("branch refs/heads/") and path is not None:
            found.setdefault(line.removeprefix("branch refs/heads/"), []).append(path)
    return found
