"""Reachability across targets, statically: the `#[cfg]` conditions on a symbol's path are part of the
exports step's verdict, evaluated for the plan's targets (default: this machine), no toolchain needed."""

from __future__ import annotations

import sys
import textwrap

import pytest

from conftest import GitWorld, issue
from pytest_waves.engine.analysis.cfg import Target, default_features, evaluate

CRATE = {
    "Cargo.toml": '[package]\nname = "orchestrator"\nversion = "0.1.0"\n\n[features]\ndefault = ["std"]\n'
                  'std = ["kvm"]\nkvm = []\n',
    "src/lib.rs": "pub mod vm;\n",
    "src/vm/mod.rs": textwrap.dedent("""\
        pub trait Hypervisor {}
        #[cfg(target_os = "macos")]
        pub mod apple_hv;
        #[cfg(all(unix, feature = "kvm"))]
        pub mod kvm;
        #[cfg(target_arch = "riscv64")]
        pub mod riscv;
        """),
    "src/vm/apple_hv.rs": "pub struct AppleHv;\n",
    "src/vm/kvm.rs": "pub struct Kvm;\n",
    "src/vm/riscv.rs": "pub struct Riscv;\n",
}


@pytest.fixture
def crate(world: GitWorld) -> GitWorld:
    for name, text in CRATE.items():
        path = world.path / "orchestrator" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return world


def exports(symbol: str, target: str = "", *, subject: str = "symbol") -> str:
    """One issue whose one step checks `symbol` (or, with subject="module", a file) in the crate."""
    extra = f", target: {target}" if target else ""
    return issue(f"[{{exports: {{root: orchestrator, {subject}: '{symbol}'{extra}}}}}]", worktree=False)


def test_a_macos_module_is_reachable_on_macos_from_any_host(crate: GitWorld, run_plan) -> None:
    result = run_plan(exports("vm::apple_hv::AppleHv", "{os: macos}"), "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(['*on macos: src/vm/mod.rs:2: #[[]cfg(target_os = "macos")] on mod apple_hv*'])


@pytest.mark.parametrize("target", ["{os: linux}", "[{os: macos}, {os: windows}]", pytest.param(
    "", id="host", marks=pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the host is the default"))])
def test_a_macos_module_is_not_part_of_the_crate_elsewhere(crate: GitWorld, run_plan, target: str) -> None:
    result = run_plan(exports("vm::apple_hv::AppleHv", target))
    result.assert_outcomes(failed=1)
    elsewhere = {"{os: linux}": "linux", "": "linux"}.get(target, "windows")
    result.stdout.fnmatch_lines([f"*vm::apple_hv::AppleHv is not part of the crate on {elsewhere}: a #[[]cfg] on "
                                 "the way excludes it*",
                                 f'*false on {elsewhere}: src/vm/mod.rs:2: #[[]cfg(target_os = "macos")]*'])


def test_features_are_the_crates_defaults_unless_the_plan_says(crate: GitWorld, run_plan) -> None:
    run_plan(exports("vm::kvm::Kvm", "{os: linux}")).assert_outcomes(passed=1)  # default → std → kvm
    result = run_plan(exports("vm::kvm::Kvm", "{os: linux, features: []}"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*is not part of the crate on linux*"])


def test_a_condition_it_cannot_evaluate_is_said_not_guessed(crate: GitWorld, run_plan) -> None:
    result = run_plan(exports("vm::riscv::Riscv", "{os: linux}"), "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(['*on linux, cannot tell: src/vm/mod.rs:6: #[[]cfg(target_arch = "riscv64")]*'])


@pytest.mark.parametrize(("predicate", "macos", "linux", "windows"), [
    ('target_os = "macos"', True, False, False),
    ('all(unix, not(target_os = "linux"))', True, False, False),
    ('any(windows, target_vendor = "apple")', True, False, True),
    ('target_family = "unix"', True, True, False),
    ("not(test)", True, True, True),
    ('target_arch = "x86_64"', None, None, None),
    ('all(target_os = "linux", target_arch = "x86_64")', False, None, False),
])
def test_cfg_predicates(predicate: str, macos: bool | None, linux: bool | None, windows: bool | None) -> None:
    assert [evaluate(predicate, Target(os)) for os in ("macos", "linux", "windows")] == [macos, linux, windows]


def test_default_features_follow_what_they_enable(crate: GitWorld) -> None:
    assert default_features(crate.path / "orchestrator") == {"std", "kvm"}


def module(path: str, target: str = "") -> str:
    return exports(path, target, subject="module")


def test_a_file_is_part_of_the_crate_on_the_targets_that_reach_it(crate: GitWorld, run_plan) -> None:
    result = run_plan(module("src/vm/apple_hv.rs", "{os: macos}"), "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*src/lib.rs:1: pub mod vm → src/vm/mod.rs:3: pub mod apple_hv; on macos: *"])
    result = run_plan(module("src/vm/apple_hv.rs", "{os: linux}"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*src/vm/apple_hv.rs is not part of the crate on linux*"])


def test_a_file_no_mod_reaches_names_the_missing_declaration(crate: GitWorld, run_plan) -> None:
    (crate.path / "orchestrator/src/vm/firecracker.rs").write_text("pub struct Firecracker;\n")
    result = run_plan(module("src/vm/firecracker.rs"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*src/vm/firecracker.rs is not part of the crate: src/vm/mod.rs declares no "
                                 "`mod firecracker`*"])


def test_an_exports_step_names_a_symbol_or_a_module(crate: GitWorld, run_plan, pytester: pytest.Pytester) -> None:
    result = run_plan(issue("[{exports: {root: orchestrator}}]", worktree=False))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*exports: name either a `symbol` or a `module` (a Rust source file)*"])
