"""The pr step: one open pull request for the branch whose body closes the issue; reruns find it."""

from __future__ import annotations

import re
from dataclasses import replace

from pydantic import Field

from pytest_waves.engine.forge import ForgeError, PullExists, PullRequest, PullSpec
from pytest_waves.steps.base import StepContext, StepFailed, StepKind, StepOptions
from pytest_waves.steps.git import merged_pull, stack_parent


class PrOptions(StepOptions):
    title: str | None = Field(default=None, description="defaults to the issue's title")
    body: str = Field(default="", description="`Closes #N` is added when the body does not close the issue")
    draft: bool = Field(default=False, description="open it as a draft")
    labels: tuple[str, ...] = Field(default=(), description="added when missing, on every run")
    reviewers: tuple[str, ...] = Field(default=(), description="asked for a review when the PR is opened")
    stacked: bool = Field(default=False, description="a stacked issue's PR goes into the branch it is stacked on "
                          "(showing only its own commits), and into the base once that issue's PR has merged")


def closing_body(body: str, number: int) -> str:
    if re.search(rf"\b(close[sd]?|fix(e[sd])?|resolve[sd]?)\s+#{number}\b", body, re.IGNORECASE):
        return body
    return f"{body.rstrip()}\n\nCloses #{number}".lstrip()


class Pr(StepKind[PrOptions]):
    name = "pr"
    Options = PrOptions

    def describe(self, options: PrOptions, ctx: StepContext) -> str:
        base = ctx.repository.base
        parent = stack_parent(ctx) if options.stacked else None
        into = f"{parent[1]} (stacked on #{parent[0]}; {base} once its PR has merged)" if parent else base
        return f"open or update the PR {ctx.issue.branch} → {into} with `Closes #{ctx.issue.number}`"

    def run(self, options: PrOptions, ctx: StepContext) -> str | None:
        import pytest_waves.engine.gitops as gitops  # GitPython loads with the first git step (see steps/git.py)

        repository, issue = ctx.repository, ctx.issue
        repo = gitops.open_repo(ctx.worktree)
        if gitops.remote_head(repo, repository.remote, issue.branch) is None:
            merged = merged_pull(ctx, issue.number, issue.branch)  # its branch deleted when it merged
            if merged is None:
                raise StepFailed(f"{issue.branch} is not on {repository.remote}; push it before opening a PR")
            ctx.record("pr", merged.label())
            ctx.record("pr_url", merged.url)
            return f"PR #{merged.number} has merged ({merged.url}); its branch is gone from {repository.remote}"
        parent = stack_parent(ctx) if options.stacked else None
        try:
            base = self._stacked_base(parent, ctx) if parent else repository.base
            spec = PullSpec(head=issue.branch, base=base, title=options.title or issue.title,
                            body=closing_body(options.body, issue.number), draft=options.draft,
                            labels=options.labels, reviewers=options.reviewers)
            # a stacked issue's PR may be into its parent's branch or the base: found either way, retargeted
            pull, note = self._ensure(spec, ctx, any_base=stack_parent(ctx) is not None)
        except ForgeError as exc:
            raise StepFailed(exc.summary, [*exc.details, *ctx.forge.hiccups()]) from None
        on_parent = parent is not None and pull.base == parent[1]
        ctx.record("pr", pull.label() + (f" ⟶ #{parent[0]}" if parent and on_parent else ""))
        ctx.record("pr_url", pull.url)
        ctx.record("pr_checks", pull.checks)
        retried = "".join(f"; {hiccup}" for hiccup in ctx.forge.hiccups())  # said, not only logged
        return f"{note} PR #{pull.number} ({pull.url}){retried}"

    def verify(self, options: PrOptions, ctx: StepContext) -> str | None:
        """A PR from the branch into the base exists, open or merged; nothing is created or edited."""
        repository, issue = ctx.repository, ctx.issue
        stacked = options.stacked and stack_parent(ctx) is not None
        try:  # a stacked PR is into its parent's branch until that one merged: either base will do
            pull = ctx.forge.find_pull(issue.branch, None if stacked else repository.base, merged=True, closed=True)
        except ForgeError as exc:
            raise StepFailed(exc.summary, [*exc.details, *ctx.forge.hiccups()]) from None
        if pull is None or pull.state == "closed":
            closed = f" (PR #{pull.number} was closed without merging)" if pull is not None else ""
            raise StepFailed(f"no open or merged PR from {issue.branch} into {repository.base}{closed}",
                             ctx.forge.hiccups())
        ctx.record("pr", pull.label())
        ctx.record("pr_url", pull.url)
        ctx.record("pr_checks", pull.checks)
        retried = "".join(f"; {hiccup}" for hiccup in ctx.forge.hiccups())
        return f"PR #{pull.number} is {pull.state} ({pull.url}){retried}"

    @staticmethod
    def _stacked_base(parent: tuple[int, str], ctx: StepContext) -> str:
        """Into the branch it is stacked on, until that issue's PR has merged; then into the base."""
        theirs = ctx.forge.find_pull(parent[1], None, merged=True, closed=True)
        if theirs is not None and theirs.state == "closed":
            raise StepFailed(f"#{parent[0]}'s PR #{theirs.number} was closed without merging: a PR stacked on "
                             f"{parent[1]} would wait for a branch that is not going in",
                             [f"reopen #{parent[0]}'s PR, or drop `stacked` to open this one into "
                              f"{ctx.repository.base}"])
        return ctx.repository.base if theirs is not None and theirs.state == "merged" else parent[1]

    @staticmethod
    def _ensure(spec: PullSpec, ctx: StepContext, *, any_base: bool = False) -> tuple[PullRequest, str]:
        """Find, else open; bring title, body, base (a stacked PR) and labels up to the plan. Never a
        second PR: also not when the first one was merged already (a squash or rebase merge leaves
        the branch behind), nor when a stacked PR's base must change (it is retargeted)."""
        pull = ctx.forge.find_pull(spec.head, None if any_base else spec.base, merged=True, closed=True)
        if pull is not None and pull.state == "merged":
            return pull, "already merged"
        if pull is not None and pull.state == "closed":  # someone's decision: not undone by a second PR
            raise StepFailed(f"PR #{pull.number} from {spec.head} was closed without merging ({pull.url}); "
                             "no other is opened", ["reopen it to go on, or open one yourself: the step "
                                                    "then finds it"])
        if pull is None:
            try:
                return ctx.forge.create_pull(spec), "opened"
            except PullExists:  # another run opened it between our look and our create
                pull = ctx.forge.find_pull(spec.head, spec.base)
                if pull is None:
                    raise
        notes = []
        if (pull.title, pull.body, pull.base) != (spec.title, spec.body, spec.base):
            retarget = spec.base if pull.base != spec.base else None
            ctx.forge.update_pull(pull.number, spec.title, spec.body, base=retarget)
            pull = replace(pull, title=spec.title, body=spec.body, base=spec.base)  # its checks did not change
            notes.append(f"retargeted onto {spec.base}" if retarget else "updated")
        missing = [label for label in spec.labels if label not in pull.labels]
        if missing:
            ctx.forge.add_labels(pull.number, missing)
            notes.append(f"labelled {', '.join(missing)}")
        return pull, " and ".join(notes) or "found"
