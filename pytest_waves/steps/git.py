"""Git step kinds: worktree, rebase, integrate, push.

GitPython is imported when a git step runs, not when the plugin loads: every xdist worker loads the
plugin, and most never need it before their first git step."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from pytest_waves.steps.base import (
    NoOptions,
    StepContext,
    StepFailed,
    StepKind,
    StepOptions,
)

if TYPE_CHECKING:
    import git


def _base_ref(ctx: StepContext) -> str:
    repository = ctx.repository
    return f"{repository.remote}/{repository.base}"


def _on_branch(ctx: StepContext) -> git.Repo:
    import pytest_waves.engine.gitops as gitops

    repo = gitops.open_repo(ctx.worktree)
    branch = gitops.current_branch(repo)
    if branch != ctx.issue.branch:
        raise StepFailed(f"{ctx.worktree} is on {branch or 'a detached HEAD'}, not {ctx.issue.branch}")
    return repo


class Worktree(StepKind[NoOptions]):
    """The issue's worktree exists on its branch; created from the remote when missing."""

    name = "worktree"

    def describe(self, options: NoOptions, ctx: StepContext) -> str:
        return f"ensure worktree {ctx.issue.worktree or '.'} on {ctx.issue.branch}"

    def run(self, options: NoOptions, ctx: StepContext) -> str | None:
        import pytest_waves.engine.gitops as gitops

        path, branch = ctx.worktree, ctx.issue.branch
        if path.exists():
            _on_branch(ctx)
            return f"{path.name} exists on {branch}"
        main = gitops.open_repo(ctx.repo_root)
        remote = ctx.repository.remote
        gitops.fetch(main, remote)
        if gitops.resolve(main, f"refs/heads/{branch}"):
            args = [str(path), branch]
            origin = f"local branch {branch}"
        elif gitops.resolve(main, f"refs/remotes/{remote}/{branch}"):
            args = ["--track", "-b", branch, str(path), f"{remote}/{branch}"]
            origin = f"{remote}/{branch}"
        else:
            args = ["--no-track", "-b", branch, str(path), _base_ref(ctx)]
            origin = f"new branch from {_base_ref(ctx)}"
        if _registered_but_missing(main, path, branch):
            # Removed by hand: git keeps its record and refuses to add it again. The folder (and any
            # work in it) is already gone and the branch is nowhere else, so re-adding loses nothing.
            args.insert(0, "--force")
            origin += ", replacing the worktree that was removed by hand"
        try:
            with gitops.repository_lock(main):
                main.git.worktree("add", *args)
        except gitops.GitCommandError as exc:
            raise StepFailed(f"could not create worktree {path}", [gitops.git_error(exc)]) from None
        return f"created {path.name} ({origin})"

    def verify(self, options: NoOptions, ctx: StepContext) -> str | None:
        if not ctx.worktree.exists():
            raise StepFailed(f"worktree {ctx.issue.worktree or '.'} does not exist")
        _on_branch(ctx)
        return f"{ctx.worktree.name} exists on {ctx.issue.branch}"


def _registered_but_missing(repo: git.Repo, path: Path, branch: str) -> bool:
    from pytest_waves.engine.trial_merge import checkouts

    registered = {Path(line.removeprefix("worktree ")).resolve()
                  for line in repo.git.worktree("list", "--porcelain").splitlines() if line.startswith("worktree ")}
    elsewhere = [other for other in checkouts(repo).get(branch, []) if other != path.resolve() and other.exists()]
    return path.resolve() in registered and not path.exists() and not elsewhere


class Rebase(StepKind[NoOptions]):
    """Fetch, then rebase the branch onto the remote base; conflicts abort and leave all as it was."""

    name = "rebase"

    def describe(self, options: NoOptions, ctx: StepContext) -> str:
        return f"fetch, then rebase {ctx.issue.branch} onto {_base_ref(ctx)}"

    def run(self, options: NoOptions, ctx: StepContext) -> str | None:
        import pytest_waves.engine.gitops as gitops

        repo = _on_branch(ctx)
        gitops.require_clean(repo, "rebase")
        gitops.fetch(repo, ctx.repository.remote)
        base = _base_ref(ctx)
        if gitops.resolve(repo, base) is None:
            raise StepFailed(f"{base} does not exist after fetching")
        taken = _take_pushed_work(repo, ctx)
        if gitops.is_ancestor(repo, base, "HEAD"):
            return "; ".join([*taken, f"already contains {base}"])
        try:
            gitops.replay(repo, "rebase", base)
        except StepFailed as failed:
            if taken:  # kept, not undone: undoing would leave their commits in the reflog only, where a
                # later forced push would count them as integrated (--force-if-includes) and drop them
                failed.summary = (f"{ctx.issue.branch} first {taken[0]} (kept); then: "
                                  + failed.summary.replace("branch, index and files unchanged",
                                                           "the branch stays as it took them in"))
            raise
        return "; ".join([*taken, f"rebased onto {base}"])

    def verify(self, options: NoOptions, ctx: StepContext) -> str | None:
        """The branch contains the remote base as it is now (asked with ls-remote: nothing fetched)."""
        import pytest_waves.engine.gitops as gitops

        repo = _on_branch(ctx)
        repository = ctx.repository
        there = gitops.remote_head(repo, repository.remote, repository.base)
        if there is None:
            raise StepFailed(f"{_base_ref(ctx)} does not exist on the remote")
        if gitops.resolve(repo, there) is None:
            raise StepFailed(f"{ctx.issue.branch} does not contain {_base_ref(ctx)}: it is at {there[:12]}, "
                             "which this repository has not even fetched")
        if not gitops.is_ancestor(repo, there, "HEAD"):
            behind = repo.git.rev_list("--count", f"HEAD..{there}")
            raise StepFailed(f"{ctx.issue.branch} does not contain {_base_ref(ctx)} ({behind} commits behind)")
        return f"contains {_base_ref(ctx)} ({there[:12]})"


