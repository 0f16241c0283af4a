"""A planted token never appears in anything a run shows or writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import pytest_waves.engine.forge.github  # noqa: F401  (see test_github_forge.py: before pytester's runs)
from conftest import PLANTED_TOKEN, GitWorld, TokenSearch, plan_text
from github_fake import FakeGitHub
from pytest_waves.engine.masking import MASK, Secret, mask

# Not in any of GitHub's token shapes (an Enterprise or legacy token): only the value itself can
# mask it. Read from the environment with a trailing newline, as a mounted secret file often has.
TOKEN = "plainsecrettoken1234567890abcdef"
LEAKY_URL = "https://x-access-token:{token}@127.0.0.1:9/acme/luminaguard.git"

# A command that prints the token every way it tends to escape: raw, as a header, inside a remote
# URL that git echoes back, and in git's own error about that remote.
LEAKY_COMMAND = ("T=$(echo $GITHUB_TOKEN); echo token=$T; echo \"Authorization: token $T\"; "
                 f"git remote add leaky {LEAKY_URL.replace('{token}', '$T')}; git remote -v; "
                 "git fetch leaky; exit 3")

# A third-party step kind with a bug: its traceback, shown with -l, holds the token in a local.
BUGGY_KIND = """
import os
from pytest_waves.steps import StepKind

class Buggy(StepKind):
    name = "buggy"

    def run(self, options, ctx):
        header = "token " + os.environ["GITHUB_TOKEN"].strip()
        raise RuntimeError(f"unexpected answer for {header}")

def pytest_waves_step_kinds():
    return [Buggy]
"""

ISSUES = """
- number: 7
  title: Seven
  branch: feature/issue-7
  worktree: wt/issue-7
  steps:
    - push
    - pr
    - name: leaky
      run: '%s'
- number: 8
  title: Eight
  branch: feature/issue-8
  worktree: wt/issue-8
  steps: [buggy]
""" % LEAKY_COMMAND.replace("'", "''")


@pytest.fixture
def github(world: GitWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN + "\n")
    monkeypatch.delenv("GH_TOKEN", raising=False)
    with FakeGitHub(origin=world.origin_path) as fake:
        fake.tokens = {TOKEN}
        yield fake


def _artifacts(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): path.read_text(errors="replace")
            for path in root.rglob("*") if path.is_file()}


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["in-process", "xdist"])
def test_a_planted_token_is_in_no_output_report_or_log(pytester: pytest.Pytester, world: GitWorld,
                                                        github: FakeGitHub, workers: list[str]) -> None:
    world.worktree("wt/issue-7", "feature/issue-7", {"seven.txt": "7\n"})
    world.worktree("wt/issue-8", "feature/issue-8")
    forge = f"forge: {{kind: github, repo: acme/luminaguard, api_url: '{github.api}', write_interval: 0}}\n"
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, ISSUES, extra=forge))
    pytester.makeconftest(BUGGY_KIND)
    result = pytester.runpytest_subprocess(
        "--waves", "plan.yaml", *workers, "-v", "-l", "-rA", "--junitxml=out/junit.xml",
        "--waves-report=out/report.md", "--waves-json=out/report.json", "--waves-comment=42",
        "--log-level=DEBUG", "--log-file=out/run.log", "--log-file-level=DEBUG")
    result.assert_outcomes(passed=2, failed=2)
    output = result.stdout.str() + result.stderr.str()
    # the run really printed all of it, masked
    for shown in ("token=***", "Authorization: token ***", "https://***@127.0.0.1:9/acme/luminaguard.git",
                  "unexpected answer for token ***", "= 'token ***'"):
        assert shown in output, shown
    artifacts = _artifacts(pytester.path)
    assert {"out/junit.xml", "out/report.md", "out/report.json", "out/run.log"} <= set(artifacts)
    assert "token=***" in artifacts["out/junit.xml"]
    leaks = [name for name, text in {"terminal": output, **artifacts}.items() if TOKEN in text]
    assert leaks == []
    assert github.comments and all(TOKEN not in c["body"] for c in github.comments)
    assert all(TOKEN not in p["body"] + p["title"] for p in github.pulls)


def test_mask_covers_the_shapes_a_token_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", "s3cr3t-value-from-env")
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert mask("x s3cr3t-value-from-env y") == f"x {MASK} y"
    monkeypatch.setenv("GH_TOKEN", " s3cr3t-value-with-blanks\n")
    assert mask("'token s3cr3t-value-with-blanks'") == f"'token {MASK}'"
    assert mask("https://user:pw@example.com/r.git and http://tok@h/x") == f"https://{MASK}@example.com/r.git and http://{MASK}@h/x"
    assert mask("ssh://git:pw@host/r and ssh://git@host/r") == f"ssh://git:{MASK}@host/r and ssh://git@host/r"
    assert mask("authorization: Bearer abc.def") == f"authorization: Bearer {MASK}"
    # a variable's name is not a secret: the command reads as written, quotes and `;` included
    for command in ('echo raw=$GITHUB_TOKEN; echo done', 'curl -H "Authorization: token $GITHUB_TOKEN"; echo x',
                    "curl -H 'Authorization: Bearer ${GH_TOKEN}' https://api.github.com"):
        assert mask(command) == command
    assert mask('curl -H "Authorization: token abc123def"; echo x') == f'curl -H "Authorization: token {MASK}"; echo x'
    for literal, shown in (('Authorization: Bearer "s3cr3tvalue"', f'Authorization: Bearer "{MASK}"'),
                           ("curl -H 'Authorization: token $abc123secretvalue'", f"curl -H 'Authorization: token {MASK}'"),
                           ("Authorization: token ${GH_TOKEN:-s3cr3tfallback}", f"Authorization: token {MASK}"),
                           ("Authorization: token abc;defsecret", f"Authorization: token {MASK}"),
                           ("Authorization: Basic dXNlcjpwYXNzd29yZA==", f"Authorization: Basic {MASK}")):
        assert mask(literal) == shown, literal  # a value that is not only a variable's name stays masked
    assert mask("new ghp_" + "a" * 36 + " and github_pat_" + "B" * 30) == f"new {MASK} and {MASK}"
    assert mask("a short GH_TOKEN such as 'abc' is not masked: abc") == "a short GH_TOKEN such as 'abc' is not masked: abc"
    secret = Secret(TOKEN)
    assert TOKEN not in repr(secret) + str(secret) + repr([secret]) and secret.reveal() == TOKEN


def test_the_token_search_finds_a_planted_token(planted_token: TokenSearch, pytester: pytest.Pytester) -> None:
    """The search that judges every test of the fault suite can fail: a file with the token is found
    (searched without counting: the suite's figures count only the real cases)."""
    leak = pytester.path / "leak.txt"
    leak.write_text(f"oops {PLANTED_TOKEN}\n")
    assert planted_token.found_in() == [str(leak)]
    leak.unlink()
    assert planted_token.found_in() == []
