"""Rust `cfg` predicates, evaluated for a target without its toolchain: a Linux run can tell that a
module is part of the crate on macOS, or that a symbol is not.

Known keys: `target_os`, `target_family`, `unix`, `windows`, `target_vendor`, `feature`, `test`,
`debug_assertions`. A key it does not know (`target_arch`, a custom `--cfg`) makes the answer
"cannot tell" (None), never a guess."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

UNIX = {"linux", "macos", "ios", "android", "freebsd", "netbsd", "openbsd", "dragonfly", "solaris", "illumos"}
APPLE = {"macos", "ios", "tvos", "watchos", "visionos"}
_TOKEN = re.compile(r'\s*(?:(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<punct>[(),=]))')
_ATTRIBUTE = re.compile(r"#!?\[\s*cfg\s*\((?P<predicate>.*)\)\s*\]")


@dataclass(frozen=True)
class Target:
    os: str
    features: frozenset[str] = field(default_factory=frozenset)
    test: bool = False

    def __str__(self) -> str:
        return self.os

    def value(self, key: str, value: str | None) -> bool | None:
        family = "windows" if self.os == "windows" else "unix" if self.os in UNIX else None
        if value is None:
            return {"unix": family == "unix", "windows": family == "windows", "test": self.test,
                    "debug_assertions": True}.get(key)
        if key == "target_os":
            return self.os == value
        if key == "target_family":
            return family == value if family else None
        if key == "target_vendor":
            return value == "apple" if self.os in APPLE else (None if value != "apple" else False)
        if key == "feature":
            return value in self.features
        return None


def predicate(attribute: str) -> str | None:
    """`#[cfg(target_os = "macos")]` → `target_os = "macos"`; None for anything else (cfg_attr)."""
    found = _ATTRIBUTE.search(attribute)
    return found["predicate"] if found else None


def evaluate(text: str, target: Target) -> bool | None:
    """True or False for the target; None when a key it does not know decides."""
    tokens = [(kind, value) for match in _TOKEN.finditer(text) for kind, value in match.groupdict().items() if value]
    result, rest = _expression(tokens, target)
    return result if not rest else None


def _expression(tokens: list[tuple[str, str]], target: Target) -> tuple[bool | None, list[tuple[str, str]]]:
    if not tokens or tokens[0][0] != "ident":
        return None, []
    name, rest = tokens[0][1], tokens[1:]
    if rest and rest[0] == ("punct", "("):
        rest, parts = rest[1:], []
        while rest and rest[0] != ("punct", ")"):
            part, rest = _expression(rest, target)
            parts.append(part)
            if rest and rest[0] == ("punct", ","):
                rest = rest[1:]
        rest = rest[1:]  # the closing parenthesis
        return _combine(name, parts), rest
    if len(rest) >= 2 and rest[0] == ("punct", "=") and rest[1][0] == "string":
        return target.value(name, rest[1][1][1:-1]), rest[2:]
    return target.value(name, None), rest


def _combine(name: str, parts: list[bool | None]) -> bool | None:
    if name == "not":
        return None if len(parts) != 1 or parts[0] is None else not parts[0]
    if name == "all":
        return False if False in parts else None if None in parts else True
    if name == "any":
        return True if True in parts else None if None in parts else False
    return None


def default_features(crate: Path) -> frozenset[str]:
    """The crate's default features (`[features] default = [...]`), or none."""
    manifest = crate / "Cargo.toml" if crate.is_dir() else None
    if manifest is None or not manifest.is_file():
        return frozenset()
    try:
        features = tomllib.loads(manifest.read_text(encoding="utf-8")).get("features", {})
    except (tomllib.TOMLDecodeError, OSError):
        return frozenset()
    enabled: set[str] = set()
    waiting = [str(name) for name in features.get("default", [])]
    while waiting:  # `default = ["std"]` and `std = ["alloc"]` enable both
        name = waiting.pop()
        if name in enabled or name.startswith("dep:") or "/" in name:
            continue
        enabled.add(name)
        waiting += [str(more) for more in features.get(name, [])]
    return frozenset(enabled)
