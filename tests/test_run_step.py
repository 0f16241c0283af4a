"""The run step with real subprocesses: exit codes, output rules, timeouts, and vacuous passes."""

from __future__ import annotations

import os
import re
import resource
import shutil
import time
from pathlib import Path

import pytest

from conftest import GitWorld, issue

# A token sits in the environment and in the origin's URL; no output or file of these runs may show it.
pytestmark = pytest.mark.usefixtures("planted_token")


REAL_HOME = os.environ.get("HOME", "/root")  # read at import, before the fixture moves HOME


def one_step(step: str) -> str:
    return f"""
- number: 3
  title: Three
  branch: feature/issue-3
  steps:
    - {step}
"""


def test_passes_on_expected_exit(world: GitWorld, run_plan) -> None:
    run_plan(one_step("run: 'echo hello'")).assert_outcomes(passed=1)


def test_failure_shows_command_exit_code_and_tail(world: GitWorld, run_plan) -> None:
    result = run_plan(one_step("""name: tests
      run: "printf 'line %s\\\\n' 1 2 3; echo 'error: boom' >&2; exit 3\""""))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*#3 Three — step 'tests' (run, plan.yaml:*",
        "*exit code 3, expected exit code 0*",
        "*$ printf*",
        "*last lines of output:*",
        "*| line 3*",
        "*| error: boom*",
    ])
    assert "Traceback" not in result.stdout.str()
    assert "pytest_waves" not in result.stdout.str()  # no plugin frames


def test_expected_nonzero_exit(world: GitWorld, run_plan) -> None:
    run_plan(one_step("run: {cmd: 'exit 2', exit_code: 2}")).assert_outcomes(passed=1)


def test_argv_list_runs_without_shell(world: GitWorld, run_plan) -> None:
    # with a shell `$HOME; false` would run; as an argv it is a literal argument to echo
    run_plan(one_step("run: {cmd: [echo, '$HOME; false']}")).assert_outcomes(passed=1)


def test_forbidden_output_fails(world: GitWorld, run_plan) -> None:
    result = run_plan(one_step(r"""run: {cmd: "echo 'warning: unused variable x'", forbid: ['^warning']}"""))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*forbidden output (^warning): warning: unused variable x*"])


