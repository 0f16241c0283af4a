"""Every malformed plan is one usage error naming file, line and field — never a traceback."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

VALID = """\
project: demo
repository:
  path: repo
waves:
  - id: 1
    name: Design
    issues:
      - number: 154
        title: Hypervisor trait
        branch: feature/issue-154
        worktree: wt/pr-170
        deliverables: [src/vm/mod.rs]
        steps:
          - rebase
          - name: tests
            run: "cargo test --lib vm::"
  - id: 2
    name: Implementation
    issues:
      - number: 155
        title: macOS backend
        branch: feature/issue-155
        depends_on: [154]
        steps:
          - push
"""


def _swap(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


# (id, plan text, expected "line: field: message" fragment)
CASES = [
    ("yaml-syntax", _swap("name: Design", "name: [Design"), "plan.yaml:7: YAML syntax error"),
    ("unclosed-quote", _swap("title: Hypervisor trait", 'title: "Hypervisor trait'), "YAML syntax error"),
    ("empty-file", "", "plan.yaml:1: the plan is empty"),
    ("not-a-mapping", "- just\n- a list\n", "plan.yaml:1: a plan is a mapping"),
    ("unknown-top-key", "colour: blue\n" + VALID, "plan.yaml:1: colour: unknown key"),
    ("misspelt-top-key", VALID.replace("waves:", "wavez:"), "plan.yaml:4: wavez: unknown key (did you mean `waves`?)"),
    ("misspelt-option", _swap("            run: \"cargo test --lib vm::\"", "            run: {cmd: x, timout: 5}"),
     "waves[0].issues[0].steps[1].run.timout: unknown key (did you mean `timeout`?)"),
    ("missing-project", VALID.replace("project: demo\n", ""), "plan.yaml:1: project: required field is missing"),
    ("unknown-issue-key", _swap("        title: Hypervisor trait", "        title: Hypervisor trait\n        owner: me"),
     "plan.yaml:10: waves[0].issues[0].owner: unknown key"),
    ("wrong-type-number", _swap("number: 154", "number: one-five-four"),
     "plan.yaml:8: waves[0].issues[0].number: Input should be a valid integer"),
    ("negative-number", _swap("number: 154", "number: -1"), "waves[0].issues[0].number: Input should be greater than 0"),
    ("huge-number", _swap("number: 154", "number: 1000000000000000000000000000000"),
     "plan.yaml:8: waves[0].issues[0].number: Input should be less than or equal to 2147483647"),
    ("empty-command", _swap("run: \"cargo test --lib vm::\"", "run: \"\""),
     "plan.yaml:16: waves[0].issues[0].steps[1].run.cmd: the command is empty: a step must run something to check"),
    ("empty-command-option", _swap("run: \"cargo test --lib vm::\"", "run: {cmd: '  '}"),
     "waves[0].issues[0].steps[1].run.cmd: the command is empty"),
    ("empty-argv", _swap("run: \"cargo test --lib vm::\"", "run: []"),
     "waves[0].issues[0].steps[1].run.cmd: the command is empty"),
    ("missing-title", _swap("        title: Hypervisor trait\n", ""), "waves[0].issues[0].title: required field is missing"),
    ("bad-branch", _swap("branch: feature/issue-154", "branch: feature..154"),
     "plan.yaml:10: waves[0].issues[0].branch: 'feature..154' is not a valid git branch name"),
    ("unknown-kind", _swap("          - rebase", "          - rebais"),
     "plan.yaml:14: waves[0].issues[0].steps[0].rebais: unknown step kind 'rebais' (known kinds:"),
    ("two-kind-keys", _swap("            run: \"cargo test --lib vm::\"", "            run: cargo test\n            push: {}"),
     "plan.yaml:15: waves[0].issues[0].steps[1]: a step needs exactly one step kind key"),
    ("bad-option-type", _swap("            run: \"cargo test --lib vm::\"", "            run: {cmd: cargo test, timeout: soon}"),
     "plan.yaml:16: waves[0].issues[0].steps[1].run.timeout: Input should be a valid number"),
    ("unknown-option", _swap("            run: \"cargo test --lib vm::\"", "            run:\n              cmd: x\n              colour: red"),
     "plan.yaml:18: waves[0].issues[0].steps[1].run.colour: unknown key"),
    ("missing-option", _swap("            run: \"cargo test --lib vm::\"", "            run: {cwd: orchestrator}"),
     "waves[0].issues[0].steps[1].run.cmd: required field is missing"),
    ("duplicate-number", _swap("number: 155", "number: 154"),
     "plan.yaml:20: waves[1].issues[0].number: issue #154 is already defined (line 8)"),
    ("unknown-dependency", _swap("depends_on: [154]", "depends_on: [999]"),
     "plan.yaml:23: waves[1].issues[0].depends_on[0]: #155 depends on #999, which the plan does not have"),
    ("self-dependency", _swap("depends_on: [154]", "depends_on: [155]"), "#155 depends on itself"),
    ("depends-on-later-wave", _swap("        deliverables: [src/vm/mod.rs]", "        deliverables: [src/vm/mod.rs]\n        depends_on: [155]"),
     "depends on #155, which is in the later wave 2"),
    ("cycle", _swap("          - push\n", "          - push\n" + textwrap.indent(textwrap.dedent("""\
        - {number: 156, title: a, branch: b156, depends_on: [157], steps: [push]}
        - {number: 157, title: b, branch: b157, depends_on: [155, 156], steps: [push]}
        """), "      ")).replace("        depends_on: [154]\n", "        depends_on: [154, 157]\n"),
     "plan.yaml:23: waves[1].issues[0].depends_on: dependency cycle: #155 → #157 → #155"),
    ("merge-key", _swap("        title: Hypervisor trait\n", "        title: Hypervisor trait\n        <<: {risk: {level: low}}\n"),
     "plan.yaml:10: YAML merge keys (<<) are not supported in plans"),
    ("merge-key-alias", _swap("  - id: 2", "  - <<: *wave\n    id: 2").replace("  - id: 1", "  - &wave\n    id: 1"),
     "plan.yaml:18: YAML merge keys (<<) are not supported in plans"),
    ("worktree-escapes", _swap("worktree: wt/pr-170", "worktree: ../elsewhere"),
     "plan.yaml:11: waves[0].issues[0].worktree: worktree '../elsewhere' must be a folder inside the repository"),
    ("worktree-absolute", _swap("worktree: wt/pr-170", "worktree: /tmp/x"), "worktree '/tmp/x' must be a folder"),
    ("deliverable-escapes", _swap("deliverables: [src/vm/mod.rs]", "deliverables: [../../../etc/passwd]"),
     "plan.yaml:12: waves[0].issues[0].deliverables[0]: deliverable '../../../etc/passwd' leaves the repository"),
    ("cwd-escapes", _swap("            run: \"cargo test --lib vm::\"", "            run: {cmd: ls, cwd: ../../..}"),
     "waves[0].issues[0].steps[1].run.cwd: path '../../..' leaves the repository"),
    ("duplicate-key", _swap("    name: Design", "    name: Design\n    name: Again"), "plan.yaml:7: duplicate key 'name'"),
    ("duplicate-step-name", _swap("          - rebase", "          - name: tests\n            rebase:"),
     "waves[0].issues[0].steps[1].name: step name 'tests' is used twice in issue #154"),
    ("empty-waves", "project: demo\nwaves: []\n", "plan.yaml:2: waves: List should have at least 1 item"),
    ("empty-wave", _swap("          - push\n", "          - push\n  - id: 3\n    issues: []\n"),
     "waves[2].issues: List should have at least 1 item"),
    ("no-steps", _swap("        steps:\n          - push\n", "        steps: []\n"), "waves[1].issues[0].steps: List should have at least 1 item"),
    ("duplicate-wave-id", _swap("  - id: 2", "  - id: 1"), "waves[1].id: wave id 1 is used twice"),
    ("unknown-wave-dependency", _swap("    name: Implementation", "    name: Implementation\n    depends_on: [9]"),
     "waves[1].depends_on: depends on wave 9, which the plan does not have"),
    ("bad-os", _swap("          - push", "          - push:\n            when: {os: [beos]}"),
     "waves[1].issues[0].steps[0].when.os[0]: Input should be 'linux', 'macos' or 'windows'"),
    ("bad-risk", _swap("        worktree: wt/pr-170", "        worktree: wt/pr-170\n        risk: {level: extreme}"),
     "waves[0].issues[0].risk.level: Input should be"),
    ("bad-forge", "forge: gitlab\n" + VALID, "plan.yaml:1: forge: Input should be 'local' or 'github' (got 'gitlab')"),
    ("wave-depends-on-later-wave", _swap("    name: Design", "    name: Design\n    depends_on: [2]"),
     "plan.yaml:7: waves[0].depends_on: wave 1 depends on wave 2, which comes later"),
    ("shared-worktree", _swap("        depends_on: [154]", "        depends_on: [154]\n        worktree: wt/pr-170"),
     "waves[1].issues[0].worktree: worktree 'wt/pr-170' is already #154's"),
    ("nested-worktree", _swap("        depends_on: [154]", "        depends_on: [154]\n        worktree: wt/pr-170/inner"),
     "waves[1].issues[0].worktree: worktree 'wt/pr-170/inner' and #154's 'wt/pr-170' are nested"),
    ("tab-indentation", _swap("    name: Design", "\tname: Design"), "YAML syntax error"),
    ("deep-nesting", "project: demo\nwaves: " + "[" * 200 + "]" * 200 + "\n",  # (libyaml stops at 1000)
     "plan.yaml:2: the plan nests more than 64 levels deep"),
    ("bad-merge-policy", "merges: {overlap: maybe}\n" + VALID,
     "plan.yaml:1: merges.overlap: Input should be 'warn', 'fail' or 'ignore'"),
    ("step-kind-as-number", _swap("          - rebase", "          - 42"), "waves[0].issues[0].steps[0]"),
    ("alias-bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
     "the plan expands to more than 200000 values"),
    ("github-forge-without-repo", "forge: {kind: github}\n" + VALID,
     "plan.yaml:1: forge: a github forge needs `repo: owner/name`"),
    ("forge-url-with-credentials", "forge: {kind: github, repo: a/b, api_url: 'https://me:hunter2hunter2@ghe.example.com/api'}\n"
     + VALID, "plan.yaml:1: forge.api_url: must be http(s)://HOST[/PATH] without credentials"),
    ("integrate-issue-and-branch", _swap("          - push", "          - integrate: {issue: 154, branch: x}\n          - push"),
     "waves[1].issues[0].steps[0].integrate: give `issue: N` or `branch: NAME`, not both"),
    ("restack-a-branch", _swap("          - push", "          - integrate: {branch: x, how: restack}\n          - push"),
     "how: restack needs `issue: N` (a branch of the plan's); a branch is merged"),
    ("stacked-without-dependency", _swap("        depends_on: [154]\n", "").replace("          - push", "          - integrate: {issue: 154}\n          - push"),
     "#155 is stacked on #154 (integrate restacks onto it): add 154 to its depends_on"),
    ("agent-without-agents", _swap("          - push", "          - agent: do it"),
     "plan.yaml:25: waves[1].issues[0].steps[0].agent: the plan declares no agents"),
    ("agent-unknown", "agents: {amp: {command: [amp, ask, '{prompt}']}}\n"
     + _swap("          - push", "          - agent: {use: claude, prompt: do it}"),
     "waves[1].issues[0].steps[0].agent: agent 'claude' is not among the plan's agents (amp)"),
    ("agent-done-when-empty-command", "agents: {amp: {command: [amp]}}\n"
     + _swap("          - push", "          - agent: {prompt: p, done_when: {cmd: ''}}"),
     "waves[1].issues[0].steps[0].agent.done_when.cmd: the command is empty"),
    ("agent-done-when-escapes", "agents: {amp: {command: [amp]}}\n"
     + _swap("          - push", "          - agent: {prompt: p, done_when: {files: [../../../etc/passwd]}}"),
     "done_when file '../../../etc/passwd' leaves the issue's worktree"),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in CASES])
def test_malformed_plan_is_one_usage_error(pytester: pytest.Pytester, text: str, expected: str) -> None:
    pytester.path.joinpath("plan.yaml").write_text(text)
    result = pytester.runpytest("--waves", "plan.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr.str()
    assert expected in errors[0]
    assert re.match(r"ERROR: invalid wave plan: plan\.yaml:\d+: ", errors[0]), errors[0]  # file and line, always
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert "hunter2" not in result.stdout.str() + result.stderr.str()  # credentials are never echoed


def test_non_utf8_plan(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("plan.yaml").write_bytes(b"project: demo\nwaves:\n  - id: \xff\n")
    result = pytester.runpytest("--waves", "plan.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: invalid wave plan: plan.yaml:3: the plan is not valid UTF-8"])


def test_missing_plan_file(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--waves", "nope.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: invalid wave plan: nope.yaml: cannot read the plan: No such file*"])


def test_valid_base_plan_collects(pytester: pytest.Pytester) -> None:
    """The mutations above start from a plan that is itself fine."""
    pytester.path.joinpath("plan.yaml").write_text(textwrap.dedent(VALID))
    result = pytester.runpytest("--waves", "plan.yaml", "--co", "-q")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["plan.yaml::wave1::issue154::rebase", "plan.yaml::wave1::issue154::tests",
                                 "plan.yaml::wave2::issue155::push"])


def test_a_worktree_that_leaves_through_a_symlink(pytester: pytest.Pytester, tmp_path: Path) -> None:
    repo = pytester.mkdir("repo")
    (repo / "wt").symlink_to(tmp_path)  # inside the repository by name, outside by fact
    pytester.path.joinpath("plan.yaml").write_text(VALID)
    result = pytester.runpytest("--waves", "plan.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: invalid wave plan: plan.yaml:11: waves[[]0[]].issues[[]0[]].worktree: "
                                 "worktree 'wt/pr-170' leaves the repository through a symlink"])


def test_a_ten_megabyte_file_is_refused_before_it_is_read(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("plan.yaml").write_text(VALID + "# " + "x" * (10 * 1024 * 1024) + "\n")
    result = pytester.runpytest("--waves", "plan.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: invalid wave plan: plan.yaml: the plan is 10.0 MB; plans are limited to 5 MB*"])
