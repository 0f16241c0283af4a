"""Is `vm::Hypervisor` public API of a crate? Answered by reading the source, never by running cargo.

Comments and literals are lexed away, each module's items are scanned, and `mod`/`use`
declarations are followed with rustc's file layout rules. Items produced by macros or build
scripts are invisible to this scan.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_waves.engine.analysis.report import ExportReport

_TOKEN = re.compile(
    r"""(?P<skip>\s+|//[^\n]*)                             # whitespace, line and doc comments
      | (?P<block>/\*)                                     # block comments nest: scanned by hand
      | (?:br|cr|r)(?P<hashes>\#*)"(?P<raw>.*?)"(?P=hashes)
      | [bc]?"(?P<str>(?:\\.|[^"\\])*)"
      | (?P<lit>b?'(?:\\(?:u\{[^}]*\}|.)|[^\\'])'|\d\w*(?:\.\d\w*)?)   # 'a' is a char, before 'a ...
      | (?P<life>'[^\W\d]\w*)                               # ... is tried as a lifetime or label
      | (?:r\#)?(?P<id>[^\W\d]\w*)
      | (?P<p>::|.)""",
    re.X | re.S,
)
_IDENT = re.compile(r"(?:r#)?[^\W\d]\w*")
_OPEN = ("(", "[", "{")
_ITEMS = {"fn", "struct", "enum", "union", "trait", "type", "const", "static", "macro", "impl"}
_BRACE_ENDS = {"fn", "struct", "enum", "union", "trait", "macro", "impl"}  # the others end at `;`
_QUALIFIERS = {"unsafe", "async", "default", "auto", "safe"}
_NOT_DEFS = ("use", "macro call")


@dataclass
class _Tok:
    kind: str  # "id", "str", "lit", "life" or "p" (punctuation)
    text: str
    pos: int
    end: int


def _lex(src: str) -> list[_Tok]:
    """Tokens of Rust source; comments vanish and literals are single tokens, so their text fakes nothing."""
    toks: list[_Tok] = []
    i = 0
    while m := _TOKEN.match(src, i):  # `.` under re.S matches anything, so this stops only at the end
        i, kind = m.end(), m.lastgroup or "p"
        if kind == "block":
            depth = 1
            while depth and i < len(src):
                two = src[i : i + 2]
                depth += {"/*": 1, "*/": -1}.get(two, 0)
                i += 2 if two in ("/*", "*/") else 1
        elif kind != "skip":
            toks.append(_Tok("str" if kind == "raw" else kind, m.group(kind), m.start(), i))
    return toks


@dataclass
class _Attr:
    name: str  # "cfg", "path", "macro_export", ...
    text: str  # as written, whitespace collapsed
    line: int
    value: str | None  # the string of `#[name = "value"]`


@dataclass(eq=False)
class _Decl:
    kind: str  # "mod", "use", "fn", "struct", ..., "macro_rules", "variant", "extern crate", "macro call"
    name: str  # the name bound in its module ("*" for a glob `use`)
    vis: str  # "" (private), "pub", "pub(crate)", ...
    text: str  # how the declaration reads in a chain line
    file: Path
    line: int
    attrs: list[_Attr]
    target: tuple[str, ...] = ()  # `use`: the imported path (the module, for a glob)
    body: list[_Decl] | None = None  # items of an inline `mod x { .. }`, or an enum's variants
    inner: list[_Attr] = field(default_factory=list)  # `#![..]` of an inline mod


class _Parser:
    """Scans one file into declarations; item bodies are skipped by bracket matching."""

    def __init__(self, file: Path, src: str) -> None:
        self.file, self.src, self.toks = file, src, _lex(src)
        self.close = [len(self.toks)] * len(self.toks)  # index of each opener's closer
        stack: list[int] = []
        for k, t in enumerate(self.toks):
            if t.kind == "p" and t.text in _OPEN:
                stack.append(k)
            elif t.kind == "p" and t.text in ")]}" and stack:
                self.close[stack.pop()] = k
        self.newlines = [k for k, ch in enumerate(src) if ch == "\n"]

    def is_(self, k: int, text: str) -> bool:
        return k < len(self.toks) and self.toks[k].text == text and self.toks[k].kind in ("id", "p")

    def id_at(self, k: int) -> str:
        return self.toks[k].text if k < len(self.toks) and self.toks[k].kind == "id" else ""

    def after(self, k: int) -> int:  # index just past the token, or the bracket group, at k
        group = self.toks[k].kind == "p" and self.toks[k].text in _OPEN
        return min(self.close[k] + 1, len(self.toks)) if group else k + 1

    def line(self, k: int) -> int:
        return bisect.bisect_right(self.newlines, self.toks[k].pos) + 1

    def text(self, a: int, b: int) -> str:  # source of tokens a..b-1, whitespace collapsed
        return " ".join(self.src[self.toks[a].pos : self.toks[min(b, len(self.toks)) - 1].end].split())

    def items(self, k: int, end: int) -> tuple[list[_Decl], list[_Attr]]:
        decls: list[_Decl] = []
        inner: list[_Attr] = []
        while k < end:
            attrs: list[_Attr] = []
            while self.is_(k, "#") and (self.is_(k + 1, "[") or self.is_(k + 1, "!") and self.is_(k + 2, "[")):
                op = k + 2 if self.is_(k + 1, "!") else k + 1
                value = self.toks[op + 3] if self.is_(op + 2, "=") and op + 3 < len(self.toks) else None
                attr = _Attr(self.id_at(op + 1), self.text(k, self.close[op] + 1), self.line(k), None)
                attr.value = value.text if value is not None and value.kind == "str" else None
                (inner if op == k + 2 else attrs).append(attr)
                k = self.after(op)
            if k >= end:
                break
            line, vis = self.line(k), ""
            if self.is_(k, "pub"):
                vis, k = "pub", k + 1
                if self.is_(k, "("):
                    vis, k = self.text(k - 1, self.after(k)), self.after(k)
            extern = False
            while k + 1 < len(self.toks):  # qualifiers before the item keyword
                t, nxt = self.toks[k], self.toks[k + 1]
                if t.kind == "id" and t.text in _QUALIFIERS and nxt.kind == "id":
                    k += 1
                elif t.text == "const" and nxt.text in ("fn", "unsafe", "async", "extern"):
                    k += 1
                elif t.text == "extern" and nxt.text != "crate":
                    extern, k = True, k + (2 if nxt.kind == "str" else 1)
                else:
                    break
            k = self.item(k, end, _Decl("", "", vis, "", self.file, line, attrs), extern, decls)
        return decls, inner

    def item(self, k: int, end: int, proto: _Decl, extern: bool, decls: list[_Decl]) -> int:
        """Parse the item at k into `decls`; return the index after it."""
        if k >= len(self.toks):
            return k + 1
        kw, pre = self.id_at(k), f"{proto.vis} " if proto.vis else ""

        def add(kind: str, name: str, text: str, target: tuple[str, ...] = (), body: list[_Decl] | None = None,
                inner: list[_Attr] | None = None) -> None:
            p = proto
            decls.append(_Decl(kind, name, p.vis, text, p.file, p.line, p.attrs, target, body, inner or []))

        if extern and self.is_(k, "{"):  # `extern "C" { .. }`: foreign items belong to this module
            body, _ = self.items(k + 1, self.close[k])
            for d in body:
                d.attrs = proto.attrs + d.attrs
            decls.extend(body)
            return self.after(k)
        if kw == "mod" and (name := self.id_at(k + 1)):
            if not self.is_(k + 2, "{"):
                add("mod", name, f"{pre}mod {name}")
                return k + 3
            body, inner = self.items(k + 3, self.close[k + 2])
            add("mod", name, f"{pre}mod {name} {{ ... }}", body=body, inner=inner)
            return self.after(k + 2)
        if kw == "use":
            stop = self.skip(k + 1, end, False)
            for path, bound in self.use_tree(k + 1, stop - 1 if self.is_(stop - 1, ";") else stop, []):
                alias = f" as {bound}" if bound not in ("*", path[-1]) else ""
                add("use", bound, f"{pre}use {_fmt(path)}{'::*' if bound == '*' else alias}", target=path)
            return stop
        if kw == "extern" and self.is_(k + 1, "crate"):
            bound = self.id_at(k + 4) if self.is_(k + 3, "as") else self.id_at(k + 2)
            add("extern crate", bound, f"{pre}extern crate {self.id_at(k + 2)}")
            return self.skip(k + 2, end, False)
        if kw == "macro_rules" and self.is_(k + 1, "!") and (name := self.id_at(k + 2)):
            exported = "#[macro_export] " if any(a.name == "macro_export" for a in proto.attrs) else ""
            add("macro_rules", name, f"{exported}macro_rules! {name}")
            return self.skip(k + 3, end, True)
        if kw in _ITEMS:
            j = k + 2 if kw == "static" and self.is_(k + 1, "mut") else k + 1
            name, stop = self.id_at(j) if kw != "impl" else "", self.skip(j, end, kw in _BRACE_ENDS)
            if name:
                add(kw, name, f"{pre}{kw} {name}", body=self.variants(j, stop) if kw == "enum" else None)
            return stop
        if kw and self.is_(k + 1, "!"):  # an item macro such as `lazy_static! { .. }`
            add("macro call", kw, f"{kw}!")
            return self.skip(k + 2, end, True)
        return self.after(k)

    def skip(self, j: int, end: int, brace_ends: bool) -> int:
        """Index after the item body starting at j: a top-level `;`, or a `{ .. }` for brace items."""
        while j < end:
            if self.is_(j, ";"):
                return j + 1
            if brace_ends and self.is_(j, "{"):
                j = self.after(j)
                return j + 1 if self.is_(j, ";") else j
            j = self.after(j)
        return j

    def variants(self, j: int, stop: int) -> list[_Decl]:
        while j < stop and not self.is_(j, "{"):
            j = self.after(j)
        out: list[_Decl] = []
        k, close = j + 1, self.close[j] if j < stop else j
        while k < close:
            while self.is_(k, "#") and self.is_(k + 1, "["):
                k = self.after(k + 1)
            if name := self.id_at(k):
                out.append(_Decl("variant", name, "pub", f"variant {name}", self.file, self.line(k), []))
            while k < close and not self.is_(k, ","):
                k = self.after(k)
            k += 1
        return out

    def use_tree(self, k: int, end: int, prefix: list[str]) -> list[tuple[tuple[str, ...], str]]:
        """Flatten `a::{b, c::D as E, f::*}` into (path, bound name) pairs; a leading `::` stays a segment."""
        path, end = list(prefix), min(end, len(self.toks))
        while k < end:
            t = self.toks[k]
            if t.text == "{":
                out: list[tuple[tuple[str, ...], str]] = []
                j, close = k + 1, min(self.close[k], end)
                while j < close:
                    start = j
                    while j < close and not self.is_(j, ","):
                        j = self.after(j)
                    out += self.use_tree(start, j, path)
                    j += 1
                return out
            if t.text in ("*", "as"):
                bound = "*" if t.text == "*" else self.toks[k + 1].text if k + 1 < end else "_"
                return [(_drop_self(path), bound)] if path else []
            if t.text != "::" or not path:
                path.append(t.text)
            k += 1
        return [(p, p[-1])] if (p := _drop_self(path)) else []


def _drop_self(path: list[str]) -> tuple[str, ...]:  # `a::{self}` imports `a` itself
    return tuple(path[:-1]) if len(path) > 1 and path[-1] == "self" else tuple(path)


def _fmt(path: tuple[str, ...]) -> str:
    return "::" + "::".join(path[1:]) if path and path[0] == "::" else "::".join(path)


@dataclass(eq=False)
class _Module:
    path: tuple[str, ...]
    file: Path
    child_dir: Path  # where `mod x;` declared here looks for x.rs / x/mod.rs
    attr_dir: Path  # what `#[path]` on such a declaration is relative to
    decls: list[_Decl]
    inner: list[_Attr]
    parent: _Module | None


@dataclass
class _Hit:
    decl: _Decl | None  # None for the crate root and for paths into other crates
    module: _Module | None  # set when the name denotes a module (or an enum, for its variants)
    hops: list[str]
    cfgs: list[str]
    external: str = ""  # a path into another crate, which is trusted rather than analysed


class _Fail(Exception):
    def __init__(self, problem: str, kind: str, where: tuple[_Module, str] | None = None) -> None:
        super().__init__(problem)
        self.problem, self.kind, self.where = problem, kind, where  # kind: missing, private or broken


_PARSED: dict[tuple[Path, int, int], tuple[list[_Decl], list[_Attr]]] = {}


def _parsed(file: Path) -> tuple[list[_Decl], list[_Attr]]:
    """A file's declarations, parsed once per process while it is unchanged: several checks of one
    crate in a run (a symbol per step) share the work, most of which is reading and tokenising.
    (Declarations are only read after parsing, so sharing them between checks is safe.)"""
    stat = file.stat()
    key = (file.resolve(), stat.st_mtime_ns, stat.st_size)
    if key not in _PARSED:
        p = _Parser(file, file.read_text(encoding="utf-8", errors="replace"))
        _PARSED[key] = p.items(0, len(p.toks))
    return _PARSED[key]


_Stack = set[tuple[int, str, bool, bool]]
# Rust keeps types and modules apart from values and macros: a path's prefix (`foo` in `foo::bar`) and
# a glob's module are looked up among types and modules only, so `pub fn foo` or a macro `foo` never
# stands for a private `mod foo`.
VALUES = ("fn", "const", "static", "macro_rules")


class _Crate:
    def __init__(self, base: Path, root_file: Path, externs: set[str], symbol: str) -> None:
        self.base, self.symbol = base, symbol
        self.parsed: dict[Path, tuple[list[_Decl], list[_Attr]]] = {}
        self.loaded: dict[int, _Module | str] = {}
        decls, inner = self.parse(root_file)
        self.root = _Module((), root_file, root_file.parent, root_file.parent, decls, inner, None)
        self.externs = externs | {d.name for d in decls if d.kind == "extern crate"}
        self.modules = self.walk()
        self.macros = [d for m in self.modules for d in m.decls if d.text.startswith("#[macro_export]")]

    def parse(self, file: Path) -> tuple[list[_Decl], list[_Attr]]:
        if file not in self.parsed:
            self.parsed[file] = _parsed(file)
        return self.parsed[file]

    def rel(self, path: Path) -> str:
        return path.relative_to(self.base).as_posix() if path.is_relative_to(self.base) else str(path)

    def loc(self, d: _Decl) -> str:
        return f"{self.rel(d.file)}:{d.line}"

    def where(self, m: _Module) -> str:
        return f"module {'::'.join(m.path)}" if m.path else "the crate root"

    def hop(self, d: _Decl) -> str:
        return f"{self.loc(d)}: {d.text}"

    def cfgs(self, d: _Decl) -> list[str]:
        on = d.text.removeprefix(d.vis).strip() if d.kind == "use" else f"{d.kind} {d.name}"
        return [f"{self.rel(d.file)}:{a.line}: {a.text} on {on}" for a in d.attrs if a.name in ("cfg", "cfg_attr")]

    def child(self, m: _Module, d: _Decl) -> _Module | str:
        """The module a `mod` (or enum) declaration opens, or why its file is missing."""
        if id(d) in self.loaded:
            return self.loaded[id(d)]
        path, sub = (*m.path, d.name), m.child_dir / d.name
        attr = next((a.value for a in d.attrs if a.name == "path" and a.value), None)
        cands = [m.attr_dir / attr] if attr else [sub.with_name(f"{d.name}.rs"), sub / "mod.rs"]
        file = next((c for c in cands if c.is_file()), None)
        if d.body is not None:  # inline: its `mod x;` files live in a directory named after it
            self.loaded[id(d)] = _Module(path, m.file, sub, sub, d.body, d.inner, m)
        elif file is None:
            tried = " or ".join(self.rel(c) for c in cands)
            self.loaded[id(d)] = f"`{d.text}` at {self.loc(d)} has no source file: {tried} does not exist"
        else:  # `#[path]` files act like mod.rs: their children are their siblings
            kids = file.parent if attr or file.name == "mod.rs" else file.parent / file.stem
            self.loaded[id(d)] = _Module(path, file, kids, file.parent, *self.parse(file), m)
        return self.loaded[id(d)]

    def walk(self) -> list[_Module]:
        """Every module any `mod` reaches, whatever its visibility or cfg."""
        out, todo, seen = [], [self.root], {self.root.file}
        while todo:
            out.append(m := todo.pop())
            for d in m.decls:
                c = self.child(m, d) if d.kind == "mod" else None
                if isinstance(c, _Module) and (d.body is not None or c.file not in seen):
                    seen.add(c.file)
                    todo.append(c)
        return out

    def pub_in(self, m: _Module, d: _Decl) -> bool:
        if d.kind == "macro_rules":  # #[macro_export] puts a macro at the crate root, and only there
            return m is self.root and d in self.macros
        return d.vis == "pub"

    def lookup(self, m: _Module, name: str, public: bool, stack: _Stack, types: bool = False) -> _Hit:
        """The item `name` of module m; `public` demands it be visible from outside the crate;
        `types`, that it be a module or type (a path's prefix), not a value or macro."""
        if (key := (id(m), name, public, types)) in stack:  # a `use` cycle: this branch finds nothing
            raise _Fail(f"no item `{name}` in {self.where(m)}", "missing", (m, name))
        stack.add(key)
        try:
            return self._lookup(m, name, public, stack, types)
        finally:
            stack.discard(key)

    def _lookup(self, m: _Module, name: str, public: bool, stack: _Stack, types: bool) -> _Hit:
        named = [d for d in m.decls if d.name == name and d.kind != "macro call"]
        if m is self.root:
            named += [d for d in self.macros if d.name == name and d not in named]
        if types:
            named = [d for d in named if d.kind not in VALUES]
        fails: list[_Fail] = []
        for d in sorted(named, key=lambda d: not self.pub_in(m, d)):  # public declarations first
            try:
                if public and not self.pub_in(m, d):
                    raise _Fail(self.private(d), "private")
                return self.hit(m, d, stack)
            except _Fail as f:
                fails.append(f)
        broken: list[str] = []
        for d in m.decls:  # explicit names shadow globs, so globs come last
            if d.kind == "use" and d.name == "*" and (d.vis == "pub" or not public):
                try:
                    g = self.resolve(m, d, stack)
                except _Fail as f:  # a glob that does not resolve is said, not taken for "not re-exported"
                    broken.append(f"`{d.text}` at {self.loc(d)} does not resolve: "
                                  f"{self.missing(*f.where) if f.where else f.problem}")
                    continue
                try:
                    h = self.lookup(g.module, name, public, stack, types) if g.module else None
                except _Fail:
                    continue
                if h is not None:  # the glob's own module line is noise; its re-export hops are not
                    hops = [self.hop(d), *g.hops[:-1], *h.hops]
                    return _Hit(h.decl, h.module, hops, self.cfgs(d) + g.cfgs + h.cfgs)
        if fails:
            raise fails[0]
        if broken:
            raise _Fail(f"no item `{name}` in {self.where(m)} ({self.rel(m.file)}), and the glob "
                        + "; the glob ".join(broken), "broken")
        raise _Fail(f"no item `{name}` in {self.where(m)} ({self.rel(m.file)})", "missing", (m, name))

    def hit(self, m: _Module, d: _Decl, stack: _Stack) -> _Hit:
        if d.kind == "use":
            try:
                h = self.resolve(m, d, stack)
            except _Fail as f:
                why = self.missing(*f.where) if f.where else f.problem
                raise _Fail(f"`{d.text}` at {self.loc(d)} does not resolve: {why}", "broken") from None
            t = h.decl  # rustc rejects `pub use` of a restricted item; say so rather than pass it
            if d.vis == "pub" and t is not None and t.kind not in ("macro_rules", "variant") and t.vis != "pub":
                why = f"`{d.text}` at {self.loc(d)} re-exports `{t.name}`, which is declared {self.declared(t)}"
                raise _Fail(f"{why}, so {self.symbol} is not reachable from the crate root", "private")
            return _Hit(h.decl, h.module, [self.hop(d), *h.hops], self.cfgs(d) + h.cfgs, h.external)
        if d.kind not in ("mod", "enum"):
            return _Hit(d, None, [self.hop(d)], self.cfgs(d))
        if isinstance(c := self.child(m, d), str):
            raise _Fail(c, "broken")
        on = f"on module {'::'.join(c.path)}"
        inner = [f"{self.rel(c.file)}:{a.line}: {a.text} {on}" for a in c.inner if a.name == "cfg"]
        return _Hit(d, c, [self.hop(d)], self.cfgs(d) + inner)

    def resolve(self, m: _Module, d: _Decl, stack: _Stack) -> _Hit:
        """Follow the path of `use` declaration d (made in module m), as seen from inside the crate."""
        head, rest = d.target[0], list(d.target[1:])
        if head == "::":
            return _Hit(None, None, [], [], _fmt(d.target))
        if head in ("crate", "self", "super"):
            mod: _Module | None = self.root if head == "crate" else m.parent if head == "super" else m
            while rest and rest[0] == "super" and mod is not None:
                mod, rest = mod.parent, rest[1:]
            if mod is None:
                raise _Fail(f"`{d.text}` at {self.loc(d)} goes above the crate root", "broken")
            cur = _Hit(None, mod, [], [])
        else:
            errors: list[_Fail] = []
            for scope in (m, self.root):  # the root also covers 2015-edition paths
                try:
                    cur = self.lookup(scope, head, False, stack, types=bool(rest) or d.name == "*")
                    break
                except _Fail as f:
                    errors.append(f)
            else:
                if head in self.externs:
                    return _Hit(None, None, [], [], _fmt(d.target))
                raise next((f for f in errors if f.kind != "missing"), None) or _Fail(
                    f"`{head}` is neither an item of {self.where(m)} nor a known crate", "broken")
        hops: list[str] = []
        cfgs: list[str] = []
        for i, seg in enumerate(rest):
            if cur.external:
                return _Hit(None, None, hops + cur.hops, cfgs + cur.cfgs, "::".join([cur.external, *rest[i:]]))
            if cur.module is None:
                what = f"a {cur.decl.kind} ({self.loc(cur.decl)})" if cur.decl else "not a module"
                raise _Fail(f"`{_fmt(d.target)}` goes through `{rest[i - 1] if i else head}`, which is {what}",
                            "broken")
            hops += cur.hops[:-1]  # keep re-export hops; an intermediate module's own line is noise
            cfgs += cur.cfgs
            last = i == len(rest) - 1
            cur = self.lookup(cur.module, seg, False, stack, types=not last or d.name == "*")
        return _Hit(cur.decl, cur.module, hops + cur.hops, cfgs + cur.cfgs, cur.external)

    def declared(self, d: _Decl) -> str:  # e.g. "private (`mod x;`) at src/lib.rs:3"
        shown = f"`{d.text};`" if d.kind == "use" or (d.kind == "mod" and d.body is None) else f"`{d.text}`"
        return f"{f'`{d.vis}`' if d.vis else 'private'} ({shown}) at {self.loc(d)}"

    def private(self, d: _Decl) -> str:
        """Why declaration d is not public API, in one sentence."""
        if d.kind == "macro_rules" and d in self.macros:
            return (f"macro `{d.name}` is #[macro_export] ({self.loc(d)}), so it is exported at the crate root "
                    f"as `{d.name}`, not as {self.symbol}")
        if d.kind == "macro_rules":
            return f"macro `{d.name}` at {self.loc(d)} has no #[macro_export], so {self.symbol} is not exported"
        reach = "not visible outside the crate" if d.vis else "not reachable from the crate root"
        public = self.public_path(d)
        return (f"`{d.name}` is declared {self.declared(d)}, so {self.symbol} is {reach}"
                + (f"; public path: `{public}`" if public else ""))

    def public_path(self, d: _Decl) -> str | None:
        """For a private `use crate::a::b::Name;`: `a::b::Name`, when that path is itself public API."""
        if d.kind != "use" or not d.target or d.target[0] not in ("crate", "self", "super") or d.name == "*":
            return None
        if d.target[0] != "crate":
            return None  # relative imports: rare for re-exports, and not worth guessing
        path = d.target[1:] if d.target[-1] == d.name else (*d.target[1:], d.name)
        module: _Module | None = self.root
        for seg in path:
            if module is None:
                return None
            try:
                module = self.lookup(module, seg, True, set()).module
            except _Fail:
                return None
        return "::".join(path)

    def missing(self, m: _Module, name: str) -> str:
        """Explain a name absent from module m, blaming a file no `mod` reaches when one has it."""
        reached = {x.file for x in self.modules}
        src = self.root.file.parent
        near = [f for f in (m.child_dir / f"{name}.rs", m.child_dir / name / "mod.rs") if f.is_relative_to(src)]
        for f in near + sorted(src.rglob("*.rs")):
            # other crate roots (lib.rs, main.rs, src/bin/) are not orphans of this one
            if not f.is_file() or f in reached or f.name in ("lib.rs", "main.rs") and f.parent == src:
                continue
            if "bin" in f.relative_to(src).parts[:1]:
                continue
            if f in near or any(d.name == name and d.kind not in _NOT_DEFS for d in self.parse(f)[0]):
                return f"{self.rel(f)} is not part of the crate: no `mod` declaration reaches it"
        msg = f"no item `{name}` in {self.where(m)} ({self.rel(m.file)})"
        for x, d in ((x, d) for x in self.modules if x is not m for d in x.decls):
            if d.name == name and d.kind not in _NOT_DEFS:
                return f"{msg}; `{name}` is declared at {self.loc(d)} in {self.where(x)}, not re-exported here"
        if calls := [d for d in m.decls if d.kind == "macro call"]:
            msg += f"; items generated by macros such as `{calls[0].text}` (line {calls[0].line}) are not analysed"
        return msg


def _locate(root: Path) -> tuple[Path, Path | None, set[str]]:
    """(base for relative paths, crate root file, crates a `use` may name besides this one)."""
    externs = {"std", "core", "alloc", "proc_macro", "test"}
    if root.is_file():
        return root.parent, root, externs
    lib, data = root / "src" / "lib.rs", dict[str, Any]()
    if (root / "Cargo.toml").is_file():
        try:
            data = tomllib.loads((root / "Cargo.toml").read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
            pass
    targets = data.get("target")
    for table in [data, *(targets.values() if isinstance(targets, dict) else [])]:
        deps = table.get("dependencies") if isinstance(table, dict) else None
        externs |= {str(k).replace("-", "_") for k in deps} if isinstance(deps, dict) else set()
    if isinstance(data.get("lib"), dict) and isinstance(data["lib"].get("path"), str):
        lib = root / data["lib"]["path"]
    root_file = next((f for f in (lib, root / "src" / "main.rs") if f.is_file()), None)
    return root, root_file, externs


def _crate_name(root: Path) -> str | None:
    manifest = root / "Cargo.toml" if root.is_dir() else None
    if manifest is None or not manifest.is_file():
        return None
    try:
        package = tomllib.loads(manifest.read_text(encoding="utf-8")).get("package", {})
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
        return None
    name = package.get("name") if isinstance(package, dict) else None
    return str(name).replace("-", "_") if name else None


def check_rust_export(root: Path, symbol: str) -> ExportReport:
    """Is `symbol` (a path from the crate root, e.g. `vm::Hypervisor`) public API of the crate at root?"""
    root = Path(root)
    segs = symbol.strip().removeprefix("::").split("::")
    if not all(_IDENT.fullmatch(s) for s in segs):
        raise ValueError(f"not a Rust path from the crate root: {symbol!r}")
    base, root_file, externs = _locate(root)
    own = _crate_name(root)  # `regex::Regex` is `Regex` of the crate `regex`
    segs = [s.removeprefix("r#") for s in (segs[1:] if segs[0] in ("crate", own) and len(segs) > 1 else segs)]
    if not segs:
        raise ValueError(f"name an item below the crate root, not {symbol!r}")
    if root_file is None:
        problem = f"{root} has no crate root: neither src/lib.rs nor src/main.rs exists"
        return ExportReport(False, symbol, "rust", (), (), problem)
    crate = _Crate(base, root_file, externs, "::".join(segs))
    cur, hops, cfgs = _Hit(None, crate.root, [], []), list[str](), list[str]()

    def report(problem: str | None) -> ExportReport:
        return ExportReport(problem is None, symbol, "rust", tuple(hops), tuple(dict.fromkeys(cfgs)), problem)

    for i, seg in enumerate(segs):
        if cur.module is None:
            what = f"a re-export of `{cur.external}` from another crate" if cur.external else (
                f"a {cur.decl.kind if cur.decl else 'non-module'}")
            return report(f"`{'::'.join(segs[:i])}` is {what}, not a module of this crate, so `{seg}` is not checked")
        try:
            cur = crate.lookup(cur.module, seg, True, set(), types=i < len(segs) - 1)
        except _Fail as f:
            return report(crate.missing(*f.where) if f.kind == "missing" and f.where else f.problem)
        hops += cur.hops
        cfgs += cur.cfgs
    return report(None)


def check_rust_module(root: Path, module_file: Path) -> ExportReport:
    """Is this source file part of the crate at root: does a chain of `mod` declarations reach it?
    The chain and the `#[cfg]`s on it are reported; a file no `mod` reaches names where the
    declaration is missing."""
    base, root_file, externs = _locate(Path(root))
    target = module_file.resolve()
    shown = module_file.relative_to(base).as_posix() if module_file.is_relative_to(base) else str(module_file)
    if root_file is None:
        return ExportReport(False, shown, "rust", (), (), f"{root} has no crate root: neither src/lib.rs nor "
                            "src/main.rs exists")
    crate = _Crate(base, root_file, externs, shown)
    if target == root_file.resolve():
        return ExportReport(True, shown, "rust", (f"{shown} is the crate root",), (), None)
    todo: list[tuple[_Module, list[str], list[str]]] = [(crate.root, [], [])]
    seen = {crate.root.file.resolve()}
    while todo:
        module, hops, cfgs = todo.pop(0)
        for decl in module.decls:
            child = crate.child(module, decl) if decl.kind == "mod" else None
            if not isinstance(child, _Module):
                continue
            inner = [f"{crate.rel(child.file)}:{a.line}: {a.text} on mod {decl.name}"
                     for a in child.inner if a.name == "cfg" and decl.body is None]
            reach = ([*hops, crate.hop(decl)], [*cfgs, *crate.cfgs(decl), *inner])
            if decl.body is None and child.file.resolve() == target:
                return ExportReport(True, shown, "rust", tuple(reach[0]), tuple(dict.fromkeys(reach[1])), None)
            if decl.body is not None or child.file.resolve() not in seen:
                seen.add(child.file.resolve())
                todo.append((child, *reach))
    if not target.is_file():
        return ExportReport(False, shown, "rust", (), (), f"{shown} does not exist")
    parents = [m for m in crate.modules if m.child_dir.resolve() == target.parent]
    name = target.parent.name if target.name == "mod.rs" else target.stem
    if target.name == "mod.rs":
        parents = [m for m in crate.modules if m.child_dir.resolve() == target.parent.parent]
    where = (f"{crate.rel(parents[0].file)} declares no `mod {name}`" if parents else
             f"no module of the crate declares its modules in {crate.rel(target.parent)}")
    return ExportReport(False, shown, "rust", (), (), f"{shown} is not part of the crate: {where}")