def test_required_output_missing_fails(world: GitWorld, run_plan) -> None:
    result = run_plan(one_step("run: {cmd: 'echo nothing', require: ['^test result: ok']}"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no output line matches ^test result: ok*"])


def test_pytest_that_collected_nothing_is_not_a_pass(world: GitWorld, run_plan) -> None:
    result = run_plan(one_step("run: {cmd: '{python} -m pytest -q -k nothing_matches_this', exit_code: 5}"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*tested nothing: pytest exit code 5: no tests collected*"])


def test_cargo_zero_tests_is_not_a_pass_unless_allowed(world: GitWorld, run_plan) -> None:
    fake_cargo = "printf 'running 0 tests\\\\n\\\\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured\\\\n'"
    result = run_plan(one_step(f'run: "{fake_cargo}"'))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*tested nothing: cargo test ran 0 tests*allow_empty*"])
    run_plan(one_step(f'run: {{cmd: "{fake_cargo}", allow_empty: true}}')).assert_outcomes(passed=1)


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_real_cargo_filter_matching_nothing(world: GitWorld, run_plan) -> None:
    """The seed's `cargo test --lib vm::apple_hv` on Linux: cfg(macos) tests do not exist there."""
    GitWorld.commit(world.repo, {
        "crate/Cargo.toml": '[package]\nname = "tiny"\nversion = "0.1.0"\nedition = "2021"\n',
        "crate/src/lib.rs": "pub fn two() -> u32 { 2 }\n#[cfg(test)]\nmod tests {\n"
                            "    #[test]\n    fn it_works() { assert_eq!(super::two(), 2); }\n}\n",
    }, "crate")
    homes = f"RUSTUP_HOME: '{REAL_HOME}/.rustup', CARGO_HOME: '{REAL_HOME}/.cargo'"
    env = f"{{CARGO_TARGET_DIR: '{world.root / 'target'}', CARGO_NET_OFFLINE: 'true', {homes}}}"
    run_plan(one_step(f"run: {{cmd: 'cargo test --lib it_works', cwd: crate, env: {env}}}")).assert_outcomes(passed=1)
    result = run_plan(one_step(f"run: {{cmd: 'cargo test --lib apple_hv', cwd: crate, env: {env}}}"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*tested nothing: cargo test ran 0 tests*"])


def test_timeout_kills_the_whole_process_group(world: GitWorld, run_plan, tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    # the shell starts a grandchild that would outlive a plain kill of the shell
    cmd = f"sleep 60 & echo $! > {pidfile}; wait"
    started = time.monotonic()
    result = run_plan(one_step(f"run: {{cmd: '{cmd}', timeout: 1}}"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*timed out after 1s; the process group was killed*"])
    grandchild = int(pidfile.read_text())
    assert time.monotonic() - started < 30  # not a timing assertion: it would otherwise hang for 60 s
    assert not running(grandchild)


def running(pid: int) -> bool:
    """Alive and not a zombie (a killed orphan may wait a moment for init to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_missing_cwd_is_a_clear_failure(world: GitWorld, run_plan) -> None:
    result = run_plan(one_step("run: {cmd: 'true', cwd: nowhere}"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cwd nowhere does not exist in*"])


def test_command_not_found(world: GitWorld, run_plan) -> None:
    result = run_plan(one_step("run: {cmd: [no-such-command-xyz]}"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*`no-such-command-xyz` is not on PATH*"])


def test_output_is_logged_in_full_between_a_header_and_a_footer(world: GitWorld, run_plan,
                                                               pytester: pytest.Pytester) -> None:
    run_plan(one_step("run: {cmd: 'seq 1 5000; printf last'}")).assert_outcomes(passed=1)
    (log,) = pytester.path.glob(".waves/logs/plan/*/issue3-run.log")
    lines = log.read_text().splitlines()
    assert lines[0] == "## pytest-waves: $ seq 1 5000; printf last"
    assert lines[1] == f"## pytest-waves: cwd: {world.path}"
    assert re.fullmatch(r"## pytest-waves: started: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", lines[2])
    assert lines[3:-1] == [*map(str, range(1, 5001)), "last"]  # the unended last line keeps its own line
    assert re.fullmatch(r"## pytest-waves: exit 0 after \d+\.\d s", lines[-1])


def test_a_timed_out_commands_log_says_so_and_its_tail_is_its_own_output(world: GitWorld, run_plan,
                                                                         pytester: pytest.Pytester) -> None:
    result = run_plan(one_step("run: {cmd: 'echo before; sleep 30', timeout: 1}"))
    result.assert_outcomes(failed=1)
    (log,) = pytester.path.glob(".waves/logs/plan/*/issue3-run.log")
    assert log.read_text().splitlines()[-2:] == ["before", "## pytest-waves: killed by its 1 s timeout"]
    result.stdout.fnmatch_lines(["*last lines of output:", "    | before"])
    assert "## pytest-waves" not in result.stdout.str()  # the report shows output, not the log's frame


def test_a_background_process_left_running_is_stopped_and_its_output_kept(world: GitWorld, run_plan, tmp_path) -> None:
    pid_file = tmp_path / "bg.pid"
    steps = (f"[{{run: {{cmd: 'sleep 300 & echo $! > {pid_file}; echo \"warning: deprecated\"', "
             "forbid: ['^warning'], allow_empty: true}}]")
    result = run_plan(issue(steps, worktree=False))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*forbidden output (^warning): warning: deprecated*"])
    assert not running(int(pid_file.read_text())), "the background process outlived its step"


def test_a_step_ends_once_what_it_left_running_has_ended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed, a process lets go of its pipe a moment before it has ended: the command waits for the
    end, so nothing a step started still runs when the step is over. That moment is about a
    millisecond wide, so this looks at once, five times (each killed after a short grace)."""
    import pytest_waves.engine.commands as commands

    monkeypatch.setattr(commands, "KILL_GRACE_SECONDS", 0.05)
    for n in range(5):
        pid_file = tmp_path / f"background{n}.pid"
        result = commands.run_command(f"sleep 300 & echo $! > {pid_file}; echo started", tmp_path, None, 30,
                                      tmp_path / "step.log")
        assert result.exit_code == 0
        assert not running(int(pid_file.read_text())), f"round {n}: the background process outlived its step"


def test_allow_empty_accepts_pytests_exit_5(world: GitWorld, run_plan, pytester: pytest.Pytester) -> None:
    empty = pytester.mkdir("empty_suite")
    cmd = f"{{python}} -m pytest -p no:cacheprovider {empty}"
    run_plan(one_step(f'run: {{cmd: "{cmd}"}}')).assert_outcomes(failed=1)  # tested nothing
    run_plan(one_step(f'run: {{cmd: "{cmd}", allow_empty: true}}')).assert_outcomes(passed=1)


def test_the_newest_twenty_runs_logs_are_kept(world: GitWorld, run_plan, pytester: pytest.Pytester) -> None:
    logs = pytester.path / ".waves/logs/plan"
    logs.mkdir(parents=True)
    for n in range(25):
        (logs / f"20260101-0000{n:02d}-1-abcd").mkdir()
    run_plan(one_step("run: {cmd: 'true', allow_empty: true}")).assert_outcomes(passed=1)
    assert len([p for p in logs.iterdir() if p.is_dir()]) == 20


def test_a_step_runs_in_a_process_that_has_more_than_1024_files_open(world: GitWorld, run_plan) -> None:
    """select() takes no descriptor past 1023; an IDE or a long in-process session has such ones."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"this machine allows {hard} open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        assert held[-1] > 1024
        result = run_plan(one_step("run: 'echo hello'"))
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    result.assert_outcomes(passed=1)


def test_a_command_whose_output_cannot_be_watched_is_not_left_running(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The command runs, then no descriptor is left to watch its output (EMFILE, injected at the
    selector once the command is up): the step fails with the error, and the command is gone."""
    import errno

    import pytest_waves.engine.commands as commands

    marker = tmp_path / "command.pid"

    def no_descriptor_left() -> None:
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(commands.selectors, "DefaultSelector", no_descriptor_left)
    with pytest.raises(OSError, match="Too many open files"):
        commands.run_command(f"echo $$ > {marker}; exec sleep 60", tmp_path, None, 30, tmp_path / "step.log")
    with pytest.raises(ProcessLookupError):
        os.kill(int(marker.read_text()), 0)
    assert "interrupted after" in (tmp_path / "step.log").read_text()
