"""The controller's validated plans, handed to xdist's workers, so that no worker reads the YAML,
validates it or checks it again.

The plans are pickled with three kinds of objects named instead of copied: the step kinds (each
process has its own registry, and a kind is behaviour, not data), their options models (a plugin may
build one where no import can find it) and the plan models that plan/kinds.py builds at run time,
which no module attribute holds. A worker builds the same models from its own kinds (cheap: they
defer their validators, see model.Strict) and resolves the names.

A plan that does not pickle (an option's value that cannot be) is not sent: dumps() says None, and
the workers read the file as they did before this module."""

from __future__ import annotations

import io
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_waves.plan.kinds import Kind, built_models
from pytest_waves.plan.loader import LoadedPlan

PLANS_KEY = "waves_plans"  # the workerinput key: the controller's plans, as dumps() wrote them


class TransferError(Exception):
    """The worker cannot take the controller's plans (its step kinds differ)."""


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, kinds: Mapping[str, Kind]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._kinds = {type(kind): name for name, kind in kinds.items()}  # any instance: registry() makes new ones
        self._models = {model: name for name, model in built_models(kinds).items()}
        self._models.update({kind.Options: f"options:{name}" for name, kind in kinds.items()})

    def persistent_id(self, obj: Any) -> tuple[str, str] | None:
        if isinstance(obj, type):
            model = self._models.get(obj)
            return ("model", model) if model is not None else None
        kind = self._kinds.get(type(obj))
        return ("kind", kind) if kind is not None else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, kinds: Mapping[str, Kind]) -> None:
        super().__init__(file)
        self._kinds = kinds
        self._models = {**built_models(kinds), **{f"options:{name}": kind.Options for name, kind in kinds.items()}}

    def persistent_load(self, pid: Any) -> Any:
        what, name = pid
        found = (self._kinds if what == "kind" else self._models).get(name)
        if found is None:
            kind = name.split(":")[-1]  # a kind's models are missing with the kind
            raise TransferError(f"the controller's plan has the step kind {kind!r}, which this worker does not "
                                "know: every process of a run must load the same plugins")
        return found


def dumps(plans: Mapping[Path, LoadedPlan], kinds: Mapping[str, Kind]) -> bytes | None:
    out = io.BytesIO()
    try:
        _Pickler(out, kinds).dump(dict(plans))
    except (pickle.PicklingError, AttributeError, TypeError):
        return None  # something in it does not pickle: the workers read the file themselves
    return out.getvalue()


def loads(blob: bytes, kinds: Mapping[str, Kind]) -> dict[Path, LoadedPlan]:
    """The controller's plans; TransferError when this worker cannot take them."""
    try:
        plans: dict[Path, LoadedPlan] = _Unpickler(io.BytesIO(blob), kinds).load()
    except TransferError:
        raise
    except Exception as exc:  # a class that moved or does not import here: say what, not a traceback
        raise TransferError(f"the controller's plan does not load on this worker: {exc!r}") from exc
    return plans
