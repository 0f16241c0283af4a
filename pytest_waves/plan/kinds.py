"""What the plan needs of a step kind to validate a step: the plan layer's view of `steps.StepKind`.

The loader checks each step's options with its kind; the kinds themselves (steps/) build on the
plan. This protocol keeps that dependency one-way: plan → (nothing), steps → plan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Protocol, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    create_model,
    field_validator,
)

from pytest_waves.plan.model import COMMON_STEP_KEYS, Issue, Plan, StepBase, Wave


class Kind(Protocol):
    name: ClassVar[str]
    Options: ClassVar[type[BaseModel]]
    path_options: ClassVar[tuple[str, ...]]  # options that are paths inside the issue's worktree
    read_only: ClassVar[bool]

    def parse_options(self, raw: Any) -> Any:
        """The step's raw value (a scalar short form, or a mapping) → the options' raw mapping."""

    def check_plan(self, options: Any, plan: Plan) -> str | None:
        """A problem between these options and the rest of the plan, or None."""

    def describe(self, options: Any, ctx: Any) -> str: ...

    def run(self, options: Any, ctx: Any) -> str | None: ...

    def verify(self, options: Any, ctx: Any) -> str | None: ...


def _kind_of(data: Any) -> str | None:
    """Which kind a step is: a bare name, or the one key besides name/when (None: none or several)."""
    if isinstance(data, str):
        return data
    if isinstance(data, StepBase):
        return data.kind
    if isinstance(data, dict):
        keys = [key for key in data if key not in COMMON_STEP_KEYS]
        return str(keys[0]) if len(keys) == 1 else None
    return None


def _bare_kind(data: Any) -> Any:
    return {data: None} if isinstance(data, str) else data  # `- rebase` is `- rebase: null`


def _step_model(kind: Kind) -> type[StepBase]:
    """`{run: …, name?, when?}` for the kind `run`: its field, named by the kind, takes the kind's
    options, or null, or the short form of its main option (`- run: cargo test`)."""
    value_type: Any = kind.Options | None
    shorthand = getattr(kind, "shorthand", None)
    if shorthand:
        value_type = value_type | kind.Options.model_fields[shorthand].annotation

    def fill(cls: type[StepBase], value: Any) -> Any:
        return kind.parse_options({} if value is None else value)

    title = "".join(part.capitalize() for part in kind.name.replace("-", "_").split("_")) + "Step"
    model: type[StepBase] = create_model(  # type: ignore[call-overload]
        title, __base__=StepBase, __doc__=f"A `{kind.name}` step.",
        __validators__={"_fill": field_validator(kind.name, mode="before")(fill)},
        **{kind.name: (value_type, ...)})
    model.kind = kind.name
    return model


def plan_model(kinds: Mapping[str, Kind]) -> type[Plan]:
    """The plan model for these step kinds: each step a discriminated union of the kinds' step models,
    so that one validation checks the whole plan and its JSON Schema comes from the same models."""
    plan = built_models(kinds)["Plan"]
    assert issubclass(plan, Plan)
    return plan


def built_models(kinds: Mapping[str, Kind]) -> Mapping[str, type[BaseModel]]:
    """The models built for these kinds, by name: `Plan`, `Wave`, `Issue` and one `step:KIND` a kind
    (plan/transfer.py names them to the workers, which build the same ones)."""
    key = tuple((name, id(type(kind))) for name, kind in sorted(kinds.items()))  # kinds are made anew per run
    if key not in _MODELS:
        _MODELS[key] = _build(kinds)
    return _MODELS[key]


_MODELS: dict[tuple[tuple[str, int], ...], dict[str, type[BaseModel]]] = {}


def _build(kinds: Mapping[str, Kind]) -> dict[str, type[BaseModel]]:
    models = {name: _step_model(kind) for name, kind in sorted(kinds.items())}
    union: Any = Annotated[Union[tuple(Annotated[model, Tag(name)] for name, model in models.items())],  # noqa: UP007
                           Discriminator(_kind_of)]
    bare: Any = Literal[tuple(models)]
    one_step: Any = Annotated[union, BeforeValidator(_bare_kind, json_schema_input_type=Union[union, bare])]  # noqa: UP007
    issue = create_model("Issue", __base__=Issue, steps=(list[one_step], Field(min_length=1)))  # type: ignore[call-overload]
    wave = create_model("Wave", __base__=Wave, issues=(list[issue], Field(min_length=1)))  # type: ignore[call-overload, valid-type]
    plan = create_model("Plan", __base__=Plan, waves=(list[wave], Field(min_length=1)))  # type: ignore[call-overload, valid-type]
    return {"Plan": plan, "Wave": wave, "Issue": issue, **{f"step:{name}": model for name, model in models.items()}}
