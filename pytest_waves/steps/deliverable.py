"""The deliverable step: a file exists, is not empty, and has what the plan requires."""

from __future__ import annotations

import re

from pydantic import Field

from pytest_waves.steps.base import StepContext, StepFailed, StepKind, StepOptions


class DeliverableOptions(StepOptions):
    path: str = Field(description="file, relative to the issue's worktree")
    sections: tuple[str, ...] = Field(default=(), description="Markdown headings that must be present")
    contains: tuple[str, ...] = Field(default=(), description="regular expressions some line must match")
    min_lines: int = Field(default=1, ge=0)


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
        return f"{options.path}: {len(lines)} lines"
