"""What a reachability check found (both checkers return it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExportReport:
    ok: bool
    symbol: str
    language: str  # "rust" or "python"
    # How the symbol was reached, one line per hop, e.g. "src/vm/mod.rs:5: pub use hypervisor::Hypervisor".
    chain: tuple[str, ...]
    # Conditions met on the way (`#[cfg]` in Rust, `if`/`try` in Python); reported, never a failure.
    cfg: tuple[str, ...]
    problem: str | None  # None when ok; otherwise one sentence naming file:line
