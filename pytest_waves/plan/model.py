"""The plan as typed data: what a wave plan holds, validated by pydantic.

Each step kind owns its options model (see ``steps``), so a third-party kind validates its own
options. A step here is its common keys; plan/kinds.py makes one subclass per registered kind and
the plan model whose steps are their discriminated union, validated in one pass.
"""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
COMMON_STEP_KEYS = ("name", "when")
ISSUE_NUMBER_MAX = 2**31 - 1  # GitHub's issue and PR numbers are 32-bit integers


class Strict(BaseModel):
    # defer_build: a model's validator is built when it first validates. The controller validates
    # the plan; xdist's workers take its validated copy (plan/transfer.py) and never build one.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def current_os() -> str:
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform == "darwin":
        return "macos"
    if sys.platform in ("win32", "cygwin"):
        return "windows"
    return sys.platform


class When(Strict):
    """Run the step only where this holds; elsewhere it is skipped with the reason, never failed."""

    os: list[Literal["linux", "macos", "windows"]] = Field(min_length=1)

    def skip_reason(self) -> str | None:
        here = current_os()
        if here in self.os:
            return None
        return f"only on {', '.join(self.os)} (this is {here})"


class StepBase(Strict):
    """One checklist item: ``{kind: options, name?, when?}``, or just ``kind``. plan/kinds.py makes a
    subclass per step kind, whose one more field, named by the kind, holds its options."""

    kind: ClassVar[str] = ""
    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    when: When | None = None

    @property
    def options(self) -> BaseModel:
        value: BaseModel = getattr(self, self.kind)
        return value


class Risk(Strict):
    level: Literal["low", "medium", "medium-high", "high"] = "low"
    mitigation: str = ""


class Issue(Strict):
    number: int = Field(gt=0, le=ISSUE_NUMBER_MAX)
    title: str = Field(min_length=1)
    branch: str = Field(min_length=1)
    worktree: str | None = None
    deliverables: list[str] = Field(default_factory=list)
    depends_on: list[int] = Field(default_factory=list)
    risk: Risk = Field(default_factory=Risk)
    deferrable: bool = False
    criteria: str = ""
    steps: list[StepBase] = Field(min_length=1)

    @field_validator("branch")
    @classmethod
    def _git_branch_name(cls, value: str) -> str:
        # The rules of `git check-ref-format --branch`, checked without a repository.
        bad = (
            value.startswith(("-", "/")) or value.endswith(("/", ".", ".lock"))
            or ".." in value or "//" in value or "@{" in value or value == "@"
            or re.search(r"[\x00-\x20\x7f~^:?*\[\\]", value) is not None
            or any(part.startswith(".") for part in value.split("/"))
        )
        if bad:
            raise ValueError(f"{value!r} is not a valid git branch name")
        return value


class Wave(Strict):
    id: int | str
    name: str = ""
    depends_on: list[int | str] = Field(default_factory=list)
    issues: list[Issue] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id_is_keyword(cls, value: int | str) -> int | str:
        if isinstance(value, str) and not re.match(NAME_PATTERN, value):
            raise ValueError("a wave id is a number or a name of letters, digits, '_', '.', '-'")
        return value

    @property
    def key(self) -> str:
        return f"wave{self.id}"


class Sandbox(Strict):
    """A throwaway repository built before the run: a bare origin and a checkout of it."""

    seed: str
    branches: dict[str, str] = Field(default_factory=dict)


class Repository(Strict):
    path: str = "."
    remote: str = "origin"
    base: str = "main"
    sandbox: Sandbox | None = None


class ForgeSettings(Strict):
    """Where pull requests live: the embedded local forge, or GitHub (token from the environment)."""

    # What _github_names_its_repository checks, said in the JSON Schema too
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={
        "if": {"properties": {"kind": {"const": "github"}}, "required": ["kind"]}, "then": {"required": ["repo"]}})

    kind: Literal["local", "github"] = "local"
    repo: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
                             description="owner/name of the GitHub repository")
    api_url: str | None = Field(default=None, description="GitHub Enterprise: https://HOST/api/v3")
    timeout: int = Field(default=15, gt=0, description="seconds to wait for one answer")
    retries: int = Field(default=5, ge=0, description="retries of 5xx answers, timeouts and rate limits")
    max_wait: float = Field(default=120, ge=0, description="longest wait for a rate limit to reset, seconds")
    write_interval: float = Field(default=1.0, ge=0,
                                  description="seconds between writes (GitHub asks for one)")

    @field_validator("api_url")
    @classmethod
    def _plain_http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^/@\s]+(/\S*)?", value):
            # never echo the value: a URL with credentials in it holds a secret
            raise ValueError("must be http(s)://HOST[/PATH] without credentials (the token comes from GITHUB_TOKEN)")
        return value

    @model_validator(mode="after")
    def _github_names_its_repository(self) -> ForgeSettings:
        if self.kind == "github" and self.repo is None:
            raise ValueError("a github forge needs `repo: owner/name`")
        return self


