"""The controller's validated plans, handed to xdist's workers, so that no worker reads the YAML,
validates it or checks it again.

The plans are pickled with two kinds of objects named instead of copied: the step kinds (each
process has its own registry, and a kind is behaviour, not data) and the plan models that
plan/kinds.py builds at run time, which no module attribute holds. A worker builds the same models
from its own kinds (cheap: they defer their validators, see model.Strict) and resolves the names."""

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

    def persistent_id(self, obj: Any) -> tuple[str, str] | None:
        if isinstance(obj, type):
            model = self._models.get(obj)
            return ("model", model) if model is not None else None
        kind = self._kinds.get(type(obj))
        return ("kind", kind) if kind is not None else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, kinds: Mapping[str, Kind]) -> None:
        super().__init__(file)
        self._kinds, self._models = kinds, built_models(kinds)

    def persistent_load(self, pid: Any) -> Any:
        what, name = pid
        found = (self._kinds if what == "kind" else self._models).get(name)
        if found is None:
            kind = name.removeprefix("step:")  # a kind's step model is missing with its kind
            raise TransferError(f"the controller's plan has the step kind {kind!r}, which this worker does not "
                                "know: every process of a run must load the same plugins")
        return found


def dumps(plans: Mapping[Path, LoadedPlan], kinds: Mapping[str, Kind]) -> bytes:
    out = io.BytesIO()
    _Pickler(out, kinds).dump(dict(plans))
    return out.getvalue()


def loads(blob: bytes, kinds: Mapping[str, Kind]) -> dict[Path, LoadedPlan]:
    plans: dict[Path, LoadedPlan] = _Unpickler(io.BytesIO(blob), kinds).load()
    return plans
