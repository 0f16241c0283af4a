"""The pr step: one open pull request for the branch whose body closes the issue; reruns find it."""

from __future__ import annotations

import re

from pydantic import Field

from .base import StepContext, StepFailed, StepKind, StepOptions


class PrOptions(StepOptions):
    title: str | None = Field(default=None, description="defaults to the issue's title")
    body: str = Field(default="", description="`Closes #N` is added when the body does not close the issue")


def closing_body(body: str, number: int) -> str:
    if re.search(rf"\b(close[sd]?|fix(e[sd])?|resolve[sd]?)\s+#{number}\b", body, re.IGNORECASE):
        return body
    return f"{body.rstrip()}\n\nCloses #{number}".lstrip()


class Pr(StepKind[PrOptions]):
    name = "pr"
    Options = PrOptions

    def describe(self, options: PrOptions, ctx: StepContext) -> str:
        base = ctx.plan.plan.repository.base
        return f"open or update the PR {ctx.issue.branch} → {base} with `Closes #{ctx.issue.number}`"

    def run(self, options: PrOptions, ctx: StepContext) -> str | None:
        from .. import gitops  # GitPython loads with the first git step (see steps/git.py)

        repository, issue = ctx.plan.plan.repository, ctx.issue
        repo = gitops.open_repo(ctx.worktree)
        if gitops.remote_head(repo, repository.remote, issue.branch) is None:
            raise StepFailed(f"{issue.branch} is not on {repository.remote}; push it before opening a PR")
        title = options.title or issue.title
        body = closing_body(options.body, issue.number)
        pull = ctx.forge.find_pull(issue.branch, repository.base)
        if pull is None:
            pull, note = ctx.forge.create_pull(issue.branch, repository.base, title, body), "opened"
        elif (pull.title, pull.body) != (title, body):
            pull, note = ctx.forge.update_pull(pull.number, title, body), "updated"
        else:
            note = "found"
        ctx.record("pr", pull.label())
        ctx.record("pr_url", pull.url)
        return f"{note} PR #{pull.number} ({pull.url})"