def _take_pushed_work(repo: git.Repo, ctx: StepContext) -> list[str]:
    """Commits someone else pushed to the issue's branch come in before the branch is rewritten, so
    that the push never has to force past them: a fast-forward, or the branch's own commits
    replayed on top of theirs (what `git pull --rebase` does). Only when everything the remote has
    and the branch lacks is new to the branch: a commit the branch held and no longer has was
    dropped here (an amend, a reset, an earlier rebase), and which history is the work is then a
    person's call: refused, nothing changed, the commits named."""
    import pytest_waves.engine.gitops as gitops

    remote, branch = ctx.repository.remote, ctx.issue.branch
    theirs = gitops.resolve(repo, f"refs/remotes/{remote}/{branch}")
    unseen = gitops.never_held(repo, branch, theirs) if theirs else []
    if not theirs or not unseen:
        return []
    head = repo.head.commit.hexsha
    dropped = [sha for sha in gitops.not_in_head(repo, theirs) if sha not in set(unseen)]
    shown = gitops.describe(repo, unseen)
    what = f"{remote}/{branch} ({_count(unseen)}: {shown[0]}{', …' if len(unseen) > 1 else ''})"
    fork = gitops.merge_base(repo, head, theirs)
    base_fork = gitops.merge_base(repo, head, _base_ref(ctx))
    if not dropped and fork == head:
        gitops.replay(repo, "merge", theirs, "--ff-only")
        return [f"fast-forwarded to {what}"]
    if not dropped and fork and base_fork and gitops.is_ancestor(repo, base_fork, fork):  # only ours move
        gitops.replay(repo, "rebase", fork, "--onto", theirs, shown=f"{remote}/{branch}")
        return [f"rebased onto {what}"]
    raise _never_integrated(ctx, shown, "nothing was changed",
                            (f"and {_count(dropped)} this branch held but no longer has (amended, reset or "
                             f"rebased here): {', '.join(gitops.describe(repo, dropped[:3]))}",) if dropped else ())


def _count(commits: list[str]) -> str:
    return f"{len(commits)} commit{'s' if len(commits) != 1 else ''}"


def _never_integrated(ctx: StepContext, unseen: list[str], outcome: str, more: tuple[str, ...] = ()) -> StepFailed:
    remote, branch = ctx.repository.remote, ctx.issue.branch
    where = ctx.issue.worktree or "the checkout"
    return StepFailed(f"{remote}/{branch} has {_count(unseen)} that {branch} never integrated; {outcome}",
                      [*unseen[:20], *([f"… and {len(unseen) - 20} more"] if len(unseen) > 20 else []), *more,
                       f"integrate {remote}/{branch} first (in {where}: `git pull --rebase {remote} {branch}` "
                       "or a merge), then run again"])


class IntegrateOptions(StepOptions):
    issue: int | None = Field(default=None, description="merge this issue's branch")
    branch: str | None = Field(default=None, description="or merge this branch")


