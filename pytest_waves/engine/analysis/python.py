"""Is `pkg.sub.Thing` public API of a Python package? Answered with `ast` alone, never by importing.

Names made at runtime (a module `__getattr__`, `globals()` updates, plugin registries) are
invisible here; when a module defines `__getattr__` the report says so.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from pytest_waves.engine.analysis.report import ExportReport


@dataclass
class _Binding:
    line: int
    text: str  # the statement as shown in a chain, e.g. "from .core import Engine"
    conds: tuple[str, ...]  # enclosing `if`/`try` clauses
    type_checking: bool = False  # bound only under `if TYPE_CHECKING:`, so never at runtime
    imported: bool = False
    source: str | None = None  # imports: absolute name of the module the name comes from
    orig: str | None = None  # `from` imports: the name inside `source` (None: the module itself)


@dataclass(eq=False)
class _Module:
    name: str
    file: Path | None  # None for a namespace package
    is_pkg: bool
    bindings: dict[str, list[_Binding]] = field(default_factory=dict)
    stars: list[_Binding] = field(default_factory=list)
    all_names: list[str] | None = None
    all_line: int = 0
    all_dynamic: bool = False  # __all__ is computed, so membership cannot be checked
    getattr_line: int | None = None


@dataclass
class _Hit:
    module: _Module | None  # set when the name denotes a module
    hops: list[str]
    conds: list[str]


class _Fail(Exception):
    def __init__(self, problem: str, kind: str) -> None:  # kind: missing, private or broken
        super().__init__(problem)
        self.problem, self.kind = problem, kind


def _names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for e in target.elts for n in _names(e)]
    return _names(target.value) if isinstance(target, ast.Starred) else []


def _strings(node: ast.expr) -> list[str] | None:
    """The value of a literal list of strings (or a sum of them), else None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _strings(node.left), _strings(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, (ast.List, ast.Tuple)):
        if all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            return [e.value for e in node.elts]  # type: ignore[attr-defined]
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Tree:
    """Modules under one source directory, parsed on demand."""

    def __init__(self, base: Path, symbol: str) -> None:
        self.base, self.symbol = base, symbol
        self.cache: dict[str, _Module | None] = {}

    def rel(self, path: Path | None) -> str:
        if path is None:
            return "?"
        try:
            return path.relative_to(self.base).as_posix()
        except ValueError:
            return str(path)

    def label(self, mod: _Module) -> str:
        if mod.file is None:
            return f"namespace package {mod.name}"
        return f"module {mod.name} ({self.rel(mod.file)})"

    def find(self, name: str | None) -> _Module | None:
        if name and name not in self.cache:
            self.cache[name] = self._load(name)
        return self.cache.get(name) if name else None

    def _load(self, name: str) -> _Module | None:
        path = self.base.joinpath(*name.split("."))
        if (path / "__init__.py").is_file():
            mod = _Module(name, path / "__init__.py", True)
        elif path.with_name(path.name + ".py").is_file():
            mod = _Module(name, path.with_name(path.name + ".py"), False)
        else:
            return _Module(name, None, True) if path.is_dir() else None
        assert mod.file is not None
        try:
            tree = ast.parse(mod.file.read_text(encoding="utf-8", errors="replace"), str(mod.file))
        except SyntaxError as e:
            raise _Fail(f"{self.rel(mod.file)} does not parse: {e.msg} (line {e.lineno})", "broken") from None
        self._collect(mod, tree.body, (), False)
        return mod

    def _absolute(self, mod: _Module, module: str | None, level: int) -> str | None:
        if level == 0:
            return module
        parts = mod.name.split(".") if mod.is_pkg else mod.name.split(".")[:-1]
        keep = len(parts) - (level - 1)
        return ".".join(parts[:keep] + ([module] if module else [])) if keep > 0 else None

    def _collect(self, mod: _Module, body: list[ast.stmt], conds: tuple[str, ...], tc: bool) -> None:
        """Record the module-level bindings of `body`, descending into if/try/with blocks."""
        where = self.rel(mod.file)
        for st in body:

            def bind(name: str, text: str, imported: bool = False, source: str | None = None,
                     orig: str | None = None) -> None:
                b = _Binding(st.lineno, text, conds, tc, imported, source, orig)
                mod.bindings.setdefault(name, []).append(b)

            if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                kw = {ast.ClassDef: "class", ast.AsyncFunctionDef: "async def"}.get(type(st), "def")
                bind(st.name, f"{kw} {st.name}")
                if st.name == "__getattr__" and kw != "class":
                    mod.getattr_line = st.lineno
            elif isinstance(st, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = st.targets if isinstance(st, ast.Assign) else [st.target]
                if isinstance(st, ast.AnnAssign) and st.value is None:
                    continue  # `x: int` alone binds nothing at runtime
                for n in (n for t in targets for n in _names(t)):
                    bind(n, f"{n} = ...")
                if st.value is not None and any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                    self._set_all(mod, _strings(st.value), st.lineno, isinstance(st, ast.AugAssign))
            elif isinstance(st, ast.Expr) and isinstance(st.value, ast.Call):
                f, args = st.value.func, st.value.args  # __all__.append("x") / __all__.extend([...])
                if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "__all__":
                    arg = args[0] if len(args) == 1 else ast.Name("?")
                    names = _strings(ast.List([arg]) if f.attr == "append" else arg)
                    self._set_all(mod, names if f.attr in ("append", "extend") else None, st.lineno, True)
            elif isinstance(st, ast.Import):
                for a in st.names:
                    top = a.name.partition(".")[0]
                    if a.asname:
                        bind(a.asname, f"import {a.name} as {a.asname}", True, a.name)
                    else:
                        bind(top, f"import {a.name}", True, top)
            elif isinstance(st, ast.ImportFrom):
                src = self._absolute(mod, st.module, st.level)
                head = f"from {'.' * st.level}{st.module or ''} import "
                for a in st.names:
                    if a.name == "*":
                        mod.stars.append(_Binding(st.lineno, head + "*", conds, tc, True, src))
                    else:
                        alias = f" as {a.asname}" if a.asname else ""
                        bind(a.asname or a.name, head + a.name + alias, True, src, a.name)
            elif isinstance(st, ast.If):
                test = ast.unparse(st.test)
                inside = f"{where}:{st.lineno}: inside `if {test}:`"
                self._collect(mod, st.body, (*conds, inside), tc or _is_type_checking(st.test))
                orelse = f"{where}:{st.lineno}: inside the `else` of `if {test}:`"
                self._collect(mod, st.orelse, (*conds, orelse), tc)
            elif isinstance(st, (ast.Try, ast.TryStar)):
                self._collect(mod, st.body + st.orelse, (*conds, f"{where}:{st.lineno}: inside `try:`"), tc)
                for h in st.handlers:
                    clause = f"except {ast.unparse(h.type)}" if h.type else "except"
                    self._collect(mod, h.body, (*conds, f"{where}:{h.lineno}: inside `{clause}:`"), tc)
                self._collect(mod, st.finalbody, conds, tc)
            elif isinstance(st, (ast.With, ast.AsyncWith)):
                self._collect(mod, st.body, conds, tc)

    def _set_all(self, mod: _Module, names: list[str] | None, line: int, extend: bool) -> None:
        if names is None:
            mod.all_dynamic = True
        mod.all_names = (mod.all_names or []) + (names or []) if extend else names or []
        if not extend or not mod.all_line:
            mod.all_line = line

    def star_names(self, mod: _Module, seen: set[str] | None = None) -> set[str]:
        """Names `from mod import *` binds: __all__ when given, else the public module-level names."""
        if mod.all_names is not None and not mod.all_dynamic:
            return set(mod.all_names)
        seen = set() if seen is None else seen
        seen.add(mod.name)
        names = {n for n in mod.bindings if not n.startswith("_")}
        for s in mod.stars:
            src = self.find(s.source)
            if src is not None and src.name not in seen:
                names |= self.star_names(src, seen)
        return names

    def lookup(self, mod: _Module, name: str, requested: bool, stack: set[tuple[str, str]]) -> _Hit:
        """Resolve `mod.name`; `requested` names are part of the asked-for path and must be public."""
        key = (mod.name, name)
        if key in stack:  # an import cycle: this branch finds nothing
            raise _Fail(f"no name `{name}` in {self.label(mod)}", "missing")
        stack.add(key)
        try:
            return self._lookup(mod, name, requested, stack)
        finally:
            stack.discard(key)

    def _lookup(self, mod: _Module, name: str, requested: bool, stack: set[tuple[str, str]]) -> _Hit:
        found = mod.bindings.get(name, [])
        plain = [x for x in found if not x.conds]  # the last plain binding wins at runtime; among
        b = plain[-1] if plain else found[0] if found else None  # guarded ones, the first (try/if) branch
        if b is None:
            for s in reversed(mod.stars):
                src = self.find(s.source)
                if src is not None and name in self.star_names(src):
                    b = _Binding(s.line, s.text, s.conds, s.type_checking, True, s.source, name)
                    break
        sub = self.find(f"{mod.name}.{name}") if mod.is_pkg else None
        if b is not None and sub is not None and b.source == mod.name and b.orig == name:
            b = None  # `from . import sub` in the package names the submodule itself
        if b is None and sub is None:
            if self.lazy(mod, name):  # PEP 562: listed in __all__, made by the module's __getattr__
                return _Hit(None, [f"{self.rel(mod.file)}:{mod.getattr_line}: `{name}` is listed in __all__ and "
                                   "provided lazily by the module's `__getattr__` (PEP 562; not followed further)"], [])
            raise _Fail(self.missing(mod, name), "missing")
        if requested:
            self.check_public(mod, name, b, sub)
        if b is None:
            assert sub is not None
            return _Hit(sub, [f"{self.rel(sub.file) if sub.file else sub.name}: submodule {sub.name}"], [])
        loc = f"{self.rel(mod.file)}:{b.line}"
        hop, conds = f"{loc}: {b.text}", list(b.conds)
        if requested and mod.all_dynamic:
            conds.append(f"{self.rel(mod.file)}:{mod.all_line}: __all__ is computed, so membership was not checked")
        if b.type_checking and self.lazy(mod, name):  # the PEP 562 pattern: typed import, lazy at runtime
            hop = (f"{hop} (under TYPE_CHECKING; at runtime the module's `__getattr__`, line {mod.getattr_line}, "
                   "provides it, and __all__ lists it)")
        elif b.type_checking:
            why = f"`{name}` is bound only under `if TYPE_CHECKING:` (`{b.text}` at {loc})"
            raise _Fail(f"{why}, so it does not exist at runtime", "broken")
        if not b.imported:
            return _Hit(None, [hop], conds)
        if b.source is None:
            raise _Fail(f"`{b.text}` at {loc} reaches above the top-level package", "broken")
        if self.find(b.source.partition(".")[0]) is None:  # stdlib or third party: trusted, not analysed
            return _Hit(None, [f"{hop} (outside the analysed tree, not checked)"], conds)
        src = self.find(b.source)
        if src is None:
            raise _Fail(f"`{b.text}` at {loc} imports from {b.source}, which does not exist", "broken")
        if b.orig is None:  # `import a.b as c`
            return _Hit(src, [hop], conds)
        try:
            inner = self.lookup(src, b.orig, False, stack)
        except _Fail as f:
            if f.kind != "missing":
                raise
            why = f"`{b.text}` at {loc} imports `{b.orig}`, but {self.label(src)} does not define it"
            raise _Fail(why, "broken") from None
        return _Hit(inner.module, [hop, *inner.hops], conds + inner.conds)

    @staticmethod
    def lazy(mod: _Module, name: str) -> bool:
        """A name the module exports lazily: listed in a literal __all__, and a `__getattr__` exists."""
        return bool(mod.getattr_line) and mod.all_names is not None and name in mod.all_names

    def check_public(self, mod: _Module, name: str, b: _Binding | None, sub: _Module | None) -> None:
        where = f"{self.rel(mod.file)}:{b.line}" if b else self.rel(sub.file) if sub and sub.file else mod.name
        if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
            why = f"`{name}` starts with an underscore ({where}), so it is private by convention"
            raise _Fail(f"{why} and {self.symbol} is not a public export", "private")
        if b is not None and mod.all_names is not None and not mod.all_dynamic and name not in mod.all_names:
            raise _Fail(f"`{name}` is not listed in {self.rel(mod.file)}:__all__ (line {mod.all_line})", "private")

    def missing(self, mod: _Module, name: str) -> str:
        msg = f"no name `{name}` in {self.label(mod)}"
        for s in mod.stars:  # a star import that would bring it but filters it out
            src = self.find(s.source)
            if src is not None and name in src.bindings and name not in self.star_names(src):
                why = f"{self.rel(src.file)}:__all__ (line {src.all_line}) does not list it"
                why = why if src.all_names is not None else "it starts with an underscore"
                return f"{msg}; `{s.text}` (line {s.line}) skips it because {why}"
        if mod.getattr_line:
            msg += f"; the module defines `__getattr__` (line {mod.getattr_line}), which may provide it at runtime"
        return msg


def check_python_export(root: Path, symbol: str) -> ExportReport:
    """Is `symbol` (dotted, e.g. `pkg.sub.Thing`) public API of the package(s) at root?"""
    root = Path(root)
    parts = symbol.strip().split(".")
    if not all(p.isidentifier() for p in parts):
        raise ValueError(f"not a dotted Python name: {symbol!r}")
    if root.is_file() or (root / "__init__.py").is_file():  # a module or package: its parent holds it
        base, top = root.parent, root.stem if root.is_file() else root.name
        parts = parts if parts[0] == top else [top, *parts]
    else:
        base = root
    tree = _Tree(base, ".".join(parts))
    hops: list[str] = []
    conds: list[str] = []

    def report(problem: str | None) -> ExportReport:
        return ExportReport(problem is None, symbol, "python", tuple(hops), tuple(dict.fromkeys(conds)), problem)

    try:
        mod = tree.find(parts[0])
        if mod is None:
            return report(f"no package or module `{parts[0]}` in {base}")
        kind = "package" if mod.is_pkg else "module"
        hops.append(f"{tree.rel(mod.file) if mod.file else parts[0]}: {kind} {mod.name}")
        cur = _Hit(mod, [], [])
        for i, name in enumerate(parts[1:], 1):
            if cur.module is None:
                prefix = ".".join(parts[:i])
                return report(f"`{prefix}` is not a module, so its attribute `{name}` cannot be checked statically")
            cur = tree.lookup(cur.module, name, True, set())
            hops += cur.hops
            conds += cur.conds
    except _Fail as f:
        return report(f.problem)
    return report(None)
