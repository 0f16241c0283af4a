"""Git through GitPython, with the harness's promises: refuse dirty worktrees, never stash, abort
what fails so branch, index and files are as they were, and serialize what worktrees share."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import git
from filelock import FileLock

from pytest_waves.engine.errors import StepFailed

GitCommandError = git.GitCommandError

LOCK_TIMEOUT_SECONDS = 300


def open_repo(path: Path) -> git.Repo:
    if not path.exists():
        raise StepFailed(f"{path} does not exist", ["run the issue's `worktree` step first, or fix the path"])
    try:
        return git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise StepFailed(f"{path} is not a git repository or worktree") from None


def common_dir(repo: git.Repo) -> Path:
    return Path(repo.common_dir).resolve()


@contextlib.contextmanager
def repository_lock(repo: git.Repo) -> Iterator[None]:
    """Worktrees share one object store and ref database: one writer at a time per repository."""
    with FileLock(str(common_dir(repo) / "pytest-waves.lock"), timeout=LOCK_TIMEOUT_SECONDS):
        yield


def git_error(exc: git.GitCommandError) -> str:
    text = (exc.stderr or exc.stdout or "").strip()
    for prefix in ("stderr: '", "stdout: '"):
        text = text.removeprefix(prefix)
    return text.rstrip("'").strip()


def current_branch(repo: git.Repo) -> str | None:
    try:
        return repo.active_branch.name
    except TypeError:  # detached HEAD
        return None


def operation_in_progress(repo: git.Repo) -> str | None:
    git_dir = Path(repo.git_dir)
    for marker, name in (("rebase-merge", "rebase"), ("rebase-apply", "rebase"), ("MERGE_HEAD", "merge"),
                         ("CHERRY_PICK_HEAD", "cherry-pick"), ("REVERT_HEAD", "revert")):
        if (git_dir / marker).exists():
            return name
    return None


def require_clean(repo: git.Repo, action: str) -> None:
    """Refuse to start: a dirty worktree would have to be stashed, and refs/stash is shared."""
    busy = operation_in_progress(repo)
    if busy:
        raise StepFailed(f"a {busy} is already in progress in {repo.working_dir}; finish or abort it first")
    dirty = [line for line in repo.git.status("--porcelain", "--untracked-files=no").splitlines() if line]
    if dirty:
        raise StepFailed(f"refusing to {action}: the worktree has uncommitted changes (nothing was touched)",
                         [line.strip() for line in dirty[:20]])


def dirty_lines(repo: git.Repo) -> list[str]:
    """`git status --porcelain` lines (untracked files count), without refreshing the index."""
    out = str(repo.git.execute(["git", "--no-optional-locks", "status", "--porcelain"]))
    return [line.strip() for line in out.splitlines() if line.strip()]


def fetch(repo: git.Repo, remote: str) -> None:
    try:
        with repository_lock(repo):
            repo.git.fetch(remote, "--prune")
    except git.GitCommandError as exc:
        raise StepFailed(f"git fetch {remote} failed", [git_error(exc)]) from None


def resolve(repo: git.Repo, ref: str) -> str | None:
    try:
        return repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
    except git.GitCommandError:
        return None


def is_ancestor(repo: git.Repo, ancestor: str, descendant: str) -> bool:
    try:
        repo.git.merge_base("--is-ancestor", ancestor, descendant)
        return True
    except git.GitCommandError:
        return False


def remote_head(repo: git.Repo, remote: str, branch: str) -> str | None:
    """The branch's commit on the remote now (not the possibly stale remote-tracking ref)."""
    try:
        out = str(repo.git.ls_remote(remote, f"refs/heads/{branch}"))
    except git.GitCommandError as exc:
        raise StepFailed(f"cannot reach remote {remote!r}", [git_error(exc)]) from None
    return out.split()[0] if out.strip() else None


def never_held(repo: git.Repo, branch: str, tip: str, *, checked_out: bool = True) -> list[str]:
    """Commits reachable from `tip` that the local `branch` never held (full shas, newest first):
    not reachable from any entry of its reflog, nor from HEAD when `branch` is the one checked out
    here. This is the test git's `--force-if-includes` makes before a forced push; [] means the
    branch once held all of `tip`."""
    if resolve(repo, tip) is None:
        raise StepFailed(f"{tip[:12]} is not in this repository: cannot tell whose commits it holds")
    held = [line for line in str(repo.git.log("-g", "--format=%H", f"refs/heads/{branch}", "--")).splitlines()
            if line] if resolve(repo, f"refs/heads/{branch}") else []
    if checked_out:
        held.append(repo.head.commit.hexsha)
    with tempfile.TemporaryFile() as wanted:  # a reflog can be long: on stdin, not the command line
        wanted.write("".join(f"^{sha}\n" for sha in held).encode() + f"{tip}\n".encode())
        wanted.seek(0)
        out = repo.git.execute(["git", "rev-list", "--ignore-missing", "--stdin"], istream=wanted)
    return [line for line in str(out).splitlines() if line]


def not_in_head(repo: git.Repo, tip: str) -> list[str]:
    """Commits of `tip` that HEAD does not contain (full shas, newest first)."""
    return [line for line in str(repo.git.rev_list(tip, "--not", "HEAD")).splitlines() if line]


def describe(repo: git.Repo, shas: list[str]) -> list[str]:
    """`short-sha subject (author, when)` for each commit, in the order given."""
    if not shas:
        return []
    out = str(repo.git.log("--no-walk=unsorted", "--no-decorate", "--abbrev=12",
                           "--format=%h %s (%an, %ad)", "--date=relative", *shas))
    return [line for line in out.splitlines() if line]


