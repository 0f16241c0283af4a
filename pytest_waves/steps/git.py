"""Git step kinds: worktree, rebase, integrate, push.

An issue whose `integrate` names another issue is stacked on it: its rebase replays only its own
commits onto the dependency's branch as it is now (`git rebase --onto NEW FORK`, the fork point
from the dependency's reflog), never copies of the dependency's commits onto the base.

GitPython is imported when a git step runs, not when the plugin loads: every xdist worker loads the
plugin, and most never need it before their first git step."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

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

    from pytest_waves.engine.forge import PullRequest

    from pytest_waves.plan.loader import LoadedPlan
    from pytest_waves.plan.model import Plan


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


def stacked_on(plan: LoadedPlan, number: int) -> int | None:
    """The issue that issue `number` is stacked on: the one its `integrate` step restacks onto."""
    for step in plan.steps.get(number, []):
        options = step.options
        if step.kind.name == "integrate" and isinstance(options, IntegrateOptions) and options.issue is not None \
                and (options.how or "restack") == "restack":
            return options.issue
    return None


def stack_parent(ctx: StepContext) -> tuple[int, str] | None:
    """The issue this one is stacked on, with its branch."""
    parent = stacked_on(ctx.plan, ctx.issue.number)
    try:
        return None if parent is None else (parent, ctx.plan.issue(parent)[1].branch)
    except KeyError:
        return None


def _branch_ref(repo: git.Repo, ctx: StepContext, branch: str) -> str | None:
    """The local branch is the freshest work of another worktree; the remote one is the fallback."""
    import pytest_waves.engine.gitops as gitops

    return next((r for r in (f"refs/heads/{branch}", f"refs/remotes/{ctx.repository.remote}/{branch}")
                 if gitops.resolve(repo, r)), None)


STACK_BASE = "refs/waves/stacked/"  # <branch>/on/<parent>: the parent's tip the branch was last stacked on, by us


def _parent_ref(repo: git.Repo, ctx: StepContext, number: int, parent: str) -> str:
    """The parent branch as it is now: the local one or the remote one, whichever holds the other
    (a teammate's push, or a rebase done elsewhere); two that diverged are a person's call."""
    import pytest_waves.engine.gitops as gitops

    remote = ctx.repository.remote
    local, there = (gitops.resolve(repo, f"refs/heads/{parent}"), gitops.resolve(repo, f"refs/remotes/{remote}/{parent}"))
    if local is None and there is None:
        raise StepFailed(f"#{number}'s branch {parent} exists neither locally nor on {remote}")
    if local is None or there is None or gitops.is_ancestor(repo, there, local):
        return f"refs/heads/{parent}" if local else f"refs/remotes/{remote}/{parent}"
    if gitops.is_ancestor(repo, local, there) or not gitops.never_held(repo, parent, there, checked_out=False):
        # newer on the remote; or the remote holds only what the local branch once held (our own
        # rewrite, not pushed yet): the local one
        return f"refs/remotes/{remote}/{parent}" if gitops.is_ancestor(repo, local, there) else f"refs/heads/{parent}"
    raise StepFailed(f"{parent} (#{number}) and {remote}/{parent} have diverged; which is #{number}'s work is a "
                     "person's call: integrate one into the other, then run again")


def merged_pull(ctx: StepContext, number: int, branch: str) -> PullRequest | None:
    """Issue `number`'s PR when it has merged; only asked of an issue with a pr step (others have
    none), and a forge that cannot answer here answers at the pr step instead."""
    from pytest_waves.engine.forge import ForgeError

    if not any(step.kind.name == "pr" for step in ctx.plan.steps.get(number, [])):
        return None
    try:
        pull = ctx.forge.find_pull(branch, None, merged=True)
    except ForgeError:
        return None
    return pull if pull is not None and pull.state == "merged" else None


def _done_by_merge(repo: git.Repo, ctx: StepContext) -> str | None:
    """Nothing to rebase or push once the issue's PR has merged and the branch holds nothing after it
    (a squash merge leaves the branch behind, and its branch may be gone from the remote)."""
    import pytest_waves.engine.gitops as gitops

    pull = merged_pull(ctx, ctx.issue.number, ctx.issue.branch)
    if pull is None:
        return None
    # Done only when the branch holds nothing beyond the merged head. A forge that does not say
    # which head merged (the local one) cannot tell that: then the usual rebase and push run.
    if not pull.head_sha or not gitops.resolve(repo, pull.head_sha) \
            or not gitops.is_ancestor(repo, "HEAD", pull.head_sha):
        return None
    return f"PR #{pull.number} has merged"


def _restack_onto_base(repo: git.Repo, ctx: StepContext, number: int, parent: str, pull: PullRequest) -> str:
    """The parent's PR has merged (a squash, say): this branch's own commits go onto the base, and
    the parent's, which the base now has in another form, stay behind. Which are the parent's: the
    merged PR's head, else the parent tip recorded when this branch was stacked; without either,
    a person's call."""
    import pytest_waves.engine.gitops as gitops

    base, record = _base_ref(ctx), f"{STACK_BASE}{ctx.issue.branch}/on/{parent}"
    candidates = [sha for sha in (pull.head_sha, gitops.resolve(repo, record)) if sha and gitops.resolve(repo, sha)]
    upstream = next((sha for sha in candidates if gitops.is_ancestor(repo, sha, "HEAD")), None)
    recorded = gitops.resolve(repo, record)
    if upstream is None and recorded and gitops.is_ancestor(repo, base, "HEAD"):
        return f"#{number}'s PR #{pull.number} has merged; already restacked onto {base}"  # by an earlier step
    if upstream is None:
        raise _refuse_restack(ctx, base, f"#{number}'s PR #{pull.number} has merged, and nothing records which of "
                              f"{ctx.issue.branch}'s commits were #{number}'s", [])
    _own_history_is_clean(repo, ctx, base, upstream, base, set(), guess=False)
    if gitops.is_ancestor(repo, base, "HEAD") and gitops.is_ancestor(repo, upstream, base):
        return f"#{number}'s PR #{pull.number} has merged; already on {base}"
    gitops.replay(repo, "rebase", upstream, "--onto", base, shown=base)
    if not recorded:
        repo.git.update_ref(record, upstream)  # so that a later step knows this was done
    own = int(repo.git.rev_list("--count", f"{base}..HEAD"))
    return f"#{number}'s PR #{pull.number} has merged: restacked onto {base} ({own} own commit{'s' * (own != 1)})"


