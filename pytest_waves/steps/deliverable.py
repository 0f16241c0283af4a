"""The deliverable step: the branch delivers a file — it exists, is not empty, has what the plan
requires, and the branch added or changed it (a file that was already on the base proves nothing)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field

from pytest_waves.steps.base import StepContext, StepFailed, StepKind, StepOptions


class DeliverableOptions(StepOptions):
    path: str = Field(description="file, relative to the issue's worktree")
    sections: tuple[str, ...] = Field(default=(), description="Markdown headings that must be present")
    contains: tuple[str, ...] = Field(default=(), description="regular expressions some line must match")
    min_lines: int = Field(default=1, ge=0)
    changed: bool = Field(default=True, description="the branch must add or change the file (false: it may "
                          "already be on the base, unchanged)")


class Deliverable(StepKind[DeliverableOptions]):
    read_only = True
    name = "deliverable"
    Options = DeliverableOptions
    shorthand = "path"
    path_options = ("path",)

    def describe(self, options: DeliverableOptions, ctx: StepContext) -> str:
        extra = f" with sections {', '.join(options.sections)}" if options.sections else ""
        return f"check {options.path} exists and is complete{extra}"

    def run(self, options: DeliverableOptions, ctx: StepContext) -> str | None:
        target = ctx.worktree / options.path
        if not target.is_file():
            raise StepFailed(f"deliverable {options.path} is missing", [f"looked for {target}"])
        if not target.resolve().is_relative_to(ctx.repo_root.resolve()):
            raise StepFailed(f"deliverable {options.path} resolves outside the repository (symlink?)")
        text = target.read_text(encoding="utf-8", errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
        problems: list[str] = []
        if len(lines) < options.min_lines:
            problems.append(f"has {len(lines)} non-empty line(s), needs at least {options.min_lines}"
                            if lines else "is empty")
        headings = {re.sub(r"^#+\s*", "", line).strip().lower() for line in lines if line.lstrip().startswith("#")}
        problems += [f"missing section: {section}" for section in options.sections
                     if section.lstrip("# ").strip().lower() not in headings]
        problems += [f"no line matches: {pattern}" for pattern in options.contains
                     if not any(re.search(pattern, line) for line in lines)]
        if problems:
            raise StepFailed(f"deliverable {options.path} is incomplete", problems)
        how = delivered_by_branch(options.path, ctx) if options.changed else "may be unchanged"
        return f"{options.path}: {len(lines)} lines, {how}"


def delivered_by_branch(path: str, ctx: StepContext) -> str:
    """Did the branch add or change the file? Against its merge base with the base branch; once the
    branch is merged, in the branch's own commits (those on its first-parent line, not the base's)."""
    import pytest_waves.engine.gitops as gitops

    repo = gitops.open_repo(ctx.worktree)
    base = f"{ctx.repository.remote}/{ctx.repository.base}"
    if gitops.resolve(repo, base) is None:
        raise StepFailed(f"cannot tell whether the branch delivers {path}: {base} does not exist here",
                         ["fetch it (the rebase step does), or set `changed: false` for this deliverable"])
    relative = str((ctx.worktree / path).resolve().relative_to(Path(repo.working_dir).resolve()))
    fork = gitops.merge_base(repo, "HEAD", base)
    if fork and repo.git.diff("--name-only", fork, "HEAD", "--", relative):
        return f"changed on the branch since {base}"
    own = set(gitops.own_commits(repo, base))
    touched = [sha for sha in str(repo.git.log("--first-parent", "--format=%H", "HEAD", "--", relative)).split()
               if sha in own]
    if touched:
        return f"changed by the branch's commit {touched[0][:12]} (merged since)"
    if repo.git.status("--porcelain", "--", relative):
        raise StepFailed(f"{path} is changed in the worktree but not committed: the branch does not deliver it "
                         "yet", ["commit it on the branch"])
    raise StepFailed(f"{path} is already on {base} and this branch does not change it",
                     ["a deliverable must be the branch's work; if it may stay as it is, set `changed: false`"])
