"""Shared fixtures: real git repositories in tmp_path (a bare origin, a checkout, worktrees)."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import git
import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """CI machines have no global git identity; tests must not depend on the user's config either."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test Developer")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "dev@example.invalid")


class GitWorld:
    """A bare `origin.git`, a checkout `repo/` of it with one commit on main, and helpers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.origin_path = root / "origin.git"
        git.Repo.init(self.origin_path, bare=True, initial_branch="main")
        self.path = root / "repo"
        self.repo = git.Repo.init(self.path, initial_branch="main")
        self.repo.create_remote("origin", str(self.origin_path))
        self.commit(self.repo, {"README.md": "hello\n"}, "initial")
        self.repo.git.push("origin", "main")

    @staticmethod
    def commit(repo: git.Repo, files: dict[str, str], message: str) -> str:
        for name, text in files.items():
            target = Path(repo.working_dir) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text))
        repo.git.add("--all")
        repo.git.commit("-q", "-m", message)
        return repo.head.commit.hexsha

    def push_branch(self, branch: str, files: dict[str, str], base: str = "main") -> str:
        """A branch that exists only on the origin (as a teammate's pushed work)."""
        self.repo.git.checkout("-q", "-b", branch, base)
        sha = self.commit(self.repo, files, f"work on {branch}")
        self.repo.git.push("origin", branch)
        self.repo.git.checkout("-q", "main")
        self.repo.git.branch("-D", branch)
        return sha

    def worktree(self, rel: str, branch: str, files: dict[str, str] | None = None) -> git.Repo:
        """A worktree on a new branch from origin/main, optionally with a commit."""
        self.repo.git.fetch("origin")
        self.repo.git.worktree("add", "-q", "--no-track", "-b", branch, str(self.path / rel), "origin/main")
        tree = git.Repo(self.path / rel)
        if files:
            self.commit(tree, files, f"work on {branch}")
        return tree

    def advance_main(self, files: dict[str, str], message: str = "main moves on") -> str:
        """Someone else pushes to origin/main (from a separate clone)."""
        other = self.root / "other"
        if not other.exists():
            git.Repo.clone_from(str(self.origin_path), other)
        clone = git.Repo(other)
        clone.git.pull("-q", "origin", "main")
        sha = self.commit(clone, files, message)
        clone.git.push("origin", "main")
        return sha

    def snapshot(self, repo: git.Repo) -> dict[str, object]:
        """Every ref, HEAD, index, status and working file: what "left exactly as it was" compares."""
        work = Path(repo.working_dir)
        files = {str(p.relative_to(work)): p.read_bytes() for p in sorted(work.rglob("*"))
                 if p.is_file() and ".git" not in p.relative_to(work).parts}
        return {"refs": repo.git.show_ref(), "head": repo.git.rev_parse("HEAD"),
                "symbolic": repo.git.symbolic_ref("-q", "HEAD"), "index": repo.git.ls_files("-s"),
                "status": repo.git.status("--porcelain"), "files": files,
                "origin": git.Repo(self.origin_path).git.show_ref()}


@pytest.fixture
def world(tmp_path: Path) -> GitWorld:
    return GitWorld(tmp_path / "world")


ISSUE_7 = """
- number: 7
  title: Seven
  branch: feature/issue-7
  worktree: wt/issue-7
  steps: {steps}
"""


def issue(steps: str, number: int = 7) -> str:
    """One issue (#7 unless told) on feature/issue-7 in the worktree wt/issue-7, with these steps (YAML)."""
    return ISSUE_7.replace("{steps}", steps).replace("7", str(number))


def plan_text(world: GitWorld, issues: str, *, project: str = "demo", extra: str = "") -> str:
    """A plan whose repository is the world's checkout; `issues` is the YAML of wave 1's issues,
    or whole `waves:` YAML when it starts with 'waves:'."""
    body = textwrap.dedent(issues).strip("\n")
    if not body.startswith("waves:"):
        body = "waves:\n  - id: 1\n    name: One\n    issues:\n" + textwrap.indent(body, "      ")
    return f"project: {project}\nrepository:\n  path: {world.path}\n{extra}{body}\n"


@pytest.fixture
def run_plan(pytester: pytest.Pytester, world: GitWorld):  # type: ignore[no-untyped-def]
    """Write plan.yaml into the pytester dir and run `pytest --waves plan.yaml ARGS` in-process."""

    def run(issues: str, *args: str, **kwargs: str) -> pytest.RunResult:
        pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues, **kwargs))
        return pytester.runpytest("--waves", "plan.yaml", *args)

    return run


def run_git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ}).stdout