def _forge_short_form(data: Any) -> Any:
    return {"kind": data} if isinstance(data, str) else data  # `forge: local`


AGENT_PRESETS = ("claude", "codex", "amp", "aider", "gemini")  # their commands: steps/agent.py


class RetryOn(Strict):
    """Which failures of an agent are transient (a rate limit, a dropped connection): retried."""

    exit: list[int] = Field(default_factory=list, description="exit codes")
    output: list[str] = Field(default_factory=list, description="regular expressions, searched in its output "
                              "(e.g. '\\b429\\b', 'rate limit')")

    @field_validator("output")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return patterns


class Agent(Strict):
    """A coding agent the plan may dispatch: a command template run without a shell, or a preset for a
    known agent CLI (chosen by `preset:`, or by the agent's name when it is a preset's)."""

    preset: Literal["claude", "codex", "amp", "aider", "gemini"] | None = Field(
        default=None, description="a known agent CLI's non-interactive command and variables")
    command: list[str] | None = Field(default=None, min_length=1, description="argv template (instead of "
                                      "the preset's): {agent}, {prompt} and the issue's {number}, {title}, "
                                      "{branch}, {worktree}, {deliverables}, {checklist}")
    timeout: float = Field(default=3600, gt=0, description="seconds; then the whole process group is killed")
    env: list[str] = Field(default_factory=list, description="secrets passed through by name (API keys): "
                           "masked in every output; unset is an error before dispatch")
    pass_env: list[str] = Field(default_factory=list, description="other variables passed through by name "
                                "(AWS_REGION, HTTPS_PROXY, SSH_AUTH_SOCK): not masked; unset is an error")
    set_env: dict[str, str] = Field(default_factory=dict, description="variables set to these values (not secrets)")
    missing_env: Literal["error", "warn"] = Field(default="error", description="a variable of env/pass_env "
                                                  "that is not set: fail before dispatch, or say so and go on")
    retries: int = Field(default=0, ge=0, le=10, description="attempts after a failed one that `retry_on` calls "
                         "transient (a timeout never is)")
    retry_on: RetryOn = Field(default_factory=RetryOn, description="exit codes and output patterns of a transient "
                              "failure; neither given: any non-zero exit")
    backoff: float = Field(default=30, ge=0, description="seconds before the first retry, doubled for each next one")
    max_parallel: int | None = Field(default=None, ge=1, description="at most this many of its steps at once "
                                     "under -n (an API's rate limit, a licence's seats); default: no limit")


class MergeChecks(Strict):
    """Wave-level acceptance: trial merges of branches that may run at the same time (opt-in)."""

    overlap: Literal["warn", "fail", "ignore"] = Field(
        default="warn", description="two branches that change the same file without conflict")
    max_behind: int | None = Field(default=None, ge=0,
                                   description="most commits of the base a branch may be missing")


class Plan(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, title="pytest-waves plan",
                              json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"})

    project: str = Field(min_length=1)
    repository: Repository = Field(default_factory=Repository)
    forge: Annotated[ForgeSettings, BeforeValidator(_forge_short_form, json_schema_input_type=ForgeSettings | Literal[
        "local"])] = Field(default_factory=ForgeSettings, description="`local` (the default) or the GitHub settings")
    merges: MergeChecks | None = Field(default=None, description="add wave-level merge checks")
    agents: dict[str, Agent] = Field(default_factory=dict, description="name → agent, for `agent` steps")
    waves: list[Wave] = Field(min_length=1)

    def issues(self) -> list[tuple[Wave, Issue]]:
        return [(wave, issue) for wave in self.waves for issue in wave.issues]