class Integrate(StepKind[IntegrateOptions]):
    """Merge another branch (usually a dependency's) in; already contained passes."""

    name = "integrate"
    Options = IntegrateOptions
    shorthand = "branch"

    def _source(self, options: IntegrateOptions, ctx: StepContext) -> str:
        if options.branch:
            return options.branch
        if options.issue is not None:
            try:
                return ctx.plan.issue(options.issue)[1].branch
            except KeyError:
                raise StepFailed(f"integrate names issue #{options.issue}, which the plan does not have") from None
        raise StepFailed("integrate needs `issue: N` or `branch: NAME`")

    def describe(self, options: IntegrateOptions, ctx: StepContext) -> str:
        return f"merge {self._source(options, ctx)} into {ctx.issue.branch}"

    def run(self, options: IntegrateOptions, ctx: StepContext) -> str | None:
        import pytest_waves.engine.gitops as gitops

        source = self._source(options, ctx)
        repo = _on_branch(ctx)
        gitops.require_clean(repo, "merge")
        remote = ctx.repository.remote
        gitops.fetch(repo, remote)
        # The local branch is the freshest work of another worktree; the remote one is the fallback.
        ref = next((r for r in (f"refs/heads/{source}", f"refs/remotes/{remote}/{source}")
                    if gitops.resolve(repo, r)), None)
        if ref is None:
            raise StepFailed(f"branch {source} exists neither locally nor on {remote}")
        if gitops.is_ancestor(repo, ref, "HEAD"):
            return f"already contains {source}"
        gitops.replay(repo, "merge", ref)
        return f"merged {source}"

    def verify(self, options: IntegrateOptions, ctx: StepContext) -> str | None:
        import pytest_waves.engine.gitops as gitops

        source = self._source(options, ctx)
        repo = _on_branch(ctx)
        remote = ctx.repository.remote
        ref = next((r for r in (f"refs/heads/{source}", f"refs/remotes/{remote}/{source}")
                    if gitops.resolve(repo, r)), None)
        if ref is None:
            raise StepFailed(f"branch {source} exists neither locally nor as {remote}/{source}")
        if not gitops.is_ancestor(repo, ref, "HEAD"):
            raise StepFailed(f"{ctx.issue.branch} does not contain {source}")
        return f"contains {source}"


class Push(StepKind[NoOptions]):
    """The remote branch equals the local head; after a rewrite, --force-with-lease, never a bare force."""

    name = "push"

    def describe(self, options: NoOptions, ctx: StepContext) -> str:
        return f"push {ctx.issue.branch} to {ctx.repository.remote}"

    def run(self, options: NoOptions, ctx: StepContext) -> str | None:
        import pytest_waves.engine.gitops as gitops

        repo = _on_branch(ctx)
        remote, branch = ctx.repository.remote, ctx.issue.branch
        local = repo.head.commit.hexsha
        with gitops.repository_lock(repo):
            there = gitops.remote_head(repo, remote, branch)
            if there == local:
                return f"{remote}/{branch} is already at {local[:12]}"
            args = ["--set-upstream", remote, f"HEAD:refs/heads/{branch}"]
            if there is not None and not gitops.is_ancestor(repo, there, local):
                _refuse_to_overwrite(repo, ctx, there)
                # Only what this branch once held is replaced. git checks it again (--force-if-includes,
                # against the reflog), and the lease refuses a remote that moves meanwhile.
                if gitops.supports_force_if_includes(repo):
                    args[:0] = [f"--force-with-lease=refs/heads/{branch}", "--force-if-includes"]
                else:
                    args.insert(0, f"--force-with-lease=refs/heads/{branch}:{there}")
            try:
                with gitops.signals_held():  # a push either happens or does not; never stopped half-way
                    gitops.run_whole(repo, "push", *args)
            except gitops.GitCommandError as exc:
                raise StepFailed(f"git push to {remote} was rejected; nothing was pushed",
                                 [gitops.git_error(exc)]) from None
        how = "with lease after rewrite" if args[0].startswith("--force") else "fast-forward"
        return f"pushed {local[:12]} ({how})"

    def verify(self, options: NoOptions, ctx: StepContext) -> str | None:
        import pytest_waves.engine.gitops as gitops

        repo = _on_branch(ctx)
        remote, branch = ctx.repository.remote, ctx.issue.branch
        local, there = repo.head.commit.hexsha, gitops.remote_head(repo, remote, branch)
        if there is None:
            raise StepFailed(f"{branch} is not on {remote}")
        if there != local:
            raise StepFailed(f"{remote}/{branch} is at {there[:12]}, the worktree at {local[:12]}")
        return f"{remote}/{branch} equals the worktree ({local[:12]})"


def _refuse_to_overwrite(repo: git.Repo, ctx: StepContext, there: str) -> None:
    """The remote branch is not behind us: a push would replace it. Allowed only when every commit
    there is one this branch once held (our own rewrite); else name what would be lost."""
    import pytest_waves.engine.gitops as gitops

    remote, branch = ctx.repository.remote, ctx.issue.branch
    if gitops.resolve(repo, there) is None:  # pushed after our last fetch: bring it here to name it
        gitops.fetch_objects(repo, remote, branch)
    if gitops.resolve(repo, there) is None:
        raise StepFailed(f"{remote}/{branch} is at {there[:12]}, which could not be fetched to compare; "
                         "nothing was pushed")
    unseen = gitops.never_held(repo, branch, there)
    if unseen:
        raise _never_integrated(ctx, gitops.describe(repo, unseen), "nothing was pushed")
