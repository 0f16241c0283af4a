"""YAML → plain data, remembering the line of every value so errors can point at it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]
MAX_NODES = 200_000  # alias expansion past this is a "billion laughs" plan, not a real one


class SourceError(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _Builder:
    def __init__(self) -> None:
        self.lines: dict[Loc, int] = {}
        self.count = 0
        self._scalars = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise SourceError(f"the plan expands to more than {MAX_NODES} values (nested aliases?)",
                              node.start_mark.line + 1)
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise SourceError("YAML merge keys (<<) are not supported in plans",
                                      key_node.start_mark.line + 1)
                key = self.build(key_node, loc)
                if not isinstance(key, (str, int)):
                    raise SourceError("mapping keys must be plain names", key_node.start_mark.line + 1)
                if key in result:
                    raise SourceError(f"duplicate key {key!r}", key_node.start_mark.line + 1)
                self.lines[(*loc, key)] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, (*loc, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*loc, index)) for index, child in enumerate(node.value)]
        return self._scalars.construct_object(node, deep=True)


def load_yaml(path: Path) -> tuple[Any, dict[Loc, int]]:
    """Parse one YAML document; return the data and a location → line map."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read the plan: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceError("the plan is not valid UTF-8", line) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise SourceError(f"YAML syntax error: {problem}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise SourceError(f"YAML error: {exc}") from None
    if node is None:
        raise SourceError("the plan is empty", 1)
    builder = _Builder()
    try:
        data = builder.build(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise SourceError(f"YAML error: {exc.problem}", mark.line + 1 if mark else None) from None
    except RecursionError:
        raise SourceError("the plan nests too deeply") from None
    return data, builder.lines


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """The line of loc, or of its nearest enclosing value that has one."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def dotted(loc: Loc) -> str:
    """('waves', 0, 'issues', 1, 'branch') → 'waves[0].issues[1].branch'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(plan)"