def _refuse_restack(ctx: StepContext, parent: str, why: str, shown: list[str]) -> StepFailed:
    return StepFailed(f"{ctx.issue.branch} is not restacked onto {parent}: {why}; nothing was changed",
                      [*shown[:10], f"restack it by hand (`git rebase --onto {parent} <the commit it was cut from>`), "
                                    "or bring it in with `integrate: {issue: N, how: merge}`"])


def _restack(repo: git.Repo, ctx: StepContext, number: int, parent: str) -> str:
    """Onto the parent as it is now; or, once the parent's PR has merged, onto the base."""
    merged = merged_pull(ctx, number, parent)
    if merged is not None:
        return _restack_onto_base(repo, ctx, number, parent, merged)
    return _restack_onto_parent(repo, ctx, number, parent)


def _restack_onto_parent(repo: git.Repo, ctx: StepContext, number: int, parent: str) -> str:
    """This issue's own commits replayed onto `parent` as it is now; conflicts abort, nothing changed.

    Which commits are its own: those after the parent's tip it was last stacked on (recorded by this
    step), else after its fork point from the parent's reflog, else after their merge base. Whatever
    the restack leaves behind must be the parent's, in its new form (the same patch); a commit that
    is not, a merge of its own, or an older version of the parent's commit stops it, unchanged."""
    import pytest_waves.engine.gitops as gitops

    ref = _parent_ref(repo, ctx, number, parent)
    base, head = _base_ref(ctx), repo.head.commit.hexsha
    record = f"{STACK_BASE}{ctx.issue.branch}/on/{parent}"
    their_patches = set(gitops.patch_ids(repo, [f"{base}..{ref}"]).values())  # the parent's own changes, now
    if gitops.is_ancestor(repo, ref, "HEAD"):
        # stacked already: only a change of the parent's held twice is wrong (a merge of another
        # branch, `how: merge`, is the branch's own business)
        copies = [sha for sha, patch in gitops.patch_ids(repo, [f"{ref}..HEAD"]).items() if patch in their_patches]
        if copies:
            raise _refuse_restack(ctx, parent, f"it holds {_count(copies)} of {parent}'s a second time (copies made "
                                  "by an earlier rebase of its own)", gitops.describe(repo, copies))
        repo.git.update_ref(record, gitops.resolve(repo, ref))
        return f"already stacked on {parent}"
    recorded = gitops.resolve(repo, record)
    fork = gitops.fork_point(repo, [f"refs/heads/{parent}", f"refs/remotes/{ctx.repository.remote}/{parent}"])
    if recorded is not None and gitops.is_ancestor(repo, recorded, "HEAD") \
            and not gitops.is_ancestor(repo, recorded, base):  # a tip main has since taken in is no record
        upstream, how = recorded, "recorded"  # what we stacked it on: the parent's, even if since amended
    elif fork is not None:
        upstream, how = fork, "fork point"
    else:
        upstream, how = gitops.merge_base(repo, "HEAD", ref) or base, "merge base"
    trusted = how == "recorded"
    left = str(repo.git.rev_list(upstream, "--not", ref, base)).split()  # what leaves the branch
    if left and not trusted:  # merges and empty commits have no patch: no change of theirs is lost
        lost = [sha for sha, patch in gitops.patch_ids(repo, left, walk=False).items() if patch not in their_patches]
        if lost:
            raise _refuse_restack(ctx, parent, f"{_count(lost)} that {parent} does not have would leave it",
                                  gitops.describe(repo, lost))
    _own_history_is_clean(repo, ctx, parent, upstream, ref, their_patches, guess=how == "merge base")
    gitops.replay(repo, "rebase", upstream, "--onto", ref, shown=parent)
    copied = [sha for sha, patch in gitops.patch_ids(repo, [f"{ref}..HEAD"]).items() if patch in their_patches]
    if copied:  # a change of the parent's twice: undo (nothing was pushed yet) and say so
        shown = gitops.describe(repo, copied)
        repo.git.reset("-q", "--hard", head)
        raise _refuse_restack(ctx, parent, f"it would hold {_count(copied)} of {parent}'s a second time", shown)
    repo.git.update_ref(record, gitops.resolve(repo, ref))
    own = int(repo.git.rev_list("--count", f"{ref}..HEAD"))
    return f"restacked onto {parent} ({own} own commit{'s' if own != 1 else ''})"


