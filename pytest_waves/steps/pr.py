"""The pr step: one open pull request for the branch whose body closes the issue; reruns find it."""

from __future__ import annotations

import re
from dataclasses import replace

from pydantic import Field

from pytest_waves.engine.forge import ForgeError, PullExists, PullRequest, PullSpec
from pytest_waves.steps.base import StepContext, StepFailed, StepKind, StepOptions


class PrOptions(StepOptions):
    title: str | None = Field(default=None, description="defaults to the issue's title")
    body: str = Field(default="", description="`Closes #N` is added when the body does not close the issue")
    draft: bool = Field(default=False, description="open it as a draft")
    labels: tuple[str, ...] = Field(default=(), description="added when missing, on every run")
    reviewers: tuple[str, ...] = Field(default=(), description="asked for a review when the PR is opened")


def closing_body(body: str, number: int) -> str:
    if re.search(rf"\b(close[sd]?|fix(e[sd])?|resolve[sd]?)\s+#{number}\b", body, re.IGNORECASE):
        return body
    return f"{body.rstrip()}\n\nCloses #{number}".lstrip()


class Pr(StepKind[PrOptions]):
    name = "pr"
    Options = PrOptions

    def describe(self, options: PrOptions, ctx: StepContext) -> str:
        base = ctx.repository.base
        return f"open or update the PR {ctx.issue.branch} → {base} with `Closes #{ctx.issue.number}`"

    def run(self, options: PrOptions, ctx: StepContext) -> str | None:
        import pytest_waves.engine.gitops as gitops  # GitPython loads with the first git step (see steps/git.py)

        repository, issue = ctx.repository, ctx.issue
        repo = gitops.open_repo(ctx.worktree)
        if gitops.remote_head(repo, repository.remote, issue.branch) is None:
            raise StepFailed(f"{issue.branch} is not on {repository.remote}; push it before opening a PR")
        spec = PullSpec(head=issue.branch, base=repository.base, title=options.title or issue.title,
                        body=closing_body(options.body, issue.number), draft=options.draft,
                        labels=options.labels, reviewers=options.reviewers)
        try:
            pull, note = self._ensure(spec, ctx)
        except ForgeError as exc:
            raise StepFailed(exc.summary, [*exc.details, *ctx.forge.hiccups()]) from None
        ctx.record("pr", pull.label())
        ctx.record("pr_url", pull.url)
        ctx.record("pr_checks", pull.checks)
        retried = "".join(f"; {hiccup}" for hiccup in ctx.forge.hiccups())  # said, not only logged
        return f"{note} PR #{pull.number} ({pull.url}){retried}"

    def verify(self, options: PrOptions, ctx: StepContext) -> str | None:
        """A PR from the branch into the base exists, open or merged; nothing is created or edited."""
        repository, issue = ctx.repository, ctx.issue
        try:
            pull = ctx.forge.find_pull(issue.branch, repository.base, merged=True)
        except ForgeError as exc:
            raise StepFailed(exc.summary, exc.details) from None
        if pull is None:
            raise StepFailed(f"no open or merged PR from {issue.branch} into {repository.base}")
        ctx.record("pr", pull.label())
        ctx.record("pr_url", pull.url)
        ctx.record("pr_checks", pull.checks)
        return f"PR #{pull.number} is {pull.state} ({pull.url})"

    @staticmethod
    def _ensure(spec: PullSpec, ctx: StepContext) -> tuple[PullRequest, str]:
        """Find, else open; bring title, body and labels up to the plan. Never a second PR: also not
        when the first one was merged already (a squash or rebase merge leaves the branch behind)."""
        pull = ctx.forge.find_pull(spec.head, spec.base, merged=True)
        if pull is not None and pull.state == "merged":
            return pull, "already merged"
        if pull is None:
            try:
                return ctx.forge.create_pull(spec), "opened"
            except PullExists:  # another run opened it between our look and our create
                pull = ctx.forge.find_pull(spec.head, spec.base)
                if pull is None:
                    raise
        notes = []
        if (pull.title, pull.body) != (spec.title, spec.body):
            ctx.forge.update_pull(pull.number, spec.title, spec.body)
            pull = replace(pull, title=spec.title, body=spec.body)  # its checks did not change
            notes.append("updated")
        missing = [label for label in spec.labels if label not in pull.labels]
        if missing:
            ctx.forge.add_labels(pull.number, missing)
            notes.append(f"labelled {', '.join(missing)}")
        return pull, " and ".join(notes) or "found"
