"""The plans in plans/: the demo on its own sandbox, LuminaGuard against a self-made LuminaGuard-shaped repo."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import git
import pytest

from conftest import GitWorld

PLANS = Path(__file__).resolve().parents[1] / "plans"
REAL_HOME = os.environ.get("HOME", "/root")  # read at import, before the fixture moves HOME


def test_demo_plan_shows_every_status(pytester: pytest.Pytester) -> None:
    shutil.copytree(PLANS, pytester.path / "plans", ignore=shutil.ignore_patterns(".waves"))
    result = pytester.runpytest("--waves", "plans/demo.yaml", "-rs")
    assert result.ret == pytest.ExitCode.OK  # a deferred failure and blocked issues do not fail the run
    result.stdout.fnmatch_lines([
        "*success metrics: democalc (demo.yaml)*",
        "1*#1*Design notes for democalc*5/5*#1 open*✅ passed*",
        "1*#2*Calculator API*6/6*#2 open*✅ passed*",
        "2*#3*Scientific mode*6/6*#3 open*✅ passed*",
        "2*#4*Plotting backend*2/5*—*⏭ deferred (step tests failed: exit code 1, expected exit code 0: "
        "FAIL: test_backend_available*; #4 is deferrable)*",
        "3*#5*Export plots to PNG*0/5*—*⏸ blocked (blocked by #4 (step tests failed (deferred)))*",
        "3 passed, 1 blocked, 1 deferred",
    ])
    # a second run changes nothing: rebases contained, pushes equal, PRs found
    again = pytester.runpytest("--waves", "plans/demo.yaml", "-v")
    again.stdout.fnmatch_lines(["#1 Design notes for democalc", "*✅ worktree (worktree) — issue-1 exists on feature/issue-1",
                                "*✅ rebase (rebase) — already contains origin/main", "*✅ push (push) — origin/feature/issue-1 is already at*",
                                "*✅ pr (pr) — found PR #1 (local://democalc/pull/1)", "*3 passed, 1 blocked, 1 deferred"])


LIB = "pub mod vm;\n"
MOD_MAIN = "//! VM layer.\npub mod firecracker;\n"
FIRECRACKER = "pub fn boot() -> bool { true }\n"
MOD_154 = """\
//! VM layer: one trait, several backends.
pub mod firecracker;

pub trait VmInstance {
    fn id(&self) -> u32;
}

pub trait Hypervisor {
    fn name(&self) -> &'static str;
}

#[cfg(test)]
mod tests {
    struct Fc;
    impl super::Hypervisor for Fc {
        fn name(&self) -> &'static str { "firecracker" }
    }
    #[test]
    fn hypervisor_has_a_name() {
        use super::Hypervisor;
        assert_eq!(Fc.name(), "firecracker");
    }
}
"""
APPLE_HV = """\
//! macOS backend.
#[cfg(target_os = "macos")]
pub fn start_apple_hv() -> u32 { 1 }

pub struct AppleVm;
impl super::VmInstance for AppleVm {
    fn id(&self) -> u32 { 7 }
}
"""


@pytest.fixture
def luminaguard(tmp_path: Path) -> GitWorld:
    """A tiny LuminaGuard: the crate in orchestrator/ (no workspace), the trait in a `pub mod` module."""
    world = GitWorld(tmp_path / "lg")
    world.commit(world.repo, {
        "orchestrator/Cargo.toml": '[package]\nname = "orchestrator"\nversion = "0.1.0"\nedition = "2021"\n',
        "orchestrator/src/lib.rs": LIB, "orchestrator/src/vm/mod.rs": MOD_MAIN,
        "orchestrator/src/vm/firecracker.rs": FIRECRACKER, ".gitignore": "target/\n"}, "crate")
    world.repo.git.push("origin", "main")
    research = "# Cross-platform VM research\n" + "".join(f"- finding {n}\n" for n in range(25))
    world.push_branch("feature/issue-152", {"docs/architecture/cross-platform-research.md": research})
    world.push_branch("feature/issue-154", {"orchestrator/src/vm/mod.rs": MOD_154})
    # #155 was started from #154's branch; #154 got one more commit since, which #155 must integrate
    world.push_branch("feature/issue-155", {"orchestrator/src/vm/apple_hv.rs": APPLE_HV,
                                            "orchestrator/src/vm/mod.rs": MOD_154 + "pub mod apple_hv;\n"},
                      base="origin/feature/issue-154")
    world.repo.git.checkout("-q", "-b", "fix-154", "origin/feature/issue-154")
    world.commit(world.repo, {"orchestrator/src/vm/firecracker.rs": "pub fn boot() -> bool { true }\npub fn shutdown() {}\n"}, "fix")
    world.repo.git.push("origin", "fix-154:feature/issue-154")
    world.repo.git.checkout("-q", "main")
    return world


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo and clippy")
def test_luminaguard_plan_on_a_luminaguard_shaped_repo(pytester: pytest.Pytester, luminaguard: GitWorld,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(PLANS / "luminaguard.yaml", pytester.path / "luminaguard.yaml")
    monkeypatch.setenv("RUSTUP_HOME", os.environ.get("RUSTUP_HOME", f"{REAL_HOME}/.rustup"))
    monkeypatch.setenv("CARGO_HOME", os.environ.get("CARGO_HOME", f"{REAL_HOME}/.cargo"))
    monkeypatch.setenv("CARGO_NET_OFFLINE", "true")
    result = pytester.runpytest("--waves", "luminaguard.yaml", "--waves-repo", str(luminaguard.path), "-v")
    result.stdout.fnmatch_lines([
        "1*#152*Cross-Platform VM Research*5/5*#1 open*✅ passed*",
        "2*#154*Platform-Agnostic VM Abstraction*7/7*#2 open*✅ passed*",
        "3*#155*Implement macOS VM Backend*8/8*#3 open*✅ passed*",
    ])
    # the work is there, so the sub-agent (amp, not installed here) is not dispatched again
    result.stdout.fnmatch_lines(["*✅ agent (agent) — already satisfied: not dispatched*"])
    result.stdout.fnmatch_lines(["*✅ exports (exports) — src/lib.rs*pub mod vm*Hypervisor*"])
    result.stdout.fnmatch_lines(["*::wave2::merge-152-154 PASSED*"])  # the seed's "different files" claim
    result.stdout.fnmatch_lines(["wave 1 Research: ✅ wave 1 merges cleanly onto origin/main",
                                 "wave 2 Design: ✅ wave 2 merges cleanly onto origin/main",
                                 "wave 3 Implementation: ✅ wave 3 merges cleanly onto origin/main"])
    tree = git.Repo(luminaguard.path / ".worktrees-pr/pr-171")
    assert tree.is_ancestor("origin/feature/issue-154", "HEAD")  # #155 integrated #154
    assert result.ret == pytest.ExitCode.OK
