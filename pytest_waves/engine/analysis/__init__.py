"""Is a symbol part of a library's public API? Static checks for Rust crates and Python packages.

Both checkers only read source files: cargo is never run and Python code is never imported,
so a check is safe on any checkout and takes milliseconds.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ExportReport", "check_export", "check_python_export", "check_rust_export", "check_rust_module"]


from pytest_waves.engine.analysis.python import check_python_export
from pytest_waves.engine.analysis.report import ExportReport
from pytest_waves.engine.analysis.rust import check_rust_export, check_rust_module


def check_export(root: Path, symbol: str, language: str | None = None) -> ExportReport:
    """Check that `symbol` is publicly reachable from `root`, inferring the language when not given."""
    root = Path(root)
    if not root.exists():
        raise ValueError(f"cannot check exports: {root} does not exist")
    lang = language if language is not None else _infer_language(root)
    if lang == "rust":
        return check_rust_export(root, symbol)
    if lang == "python":
        return check_python_export(root, symbol)
    raise ValueError(f"unsupported language {language!r}: expected 'rust' or 'python'")


def _infer_language(root: Path) -> str:
    if root.is_file():
        if root.suffix in (".rs", ".py"):
            return "rust" if root.suffix == ".rs" else "python"
        raise ValueError(f"cannot tell the language of {root}: expected a .rs or .py file")
    rust = (root / "Cargo.toml").is_file() or (root / "src" / "lib.rs").is_file()
    python = (root / "__init__.py").is_file() or any(
        (child / "__init__.py").is_file() for child in root.iterdir() if child.is_dir()
    )
    if rust and python:
        raise ValueError(
            f"{root} looks like both a Rust crate and a Python package; pass language='rust' or 'python'"
        )
    if rust or python:
        return "rust" if rust else "python"
    raise ValueError(
        f"cannot tell the language of {root}: no Cargo.toml or src/lib.rs (Rust), "
        "and no __init__.py or package directory (Python)"
    )
