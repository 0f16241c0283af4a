"""The two ways a step's work ends without success, shared by the engine and the step kinds."""

from __future__ import annotations

from collections.abc import Sequence


class NotVerifiable(Exception):
    """The kind changes state and has no read-only check: `--waves-verify` skips it with this reason."""


class StepFailed(Exception):
    """A step did not hold. Shown as the failing checklist item, never as a plugin traceback."""

    def __init__(self, summary: str, details: Sequence[str] = (), output: str = "") -> None:
        super().__init__(summary)
        self.summary = summary
        self.details = list(details)
        self.output = output