def _own_history_is_clean(repo: git.Repo, ctx: StepContext, parent: str, since: str, ref: str,
                          their_patches: set[str], *, guess: bool) -> None:
    """What a restack would replay (after `since`) holds no merge (a restack flattens it, and with it
    what the merge itself changed). When `since` is only a guess (their merge base: no record and
    no reflog knows the parent's old tip), neither an older version of the parent's commits: the
    same subject and the same files as one of the parent's, another patch (an amended commit),
    which replaying would bring back. Same-patch copies vanish in the replay (git drops a commit
    whose change is already there), and any that stays is caught afterwards."""
    import pytest_waves.engine.gitops as gitops

    merges = str(repo.git.rev_list("--merges", f"{since}..HEAD")).split()
    if merges:
        raise _refuse_restack(ctx, parent, f"it has {len(merges)} merge commit{'s' * (len(merges) != 1)} of its "
                              "own (a restack flattens them, and what a merge itself changed would be lost)",
                              gitops.describe(repo, merges))
    if not guess:
        return
    theirs = gitops.subjects(repo, f"{_base_ref(ctx)}..{ref}")

    def files(sha: str) -> frozenset[str]:
        return frozenset(str(repo.git.diff_tree("--no-commit-id", "--name-only", "-r", sha)).split("\n"))

    their_files = {subject: files(sha) for sha, subject in theirs.items()}
    own = gitops.patch_ids(repo, [f"{since}..HEAD"])
    older = [sha for sha, subject in gitops.subjects(repo, f"{since}..HEAD").items()
             if subject in their_files and own.get(sha) not in their_patches and files(sha) == their_files[subject]]
    if older:
        raise _refuse_restack(ctx, parent, f"it holds {_count(older)} that {parent} has in another form (older "
                              "versions of its commits, amended since)", gitops.describe(repo, older))


class Rebase(StepKind[NoOptions]):
    """Fetch, then rebase the branch onto the remote base (a stacked issue: onto the branch it is
    stacked on, which contains the base); conflicts abort and leave all as it was."""

    name = "rebase"

    def describe(self, options: NoOptions, ctx: StepContext) -> str:
        parent = stack_parent(ctx)
        if parent is not None:
            return f"fetch, then restack {ctx.issue.branch}'s own commits onto #{parent[0]}'s {parent[1]}"
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
        parent = stack_parent(ctx)
        try:
            if parent is not None:
                return "; ".join([*taken, self._restack(repo, ctx, *parent, base)])
            if gitops.is_ancestor(repo, base, "HEAD"):
                return "; ".join([*taken, f"already contains {base}"])
            merged = _done_by_merge(repo, ctx)  # asked only when there is work to do: a squash left it behind
            if merged is not None:
                return "; ".join([*taken, f"{merged}: nothing to rebase"])
            gitops.replay(repo, "rebase", base)
        except StepFailed as failed:
            if taken:  # kept, not undone: undoing would leave their commits in the reflog only, where a
                # later forced push would count them as integrated (--force-if-includes) and drop them
                failed.summary = (f"{ctx.issue.branch} first {taken[0]} (kept); then: "
                                  + failed.summary.replace("branch, index and files unchanged",
                                                           "the branch stays as it took them in"))
            raise
        return "; ".join([*taken, f"rebased onto {base}"])

    @staticmethod
    def _restack(repo: git.Repo, ctx: StepContext, number: int, parent: str, base: str) -> str:
        import pytest_waves.engine.gitops as gitops

        merged = merged_pull(ctx, number, parent)
        if merged is not None:
            return _restack_onto_base(repo, ctx, number, parent, merged)
        ref = _branch_ref(repo, ctx, parent)
        if ref is not None and not gitops.is_ancestor(repo, base, ref):  # checked before anything moves
            raise StepFailed(f"{parent} (#{number}) does not contain {base} yet; {ctx.issue.branch} is stacked "
                             f"on it: rebase #{number} first (its rebase step), then run this one")
        said = _restack_onto_parent(repo, ctx, number, parent)
        return f"{said}, which contains {base}"

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
    issue: int | None = Field(default=None, description="this issue's branch (restacked onto, unless how: merge)")
    branch: str | None = Field(default=None, description="or this branch (merged)")
    how: Literal["restack", "merge"] | None = Field(
        default=None, description="restack: replay this branch's own commits onto it (the default for an issue); "
                                  "merge: a merge commit (the default for a branch)")


