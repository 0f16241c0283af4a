"""pytest_waves.engine.analysis: static public-API checks on small real crates and packages."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from pytest_waves.engine.analysis import ExportReport, check_export, check_python_export, check_rust_export

CRATE = {
    "Cargo.toml": """
        [package]
        name = "wavesfixture"
        version = "0.1.0"
        edition = "2021"

        [workspace]
    """,
    "src/lib.rs": """
        //! Fixture crate. Docs that mention pub mod fake_doc; must not count.
        /* A block comment /* with a nested one */ pub mod fake_block; */
        pub mod vm;
        pub mod net;
        #[path = "weird/location.rs"]
        pub mod relocated;
        pub mod inline {
            //! inner doc
            pub mod deeper {
                pub struct Deep;
            }
            pub fn helper<'a>(s: &'a str) -> &'a str {
                s
            }
        }
        mod private_stuff;
        pub(crate) mod internal;
        pub mod cyc;
        pub use net::*;
        pub use self::inline::deeper::Deep as Renamed;
        pub enum Color {
            Red,
            #[allow(dead_code)]
            Green { shade: u8 },
        }
        pub use self::Color::*;

        pub const FAKE: &str = "pub mod fake_string; } {";
        pub const RAW: &str = r#"pub mod fake_raw; " } "#;
        pub const QUOTE: char = '"';
        pub const BRACE: char = '{';
        pub const ESCAPED: char = '\\'';
        pub fn lifetimes<'a, 'b: 'a>(x: &'a str, _y: &'b str) -> &'a str {
            let _c = '}';
            x
        }

        #[macro_export]
        macro_rules! wave {
            () => {};
        }

        pub struct AfterTricky;
    """,
    "src/vm/mod.rs": """
        //! The VM module (mod.rs layout).
        mod hypervisor;
        pub use hypervisor::Hypervisor;
        pub use self::hypervisor::{Backend, Config as VmConfig};
        #[cfg(target_os = "macos")]
        pub mod apple_hv;
        pub(crate) fn secret() {}
        pub mod tools {
            pub use super::hypervisor::Backend as ToolBackend;
            pub use crate::net::Packet as VmPacket;
        }
    """,
    "src/vm/hypervisor.rs": """
        /// A hypervisor. Doc text: pub struct Fake;
        pub trait Hypervisor {
            fn name(&self) -> &str;
        }
        pub struct Backend;
        pub struct Config {
            pub cpus: u8,
        }
        pub struct Hidden;
    """,
    "src/vm/apple_hv.rs": "pub struct AppleHv;\n",
    "src/vm/orphan.rs": "pub struct Orphan;\n",
    "src/net.rs": "pub mod socket;\npub struct Packet;\n",
    "src/net/socket.rs": "pub struct Socket;\n",
    "src/weird/location.rs": "pub struct Relocated;\npub mod child;\n",
    "src/weird/child.rs": "pub struct Child;\n",
    "src/private_stuff.rs": "pub struct Secret;\n",
    "src/internal.rs": "pub struct Internal;\n",
    "src/cyc.rs": """
        pub mod a {
            pub use super::b::*;
            pub struct FromA;
        }
        pub mod b {
            pub use super::a::*;
            pub struct FromB;
        }
    """,
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def line_of(root: Path, rel: str, needle: str) -> int:
    """1-based line of the first line of root/rel containing needle (computed independently of the checker)."""
    for no, line in enumerate((root / rel).read_text().splitlines(), 1):
        if needle in line:
            return no
    raise AssertionError(f"{needle!r} not in {rel}")


@pytest.fixture
def crate(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "crate", CRATE)


def rust(crate: Path, symbol: str) -> ExportReport:
    return check_rust_export(crate, symbol)


# --- Rust -------------------------------------------------------------------------------------


def test_rust_pub_mod_then_pub_use_through_private_mod(crate: Path) -> None:
    r = rust(crate, "vm::Hypervisor")
    assert r.ok and r.problem is None and r.language == "rust"
    assert r.chain == (
        f"src/lib.rs:{line_of(crate, 'src/lib.rs', 'pub mod vm;')}: pub mod vm",
        f"src/vm/mod.rs:{line_of(crate, 'src/vm/mod.rs', 'pub use hypervisor::')}: pub use hypervisor::Hypervisor",
        f"src/vm/hypervisor.rs:{line_of(crate, 'src/vm/hypervisor.rs', 'pub trait')}: pub trait Hypervisor",
    )
    assert r.cfg == ()


def test_rust_use_group_alias_and_crate_super_paths(crate: Path) -> None:
    r = rust(crate, "crate::vm::VmConfig")
    assert r.ok, r.problem
    assert r.chain[1].endswith(": pub use self::hypervisor::Config as VmConfig")
    assert r.chain[-1].startswith("src/vm/hypervisor.rs:") and r.chain[-1].endswith("pub struct Config")
    r = rust(crate, "vm::tools::ToolBackend")
    assert r.ok and r.chain[-2].endswith("pub use super::hypervisor::Backend as ToolBackend")
    r = rust(crate, "vm::tools::VmPacket")
    assert r.ok and r.chain[-1].startswith("src/net.rs:2:")


def test_rust_foo_rs_with_foo_dir(crate: Path) -> None:
    r = rust(crate, "net::socket::Socket")
    assert r.ok, r.problem
    assert r.chain == (
        "src/lib.rs:4: pub mod net",
        "src/net.rs:1: pub mod socket",
        "src/net/socket.rs:1: pub struct Socket",
    )


def test_rust_path_attribute_and_its_sibling_children(crate: Path) -> None:
    r = rust(crate, "relocated::Relocated")
    assert r.ok, r.problem
    assert r.chain == ("src/lib.rs:6: pub mod relocated", "src/weird/location.rs:1: pub struct Relocated")
    # a #[path] file acts like mod.rs, so its `mod child;` is src/weird/child.rs
    r = rust(crate, "relocated::child::Child")
    assert r.ok and r.chain[-1] == "src/weird/child.rs:1: pub struct Child"


def test_rust_inline_modules_and_renamed_reexport(crate: Path) -> None:
    r = rust(crate, "inline::deeper::Deep")
    assert r.ok, r.problem
    assert r.chain == (
        "src/lib.rs:7: pub mod inline { ... }",
        "src/lib.rs:9: pub mod deeper { ... }",
        "src/lib.rs:10: pub struct Deep",
    )
    r = rust(crate, "Renamed")
    assert r.ok
    assert r.chain == ("src/lib.rs:20: pub use self::inline::deeper::Deep as Renamed", "src/lib.rs:10: pub struct Deep")
    assert rust(crate, "inline::helper").ok


def test_rust_glob_reexports(crate: Path) -> None:
    r = rust(crate, "Packet")
    assert r.ok and r.chain == ("src/lib.rs:19: pub use net::*", "src/net.rs:2: pub struct Packet")
    assert rust(crate, "socket::Socket").ok  # modules come through globs too
    r = rust(crate, "Green")  # enum variants through `pub use self::Color::*`
    assert r.ok and r.chain[0] == "src/lib.rs:26: pub use self::Color::*" and r.chain[-1].endswith("variant Green")
    assert rust(crate, "Color::Red").ok


def test_rust_glob_cycle_terminates(crate: Path) -> None:
    r = rust(crate, "cyc::a::FromB")
    assert r.ok and r.chain[-1] == "src/cyc.rs:7: pub struct FromB"
    r = rust(crate, "cyc::a::Nope")
    assert not r.ok and r.problem == "no item `Nope` in module cyc::a (src/cyc.rs)"


def test_rust_private_mod_on_the_path(crate: Path) -> None:
    r = rust(crate, "vm::hypervisor::Hypervisor")
    assert not r.ok
    assert r.problem == (
        "`hypervisor` is declared private (`mod hypervisor;`) at src/vm/mod.rs:2, "
        "so vm::hypervisor::Hypervisor is not reachable from the crate root"
    )
    assert r.chain == ("src/lib.rs:3: pub mod vm",)
    r = rust(crate, "private_stuff::Secret")
    assert not r.ok and "`mod private_stuff;`" in (r.problem or "") and "src/lib.rs:16" in (r.problem or "")


def test_rust_pub_crate_is_not_public(crate: Path) -> None:
    r = rust(crate, "internal::Internal")
    assert not r.ok
    assert r.problem == (
        "`internal` is declared `pub(crate)` (`pub(crate) mod internal;`) at src/lib.rs:17, "
        "so internal::Internal is not visible outside the crate"
    )
    r = rust(crate, "vm::secret")
    assert not r.ok and "`pub(crate) fn secret`" in (r.problem or "") and "src/vm/mod.rs:7" in (r.problem or "")


def test_rust_orphan_file_is_not_part_of_the_crate(crate: Path) -> None:
    expected = "src/vm/orphan.rs is not part of the crate: no `mod` declaration reaches it"
    r = rust(crate, "vm::Orphan")
    assert not r.ok and r.problem == expected
    r = rust(crate, "vm::orphan::Orphan")
    assert not r.ok and r.problem == expected


def test_rust_cfg_is_reported_not_failed(crate: Path) -> None:
    r = rust(crate, "vm::apple_hv::AppleHv")
    assert r.ok, r.problem
    assert r.cfg == ('src/vm/mod.rs:5: #[cfg(target_os = "macos")] on mod apple_hv',)
    assert r.chain[-1] == "src/vm/apple_hv.rs:1: pub struct AppleHv"


def test_rust_cfg_attr_and_cfg_on_use(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"lib.rs": """
        mod imp { pub struct Fast; }
        #[cfg(feature = "fast")]
        #[cfg_attr(docsrs, doc(cfg(feature = "fast")))]
        pub use imp::Fast;
    """})
    r = check_rust_export(root / "lib.rs", "Fast")
    assert r.ok, r.problem
    assert r.cfg == (
        'lib.rs:2: #[cfg(feature = "fast")] on use imp::Fast',
        'lib.rs:3: #[cfg_attr(docsrs, doc(cfg(feature = "fast")))] on use imp::Fast',
    )


def test_rust_comments_and_literals_do_not_fool_the_scan(crate: Path) -> None:
    for fake in ("fake_doc", "fake_block", "fake_string", "fake_raw"):
        r = rust(crate, fake)
        assert not r.ok and r.problem == f"no item `{fake}` in the crate root (src/lib.rs)", fake
    assert not rust(crate, "vm::Fake").ok  # only mentioned in a doc comment
    # items after the tricky literals still parse, so brace matching survived '"', '{', '\'' and 'a
    r = rust(crate, "AfterTricky")
    assert r.ok and r.chain == (f"src/lib.rs:{line_of(crate, 'src/lib.rs', 'AfterTricky')}: pub struct AfterTricky",)
    assert rust(crate, "lifetimes").ok


def test_rust_missing_symbol(crate: Path) -> None:
    r = rust(crate, "vm::Hypervizor")
    assert not r.ok and r.problem == "no item `Hypervizor` in module vm (src/vm/mod.rs)"
    r = rust(crate, "vm::Hidden")  # exists, but in a module vm does not re-export
    assert not r.ok
    assert r.problem == (
        "no item `Hidden` in module vm (src/vm/mod.rs); `Hidden` is declared at "
        "src/vm/hypervisor.rs:9 in module vm::hypervisor, not re-exported here"
    )


def test_rust_macro_export(crate: Path) -> None:
    r = rust(crate, "wave")
    line = line_of(crate, "src/lib.rs", "macro_rules! wave")
    assert r.ok and r.chain == (f"src/lib.rs:{line}: #[macro_export] macro_rules! wave",)


def test_rust_pub_use_of_restricted_item(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"src/lib.rs": "mod a {\n    pub(crate) struct Inner;\n}\npub use a::Inner;\n"})
    r = check_rust_export(root, "Inner")
    assert not r.ok
    assert r.problem == (
        "`pub use a::Inner` at src/lib.rs:4 re-exports `Inner`, which is declared `pub(crate)` "
        "(`pub(crate) struct Inner`) at src/lib.rs:2, so Inner is not reachable from the crate root"
    )


def test_rust_unknown_crate_in_use(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": '[package]\nname = "x"\n[dependencies]\nserde-json = "1"\n',
                                 "src/lib.rs": "pub use serde_json::Value;\npub use nosuch::Thing;\n"})
    r = check_rust_export(root, "Value")
    assert r.ok and r.chain == ("src/lib.rs:1: pub use serde_json::Value",)
    r = check_rust_export(root, "Thing")
    assert not r.ok
    assert r.problem == (
        "`pub use nosuch::Thing` at src/lib.rs:2 does not resolve: "
        "`nosuch` is neither an item of the crate root nor a known crate"
    )


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")
def test_rust_fixture_is_valid_rust(crate: Path, tmp_path: Path) -> None:
    env = {**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")}
    # the suite's conftest points HOME at a temp dir; rustup still has to find its toolchains
    cargo_home = Path(shutil.which("cargo") or "").parent.parent
    env.setdefault("CARGO_HOME", str(cargo_home))
    if (cargo_home.parent / ".rustup").is_dir():
        env.setdefault("RUSTUP_HOME", str(cargo_home.parent / ".rustup"))
    proc = subprocess.run(["cargo", "check", "--offline", "--quiet"], cwd=crate, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


# --- Python -----------------------------------------------------------------------------------

PACKAGE = {
    "pkg/__init__.py": '''
        """The package."""
        from .core import Engine, Extra
        from pkg.util import helper
        from . import plugins
        from .core import _internal

        __all__ = ["Engine", "helper", "plugins", "_internal"]
        __all__ += ["Later"]

        def Later():
            pass
    ''',
    "pkg/core.py": "class Engine:\n    pass\n\n\nclass Extra:\n    pass\n\n\n_internal = 1\n",
    "pkg/util.py": "import os\n\n\ndef helper():\n    return os.sep\n",
    "pkg/plugins/__init__.py": "from .loader import load\n",
    "pkg/plugins/loader.py": "def load():\n    pass\n",
    "pkg/_impl.py": "class Thing:\n    pass\n",
    "pkg/typed.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from .core import Engine\n",
    "stars/__init__.py": "from .shapes import *\nfrom .loose import *\n",
    "stars/shapes.py": '__all__ = ["Circle"]\n\n\nclass Circle:\n    pass\n\n\nclass Square:\n    pass\n',
    "stars/loose.py": "try:\n    from json import dumps\nexcept ImportError:\n    dumps = None\n_hidden = 2\n",
}


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "src", PACKAGE)


def test_python_init_reexport(src: Path) -> None:
    r = check_python_export(src, "pkg.Engine")
    assert r.ok and r.language == "python"
    assert r.chain == (
        "pkg/__init__.py: package pkg",
        "pkg/__init__.py:2: from .core import Engine",
        "pkg/core.py:1: class Engine",
    )
    r = check_python_export(src, "pkg.helper")  # absolute import of the package's own module
    assert r.ok and r.chain[-1] == "pkg/util.py:4: def helper"
    r = check_python_export(src, "pkg.Later")  # listed through `__all__ +=`
    assert r.ok and r.chain[-1] == "pkg/__init__.py:10: def Later"


def test_python_all_excludes_name(src: Path) -> None:
    r = check_python_export(src, "pkg.Extra")
    assert not r.ok and r.problem == "`Extra` is not listed in pkg/__init__.py:__all__ (line 7)"


def test_python_private_names(src: Path) -> None:
    r = check_python_export(src, "pkg._internal")  # even when listed in __all__
    assert not r.ok
    assert r.problem == (
        "`_internal` starts with an underscore (pkg/__init__.py:5), so it is private by convention "
        "and pkg._internal is not a public export"
    )
    r = check_python_export(src, "pkg._impl.Thing")
    assert not r.ok and "`_impl` starts with an underscore (pkg/_impl.py)" in (r.problem or "")


def test_python_submodules_are_attributes(src: Path) -> None:
    r = check_python_export(src, "pkg.core.Engine")
    assert r.ok
    assert r.chain == ("pkg/__init__.py: package pkg", "pkg/core.py: submodule pkg.core", "pkg/core.py:1: class Engine")
    r = check_python_export(src, "pkg.plugins.load")  # `from . import plugins` names the subpackage
    assert r.ok
    assert r.chain[-2:] == ("pkg/plugins/__init__.py:1: from .loader import load", "pkg/plugins/loader.py:1: def load")


def test_python_star_import_honours_source_all(src: Path) -> None:
    r = check_python_export(src, "stars.Circle")
    assert r.ok and r.chain[1:] == ("stars/__init__.py:1: from .shapes import *", "stars/shapes.py:4: class Circle")
    r = check_python_export(src, "stars.Square")
    assert not r.ok
    assert r.problem == (
        "no name `Square` in module stars (stars/__init__.py); `from .shapes import *` (line 1) "
        "skips it because stars/shapes.py:__all__ (line 1) does not list it"
    )
    r = check_python_export(src, "stars.dumps")  # no __all__: public names, with their try/except reported
    assert r.ok and r.cfg == ("stars/loose.py:1: inside `try:`",)
    assert r.chain[-1] == "stars/loose.py:2: from json import dumps (outside the analysed tree, not checked)"
    assert not check_python_export(src, "stars._hidden").ok


def test_python_missing_and_type_checking_only(src: Path) -> None:
    r = check_python_export(src, "pkg.Nope")
    assert not r.ok and r.problem == "no name `Nope` in module pkg (pkg/__init__.py)"
    r = check_python_export(src, "pkg.typed.Engine")
    assert not r.ok
    assert r.problem == (
        "`Engine` is bound only under `if TYPE_CHECKING:` (`from .core import Engine` at pkg/typed.py:4), "
        "so it does not exist at runtime"
    )


def test_python_root_may_be_the_package_dir(src: Path) -> None:
    r = check_python_export(src / "pkg", "Engine")
    assert r.ok and r.symbol == "Engine" and r.chain[-1] == "pkg/core.py:1: class Engine"


# --- dispatcher -------------------------------------------------------------------------------


def test_check_export_infers_language(crate: Path, src: Path) -> None:
    r = check_export(crate, "vm::Hypervisor")
    assert r.ok and r.language == "rust" and r.chain[-1].endswith(": pub trait Hypervisor")
    r = check_export(crate / "src" / "lib.rs", "vm::Hypervisor")  # a root .rs file: paths relative to src/
    assert r.ok and r.chain[0] == "lib.rs:3: pub mod vm"
    r = check_export(src, "pkg.Engine")
    assert r.ok and r.language == "python" and r.chain[-1] == "pkg/core.py:1: class Engine"
    r = check_export(src / "pkg", "pkg.Nope")
    assert not r.ok and r.language == "python" and r.problem == "no name `Nope` in module pkg (pkg/__init__.py)"


def test_check_export_rejects_unknown_roots(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        check_export(tmp_path / "nope", "x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="cannot tell the language"):
        check_export(tmp_path / "empty", "x")
    with pytest.raises(ValueError, match="unsupported language"):
        check_export(tmp_path, "x", language="go")


LUMINAGUARD_154 = {
    "Cargo.toml": '[package]\nname = "lumina-orchestrator"\nversion = "0.1.0"\n',
    "src/lib.rs": "pub mod vm;\n",
    "src/vm/mod.rs": "pub mod hypervisor;\nuse crate::vm::hypervisor::Hypervisor;\n",
    "src/vm/hypervisor.rs": "pub trait Hypervisor {}\n",
}


def test_rust_a_private_import_names_the_public_path(tmp_path: Path) -> None:
    """LuminaGuard's #154: `vm::Hypervisor` is a private `use`; the trait's public path is given."""
    root = write_tree(tmp_path / "orchestrator", LUMINAGUARD_154)
    r = check_rust_export(root, "vm::Hypervisor")
    assert not r.ok and r.problem is not None
    assert r.problem.endswith("; public path: `vm::hypervisor::Hypervisor`")
    assert check_rust_export(root, "vm::hypervisor::Hypervisor").ok


def test_rust_a_path_may_start_with_the_crates_own_name(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "orchestrator", LUMINAGUARD_154)
    assert check_rust_export(root, "lumina_orchestrator::vm::hypervisor::Hypervisor").ok
    assert not check_rust_export(root, "other_crate::vm::hypervisor::Hypervisor").ok


@pytest.mark.parametrize("value", ["#[macro_export]\nmacro_rules! foo { () => {} }\n", "pub fn foo() {}\n"])
def test_rust_a_value_or_macro_never_stands_for_a_module_of_the_same_name(tmp_path: Path, value: str) -> None:
    """Types/modules, values and macros are separate namespaces, as rustc keeps them."""
    root = write_tree(tmp_path / "c", {
        "Cargo.toml": '[package]\nname = "c"\nversion = "0.1.0"\n',
        "src/lib.rs": f"mod foo;\n{value}pub use crate::foo::bar::*;\n",
        "src/foo.rs": "pub mod bar;\n", "src/foo/bar.rs": "pub struct Thing;\n"})
    r = check_rust_export(root, "Thing")
    assert r.ok, r.problem
    assert r.chain[-1] == "src/foo/bar.rs:1: pub struct Thing"


def test_rust_a_glob_that_does_not_resolve_is_said(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "c", {
        "Cargo.toml": '[package]\nname = "c"\nversion = "0.1.0"\n',
        "src/lib.rs": "pub use crate::gone::*;\n"})
    r = check_rust_export(root, "Thing")
    assert not r.ok and r.problem is not None
    assert "the glob `pub use crate::gone::*` at src/lib.rs:1 does not resolve" in r.problem, r.problem


LAZY_PACKAGE = {
    "pkg/__init__.py": """\
        from typing import TYPE_CHECKING

        __all__ = ["Client", "Table"]

        if TYPE_CHECKING:
            from pkg.client import Client

        def __getattr__(name):
            if name == "Client":
                from pkg.client import Client
                return Client
            if name == "Table":
                from pkg.table import Table
                return Table
            raise AttributeError(name)
        """,
    "pkg/client.py": "class Client:\n    pass\n",
    "pkg/table.py": "class Table:\n    pass\n",
}


def test_python_a_lazy_export_pep_562_is_exported(tmp_path: Path) -> None:
    """Imports under TYPE_CHECKING, a module __getattr__ and the name in __all__: exported at runtime."""
    root = write_tree(tmp_path, LAZY_PACKAGE) / "pkg"
    typed = check_python_export(root, "pkg.Client")
    assert typed.ok, typed.problem
    assert "`__getattr__`, line 8, provides it" in typed.chain[1] and typed.chain[-1] == "pkg/client.py:1: class Client"
    untyped = check_python_export(root, "pkg.Table")
    assert untyped.ok and "provided lazily by the module's `__getattr__`" in untyped.chain[-1]
    assert not check_python_export(root, "pkg.Missing").ok  # not in __all__: still not exported
