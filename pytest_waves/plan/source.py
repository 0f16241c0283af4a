"""YAML → plain data, remembering the line of every value so errors can point at it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml  # imported when a plan is read: xdist's workers take the controller's (plan/transfer.py)

Loc = tuple[str | int, ...]
MAX_NODES = 200_000  # alias expansion past this is a "billion laughs" plan, not a real one
MAX_DEPTH = 64  # a plan is about 8 levels deep; hundreds are a malformed or hostile file
MAX_BYTES = 5 * 1024 * 1024  # a 10,000-step plan is about 0.5 MB; more is a mistake, not a plan
_STR = "tag:yaml.org,2002:str"


class SourceError(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class LineMap:
    """Location → line. Keys are flattened to strings, so the map holds no object the garbage collector
    tracks: a 10,000-step plan adds nothing to the cost of every later `gc.collect()`."""

    __slots__ = ("_lines",)

    def __init__(self) -> None:
        self._lines: dict[str, int] = {}

    @staticmethod
    def key(loc: Loc) -> str:
        return "".join(f"\x1f#{part}" if isinstance(part, int) else f"\x1f{part}" for part in loc)

    def get(self, loc: Loc) -> int | None:
        return self._lines.get(self.key(loc))


class _Builder:
    def __init__(self) -> None:
        self.lines = LineMap()
        self._map = self.lines._lines
        self.count = 0
        import yaml

        self._scalars = yaml.constructor.SafeConstructor()
        self._mapping, self._sequence = yaml.MappingNode, yaml.SequenceNode

    def build(self, node: yaml.Node, key: str, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise SourceError(f"the plan nests more than {MAX_DEPTH} levels deep", node.start_mark.line + 1)
        self.count += 1
        if self.count > MAX_NODES:
            raise SourceError(f"the plan expands to more than {MAX_NODES} values (nested aliases?)",
                              node.start_mark.line + 1)
        if key not in self._map:
            self._map[key] = node.start_mark.line + 1
        if node.tag == _STR:
            return node.value  # most values of a plan: skip the constructor's bookkeeping
        if isinstance(node, self._mapping):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise SourceError("YAML merge keys (<<) are not supported in plans",
                                      key_node.start_mark.line + 1)
                name = key_node.value if key_node.tag == _STR else self.build(key_node, key)
                if not isinstance(name, (str, int)):
                    raise SourceError("mapping keys must be plain names", key_node.start_mark.line + 1)
                if name in result:
                    raise SourceError(f"duplicate key {name!r}", key_node.start_mark.line + 1)
                where = f"{key}\x1f#{name}" if isinstance(name, int) else f"{key}\x1f{name}"
                self._map[where] = key_node.start_mark.line + 1
                result[name] = self.build(value_node, where, depth + 1)
            return result
        if isinstance(node, self._sequence):
            return [self.build(child, f"{key}\x1f#{index}", depth + 1) for index, child in enumerate(node.value)]
        return self._scalars.construct_object(node, deep=True)


def load_yaml(path: Path) -> tuple[Any, LineMap]:
    """Parse one YAML document; return the data and a location → line map."""
    import yaml
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SourceError(f"the plan is {size / 1024 / 1024:.1f} MB; plans are limited to "
                              f"{MAX_BYTES // 1024 // 1024} MB (is this the right file?)")
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read the plan: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceError("the plan is not valid UTF-8", line) from None
    try:
        # libyaml when PyYAML was built with it: ten times faster on big plans, same marks and errors
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
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
        data = builder.build(node, "")
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise SourceError(f"YAML error: {exc.problem}", mark.line + 1 if mark else None) from None
    except RecursionError:
        raise SourceError("the plan nests too deeply") from None
    return data, builder.lines


def line_of(lines: LineMap, loc: Loc) -> int | None:
    """The line of loc, or of its nearest enclosing value that has one."""
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None


def dotted(loc: Loc) -> str:
    """('waves', 0, 'issues', 1, 'branch') → 'waves[0].issues[1].branch'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(plan)"