class Integrate(StepKind[IntegrateOptions]):
    """Bring another branch (usually a dependency's) in: an issue's branch is restacked onto, another
    branch merged, as `how` says; already contained passes."""

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

    def check_plan(self, options: IntegrateOptions, plan: Plan) -> str | None:
        if options.issue is not None and options.branch:
            return "give `issue: N` or `branch: NAME`, not both"
        if options.issue is None and not options.branch:
            return "integrate needs `issue: N` or `branch: NAME`"
        if options.how == "restack" and options.issue is None:
            return "how: restack needs `issue: N` (a branch of the plan's); a branch is merged"
        if options.issue is None or not self._restacks(options):
            return None
        owner = next(((wave, issue) for wave, issue in plan.issues()
                      for step in issue.steps if step.options is options), None)
        if owner is None:
            return None
        wave, issue = owner
        inherited = {other.number for dep in wave.depends_on for w in plan.waves if str(w.id) == str(dep)
                     for other in w.issues}
        if options.issue not in {*issue.depends_on, *inherited}:
            return (f"#{issue.number} is stacked on #{options.issue} (integrate restacks onto it): add "
                    f"{options.issue} to its depends_on, so that #{options.issue}'s rebase runs first")
        stacked = [step for step in issue.steps if step.kind == "integrate"
                   and getattr(step.options, "issue", None) is not None and (getattr(step.options, "how", None) or "restack") == "restack"]
        if len(stacked) > 1:
            return (f"#{issue.number} restacks onto more than one issue; a branch is stacked on one at most: "
                    "bring the others in with `how: merge`")
        return None

    @staticmethod
    def _restacks(options: IntegrateOptions) -> bool:
        return (options.how or ("restack" if options.issue is not None else "merge")) == "restack"

    def describe(self, options: IntegrateOptions, ctx: StepContext) -> str:
        if self._restacks(options):
            return f"restack {ctx.issue.branch}'s own commits onto {self._source(options, ctx)}"
        return f"merge {self._source(options, ctx)} into {ctx.issue.branch}"

    def run(self, options: IntegrateOptions, ctx: StepContext) -> str | None:
        import pytest_waves.engine.gitops as gitops

        source = self._source(options, ctx)
        repo = _on_branch(ctx)
        gitops.require_clean(repo, "rebase" if self._restacks(options) else "merge")
        remote = ctx.repository.remote
        gitops.fetch(repo, remote)
        if self._restacks(options):
            if options.issue is None:
                raise StepFailed("integrate: how: restack needs `issue: N` (a branch of the plan's)")
            return _restack(repo, ctx, options.issue, source)
        ref = _branch_ref(repo, ctx, source)
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
        ref = _branch_ref(repo, ctx, source)
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
            # a branch the remote had and no longer has may have been deleted when its PR merged: not
            # pushed again then (the forge is asked only in that case: a first push asks nothing)
            if there is None and repo.config_reader().has_option(f'branch "{branch}"', "remote"):
                merged = _done_by_merge(repo, ctx)
                if merged is not None:
                    return f"{merged}: nothing to push"
            if there == local:
                return f"{remote}/{branch} is already at {local[:12]}"
            args = ["--set-upstream", remote, f"HEAD:refs/heads/{branch}"]
            if there is not None and not gitops.is_ancestor(repo, there, local):
                _refuse_to_overwrite(repo, ctx, there)
                # Only what this branch once held is replaced. git checks it again (--force-if-includes,
                # against the reflog), and the lease refuses a remote that moves meanwhile.
                tracking = f"refs/remotes/{remote}/{branch}"
                # --force-if-includes needs the tracking ref's reflog, which a fresh `git clone` does
                # not write: without one git refuses every forced push, so the lease on the commit
                # just checked (above, against this branch's own reflog) stands alone there.
                if gitops.supports_force_if_includes(repo) and gitops.has_reflog(repo, tracking):
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