def fetch_objects(repo: git.Repo, remote: str, branch: str) -> None:
    """Bring the remote branch's commits here without moving any ref (`--refmap=`): enough to name
    them, and no remote-tracking ref moves that a lease could later be taken from. The caller
    holds `repository_lock`."""
    with contextlib.suppress(git.GitCommandError):
        repo.git.fetch("--no-tags", "--refmap=", remote, f"refs/heads/{branch}")


def own_commits(repo: git.Repo, base: str) -> list[str]:
    """The branch's own commits: on HEAD's first-parent line and not on `base`'s. They stay the
    branch's after a merge commit brought them into the base (as its second parent's line)."""
    on_base = set(str(repo.git.rev_list("--first-parent", base)).split())
    return [sha for sha in str(repo.git.rev_list("--first-parent", "HEAD")).split() if sha not in on_base]


def merge_base(repo: git.Repo, *commits: str) -> str | None:
    try:
        return str(repo.git.merge_base(*commits)) or None
    except git.GitCommandError:
        return None


def fork_point(repo: git.Repo, refs: list[str], head: str = "HEAD") -> str | None:
    """Where `head` was cut from one of these refs as they were then: git's own answer from the
    ref's reflog (`merge-base --fork-point`), so a dependency rewritten since (rebased, amended)
    still gives the commit the dependent was built on."""
    for ref in refs:
        try:
            found = str(repo.git.merge_base("--fork-point", ref, head)).strip()
        except git.GitCommandError:
            continue
        if found:
            return found
    return None


def has_reflog(repo: git.Repo, ref: str) -> bool:
    try:
        repo.git.reflog("exists", ref)
    except git.GitCommandError:
        return False
    return True


def patch_ids(repo: git.Repo, revisions: list[str], *, walk: bool = True) -> dict[str, str]:
    """commit → its patch id (`git patch-id --stable`): the same change, whatever its commit (a
    rebase's copy has the same one). Merges and empty commits have none. `revisions` are ranges,
    or with walk=False the commits themselves (not their ancestors). The diff goes from one git to
    the other as bytes (any encoding), plain (no colour, textconv or external diff), never held here."""
    if not revisions:
        return {}
    log = subprocess.Popen(["git", "log", "--no-merges", "-p", "--no-color", "--no-ext-diff", "--no-textconv",
                            "--format=commit %H", *(() if walk else ("--no-walk",)), *revisions, "--"],
                           cwd=repo.working_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert log.stdout is not None
    ids = subprocess.run(["git", "patch-id", "--stable"], cwd=repo.working_dir, stdin=log.stdout,
                         capture_output=True)
    log.stdout.close()
    error = log.stderr.read() if log.stderr else b""
    if log.wait() != 0 or ids.returncode != 0:
        raise StepFailed(f"cannot compare the changes of {' '.join(revisions)[:80]}: "
                         f"{(error or ids.stderr).decode(errors='replace').strip()[:300]}")
    pairs = (line.split() for line in ids.stdout.decode(errors="replace").splitlines() if line.strip())
    return {commit: patch for patch, commit in pairs}


def subjects(repo: git.Repo, revision_range: str) -> dict[str, str]:
    """commit → its subject line, for a range, in one git call."""
    listing = str(repo.git.log("--format=%H %s", revision_range, "--"))
    found: dict[str, str] = {}
    for line in listing.splitlines():
        sha, _, subject = line.partition(" ")
        if sha:
            found[sha] = subject
    return found


def supports_force_if_includes(repo: git.Repo) -> bool:
    return repo.git.version_info >= (2, 30)


def conflicted_files(repo: git.Repo) -> list[str]:
    return [name for name in repo.git.diff("--name-only", "--diff-filter=U").splitlines() if name]


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while a git operation that must not stop half-way runs (the operation
    itself runs in its own session, out of reach of the terminal's Ctrl-C); deliver them after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: held.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for number in dict.fromkeys(held):
            os.kill(os.getpid(), number)  # now, with the worktree whole: Ctrl-C interrupts, SIGTERM ends


def run_whole(repo: git.Repo, *args: str) -> str:
    """A git command in its own session: a Ctrl-C meant for pytest cannot kill it half-way."""
    return str(repo.git.execute(["git", *args], start_new_session=True))


def replay(repo: git.Repo, verb: str, target: str, *options: str, shown: str | None = None) -> bool:
    """`git rebase [OPTIONS] TARGET` or `git merge [OPTIONS] TARGET`; on conflict abort and raise
    with the files.

    Returns True when history changed. After a failure HEAD, index and files are as before.
    """
    before = repo.head.commit.hexsha
    args = [*options, target] if verb == "rebase" else ["--no-edit", *options, target]
    with signals_held():
        return _replay(repo, verb, args, before, shown or target)


def _replay(repo: git.Repo, verb: str, args: list[str], before: str, target: str) -> bool:
    try:
        run_whole(repo, verb, *args)
    except git.GitCommandError as exc:
        files = conflicted_files(repo)
        if operation_in_progress(repo):
            run_whole(repo, verb, "--abort")
        after = repo.head.commit.hexsha
        if after != before:  # pragma: no cover - would be a git bug; say so rather than hide it
            raise StepFailed(f"{verb} failed and HEAD moved from {before[:12]} to {after[:12]}") from None
        summary = (f"{verb} onto {target} stopped on conflicts; {verb} aborted, branch, index and files unchanged"
                   if files else f"git {verb} {target} failed; nothing was changed")
        detail = [f"conflict: {name}" for name in files] or [git_error(exc)]
        raise StepFailed(summary, detail, output=git_error(exc)) from None
    return repo.head.commit.hexsha != before
