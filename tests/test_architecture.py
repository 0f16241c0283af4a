"""The package's shape, checked: no import cycles, and each layer imports only the layers below it.

Every import counts, also one under `if TYPE_CHECKING:` or inside a function: they couple modules
all the same. The layers, lowest first (see docs/architecture.md):

    plan → engine → steps → reporting → session → parallel → cli;  plugin (the entry point) on top
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pytest_waves"

# layer → the layers (besides itself) it may import
ALLOWED: dict[str, set[str]] = {
    "plan": set(),
    "engine": {"plan"},
    "steps": {"plan", "engine"},
    "reporting": {"plan", "engine"},
    "session": {"plan", "engine", "steps", "reporting"},
    "parallel": {"plan", "engine", "reporting", "session"},
    "cli": {"plan", "engine", "steps", "reporting"},
    "plugin": {"plan", "engine", "steps", "reporting", "session", "parallel"},
    "__main__": {"cli"},
    "__init__": set(),
}
PYTEST_GLUE = ("pytest", "_pytest", "xdist", "pytest_dependency", "pluggy")
# layers that never import pytest or its plugins: they are the engine, usable without a test run
WITHOUT_PYTEST = {"plan", "engine", "steps"}
# private APIs of pytest and its plugins live in one adapter each
PRIVATE = {"_pytest": "session/adapters.py", "xdist": "parallel/adapters.py"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str) -> set[str]:
    """Every module named by an import anywhere in the module (absolute names)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in MODULES)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


GRAPH = {name: {dep for dep in imports(name) if dep in MODULES and dep != name and dep != "pytest_waves"}
         for name in MODULES}


def layer(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(graph[node]):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_the_imports_it_must() -> None:
    """The checker itself: it finds function-level and TYPE_CHECKING imports, and finds a cycle."""
    assert "pytest_waves.engine.gitops" in GRAPH["pytest_waves.steps.git"]  # imported inside functions
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert len(MODULES) > 40


def test_no_import_cycles() -> None:
    assert cycles(GRAPH) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_imports_only_lower_layers(name: str) -> None:
    own = layer(name)
    assert own in ALLOWED, f"{name}: layer {own!r} is not in the architecture"
    wrong = sorted(dep for dep in GRAPH[name] if layer(dep) != own and layer(dep) not in ALLOWED[own])
    assert wrong == [], f"{name} ({own}) imports {wrong}"
    if own in WITHOUT_PYTEST:
        glue = sorted(dep for dep in imports(name) if dep.split(".")[0] in PYTEST_GLUE)
        assert glue == [], f"{name} ({own}) imports pytest glue {glue}"
    for private, adapter in PRIVATE.items():
        uses = sorted(dep for dep in imports(name) if dep.split(".")[0] == private)
        if uses:
            assert MODULES[name] == PACKAGE / adapter, f"{name} uses {private} ({uses}); only {adapter} may"


def test_only_the_entry_point_imports_the_hook_specifications() -> None:
    importers = sorted(name for name, deps in GRAPH.items() if "pytest_waves.session.hookspecs" in deps)
    assert importers == ["pytest_waves.plugin"]


def test_the_package_is_fully_typed() -> None:
    """mypy over the package and the benchmark scripts (which no test runs), with pyproject.toml's
    settings: the types are part of the shape."""
    mypy = pytest.importorskip("mypy.api")
    out, err, status = mypy.run(["--config-file", str(PACKAGE.parent / "pyproject.toml"), str(PACKAGE),
                                 str(PACKAGE.parent / "benchmarks")])
    assert status == 0, out + err
