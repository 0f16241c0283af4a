"""Shared fixtures: real git repositories in tmp_path (a bare origin, a checkout, worktrees)."""

from __future__ import annotations

import hashlib
import importlib
import os
import pkgutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest
import yaml

import pytest_waves

pytest_plugins = ["pytester"]

# pytest-waves loads most of itself only when a run names a plan. pytester's in-process runs remove
# the modules each run imported, while a package loaded earlier keeps its attributes: a
# `from pytest_waves.session import wave_items` would find the removed module, and two copies of a
# class would meet in one run. The package imports its modules by full name for that reason; loading
# it all here once as well keeps every in-process run on this process's one copy.
for _module in pkgutil.walk_packages(pytest_waves.__path__, "pytest_waves."):
    if not _module.name.endswith("__main__"):
        importlib.import_module(_module.name)


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """CI machines have no global git identity; tests must not depend on the user's config either."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)  # the inner runs' reports are not this job's
    monkeypatch.setenv("COLUMNS", "400")  # inner runs' tables on one line a row (the width tests set their own)
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

    def embed_token(self, token: str) -> str:
        """Make `origin` a URL with the token in it, as CI checkouts have, still served from origin.git
        (git's insteadOf rewrites it): any output that shows the remote URL would show the token."""
        url = f"https://x-access-token:{token}@example.invalid/acme/luminaguard.git"
        self.repo.git.config(f"url.{self.origin_path}.insteadOf", url)
        self.repo.git.remote("set-url", "origin", url)
        return url

    def snapshot(self, repo: git.Repo) -> dict[str, object]:
        """Every ref, HEAD and its branch's reflog tip, index, status and working file: what "left exactly
        as it was" compares."""
        work = Path(repo.working_dir)
        files = {str(p.relative_to(work)): p.read_bytes() for p in sorted(work.rglob("*"))
                 if p.is_file() and ".git" not in p.relative_to(work).parts}
        branch = repo.git.symbolic_ref("-q", "HEAD")
        return {"refs": repo.git.show_ref(), "head": repo.git.rev_parse("HEAD"),
                "symbolic": branch, "reflog": repo.git.reflog("show", "-1", "--format=%H %gs", branch, "--"),
                "index": repo.git.ls_files("-s"),
                "status": repo.git.status("--porcelain"), "files": files,
                "origin": git.Repo(self.origin_path).git.show_ref()}


@pytest.fixture
def world(tmp_path: Path) -> GitWorld:
    return GitWorld(tmp_path / "world")


# Fault accounting: fault tests attach `fault.*` properties to their reports; the terminal summary
# adds them up (on xdist's controller too), so a run of the suite prints the robustness figures.
PLANTED_TOKEN = "plantedtoken-7f3a9c7f3a9c7f3a9c7f3a9c"  # in none of GitHub's shapes: only its value masks it


class FaultCheck:
    def __init__(self, node: pytest.Item) -> None:
        self.node = node

    def unchanged(self, world: GitWorld, repo: git.Repo, before: dict[str, object]) -> None:
        """Assert the repository is as it was; count the comparison and the bytes of work lost."""
        after = world.snapshot(repo)
        differences = [key for key in before if before[key] != after.get(key)]
        old_files: dict[str, bytes] = before["files"]  # type: ignore[assignment]
        new_files: dict[str, bytes] = after["files"]  # type: ignore[assignment]
        lost = sum(len(data) for name, data in old_files.items() if new_files.get(name) != data)
        self.node.user_properties += [("fault.compared", 1), ("fault.differences", len(differences)),
                                      ("fault.lost_bytes", lost)]
        assert after == before, differences

    def files_unchanged(self, before: dict[str, bytes], *roots: Path) -> None:
        """Assert every file under the roots (.git included) is as in `before` (from `contents`)."""
        after = contents(*roots)
        differences = sorted(set(before) ^ set(after) | {name for name in before if before[name] != after.get(name)})
        lost = sum(len(data) for name, data in before.items() if after.get(name) != data)
        self.node.user_properties += [("fault.compared", 1), ("fault.differences", len(differences)),
                                      ("fault.lost_bytes", lost)]
        assert not differences, differences[:20]

    def commits_kept(self, origin: Path, branch: str, subjects: list[str]) -> None:
        """Assert each commit (by subject: a rebase may replay it) is on the origin's branch; count the lost."""
        repo = git.Repo(origin)
        there = {commit.summary for commit in repo.iter_commits(branch)} if branch in repo.heads else set()
        lost = [subject for subject in subjects if subject not in there]
        self.node.user_properties += [("fault.commits", len(subjects)), ("fault.lost_commits", len(lost))]
        assert not lost, lost

    def processes_gone(self, pids: list[int], gone: bool) -> None:
        self.node.user_properties += [("fault.processes", len(pids)), ("fault.outlived", 0 if gone else len(pids))]
        assert gone, "a step's process outlived its run"


def contents(*roots: Path) -> dict[str, bytes]:
    """Every file under the roots, .git included, by path: the whole state for a before/after comparison."""
    return {str(path): path.read_bytes() for root in roots if root.exists()
            for path in sorted(root.rglob("*")) if path.is_file() and not path.is_symlink()}


@pytest.fixture
def fault(request: pytest.FixtureRequest) -> FaultCheck:
    return FaultCheck(request.node)


class TokenSearch:
    """Every output of every run of a test and every file the runs wrote, searched for the token."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.outputs: list[str] = []

    def found_in(self, node: pytest.Item | None = None) -> list[str]:
        """Where the token shows; with `node`, the search is counted in the fault suite's figures."""
        files = [path for path in self.pytester.path.rglob("*") if path.is_file() and path.name != "plan.yaml"]
        texts = self.outputs + [path.read_bytes().decode(errors="replace") for path in files]
        found = sum(text.count(PLANTED_TOKEN) for text in texts)
        if node is not None:
            node.user_properties += [("fault.searched", len(texts)), ("fault.token_found", found)]
        return [f"output of run {n + 1}" for n, text in enumerate(self.outputs) if PLANTED_TOKEN in text] + [
            str(path) for path in files if PLANTED_TOKEN in path.read_bytes().decode(errors="replace")]


TOKEN_SEARCH = pytest.StashKey[TokenSearch]()


@pytest.fixture
def planted_token(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester,
                  world: GitWorld) -> TokenSearch:
    """A token in the environment and in the origin's URL. When the test's body is done, every output
    of every run and every file the runs wrote are searched for it, as part of the test's own verdict
    (see pytest_runtest_call below: a token found fails the test, not its teardown)."""
    monkeypatch.setenv("GITHUB_TOKEN", PLANTED_TOKEN)
    world.embed_token(PLANTED_TOKEN)
    search = TokenSearch(pytester)
    for name in ("runpytest", "runpytest_subprocess"):
        def run(*args: object, _run: Any = getattr(pytester, name), **kwargs: object) -> pytest.RunResult:
            result = _run(*args, **kwargs)
            search.outputs.append("\n".join(result.outlines + result.errlines))
            return result
        monkeypatch.setattr(pytester, name, run)
    request.node.stash[TOKEN_SEARCH] = search
    return search


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    search = item.stash.get(TOKEN_SEARCH, None)
    if search is not None:
        leaked = search.found_in(item)
        assert not leaked, f"the planted token shows in: {leaked}"
    return result


def pytest_terminal_summary(terminalreporter: Any) -> None:
    totals: dict[str, int] = {}
    cases = 0
    for reports in terminalreporter.stats.values():
        for report in reports:
            facts = [(k, v) for k, v in getattr(report, "user_properties", ()) if str(k).startswith("fault.")]
            if facts and getattr(report, "when", "") == "teardown":
                cases += 1
                for key, value in facts:
                    totals[key] = totals.get(key, 0) + int(value)
    if cases:
        terminalreporter.write_sep("-", "fault suite")
        terminalreporter.write_line(
            f"{cases} fault cases: {totals.get('fault.compared', 0)} repository states compared, "
            f"{totals.get('fault.differences', 0)} differences, {totals.get('fault.lost_bytes', 0)} bytes of work lost; "
            f"{totals.get('fault.commits', 0)} pushed commits of others checked, {totals.get('fault.lost_commits', 0)} lost; "
            f"{totals.get('fault.processes', 0)} step processes of killed runs, {totals.get('fault.outlived', 0)} left running; "
            f"planted token searched in {totals.get('fault.searched', 0)} outputs and files, "
            f"found {totals.get('fault.token_found', 0)} times")


def issue(steps: str | list[Any], number: int = 7, *, worktree: bool = True, **fields: Any) -> str:
    """One issue as YAML (#7 unless told), on feature/issue-N in the worktree wt/issue-N (none with
    worktree=False): built as data and dumped, so that no edit of its text can silently miss.
    `steps` is the YAML of its steps (flow or block style) or the steps themselves."""
    data: dict[str, Any] = {"number": number, "title": "Seven", "branch": f"feature/issue-{number}"}
    if worktree:
        data["worktree"] = f"wt/issue-{number}"
    data.update(fields)
    data["steps"] = yaml.safe_load(textwrap.dedent(steps)) if isinstance(steps, str) else steps
    assert isinstance(data["steps"], list) and data["steps"], f"steps must be a non-empty list: {steps!r}"
    return yaml.safe_dump([data], sort_keys=False, allow_unicode=True, width=1000)


def edit(text: str, old: str, new: str, count: int = -1) -> str:
    """`text.replace(old, new)` that fails when `old` is not there: a plan edit that silently does
    nothing would leave a test testing something else."""
    assert old in text, f"{old!r} is not in the text to edit"
    return text.replace(old, new, count)


def plan_text(world: GitWorld, issues: str, *, project: str = "demo", extra: str = "") -> str:
    """A plan whose repository is the world's checkout; `issues` is the YAML of wave 1's issues,
    or whole `waves:` YAML when it starts with 'waves:'."""
    body = textwrap.dedent(issues).strip("\n")
    if not body.startswith("waves:"):
        body = "waves:\n  - id: 1\n    name: One\n    issues:\n" + textwrap.indent(body, "      ")
    return f"project: {project}\nrepository:\n  path: {world.path}\n{extra}{body}\n"


# An in-process run marks pytest_waves for assertion rewriting again. If this outer pytest imported it
# without rewriting (the checkout was not on sys.path when pytest started, e.g. the `pytest` script or -P,
# so only setuptools' editable finder could see it; the root conftest.py puts the checkout on sys.path
# later), every inner run warns "Module already imported so cannot be rewritten; pytest_waves". That is
# about this process, never about the run under test: ignore that warning (-W takes a literal prefix;
# the separator before the name differs between pytest versions), so the inner runs' warning counts and
# output are the same wherever and however the suite is installed and started.
NOT_REWRITTEN = "ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning"


@pytest.fixture
def run_plan(pytester: pytest.Pytester, world: GitWorld):  # type: ignore[no-untyped-def]
    """Write plan.yaml into the pytester dir and run `pytest --waves plan.yaml ARGS` in-process."""

    def run(issues: str, *args: str, **kwargs: str) -> pytest.RunResult:
        pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues, **kwargs))
        return pytester.runpytest("-W", NOT_REWRITTEN, "--waves", "plan.yaml", *args)

    return run


def fingerprint(*roots: Path) -> dict[str, str]:
    """Every file (by content) and folder under the roots, .git included: "nothing written" means equal."""
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
            for root in roots if root.exists() for path in sorted(root.rglob("*")) if not path.is_symlink()}


def run_git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ}).stdout
