"""The GitHub forge through real PyGithub over real HTTP against a GitHub-API server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from github_contract import Contract
from github_fake import TOKEN, FakeGitHub
from openapi.extract import OPERATIONS

# Imported before pytester's in-process runs: they restore sys.modules after each run, and a
# re-imported `requests` would no longer recognise the cookie jars of the one PyGithub still holds.
import pytest_waves.engine.forge.github  # noqa: F401
from conftest import GitWorld, edit, issue, plan_text

PR_STEPS = "[push, {pr: {title: 'feat: seven (#7)'}}]"


@pytest.fixture
def github(world: GitWorld, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[FakeGitHub]:
    """The fake, held to GitHub's contract: api.github.com's, answers in default mode unless a test
    asks for another shape (see SHAPES). Whatever broke the contract fails the test."""
    description, mode = getattr(request, "param", ("api.github.com", "default"))
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with FakeGitHub(origin=world.origin_path, contract=Contract(description), mode=mode) as fake:
        yield fake
    assert not fake.violations, "against GitHub's OpenAPI description:\n" + "\n".join(fake.violations)


# The forge's whole flow is run against each shape of answer the contract allows, and GHES's.
SHAPES = pytest.mark.parametrize("github", [("api.github.com", "default"), ("api.github.com", "minimal"),
                                            ("api.github.com", "maximal"), ("ghes-3.19", "default")],
                                 indirect=True, ids=["default", "minimal", "maximal", "ghes-3.19"])


def forge_block(fake: FakeGitHub, **settings: object) -> str:
    """The plan's forge: this server, no write spacing, small bounds so that fault tests stay short."""
    options = {"retries": 2, "timeout": 5, "write_interval": 0, "max_wait": 5, **settings}
    lines = ["  kind: github", f"  repo: {fake.full_name}", f"  api_url: {fake.api}",
             *(f"  {key}: {value}" for key, value in options.items())]
    return "forge:\n" + "\n".join(lines) + "\n"


@pytest.fixture
def run_github(pytester: pytest.Pytester, world: GitWorld, github: FakeGitHub):  # type: ignore[no-untyped-def]
    """Run one issue #7 with these steps against the fake GitHub (its worktree committed once)."""
    world.worktree("wt/issue-7", "feature/issue-7", {"src/seven.py": "SEVEN = 7\n"})

    def run(steps: str = PR_STEPS, *args: str, **settings: object) -> pytest.RunResult:
        text = plan_text(world, issue(steps), extra=forge_block(github, **settings))
        pytester.path.joinpath("plan.yaml").write_text(text)
        return pytester.runpytest("--waves", "plan.yaml", *args)

    return run


@SHAPES
def test_pr_opened_once_and_found_by_owner_and_branch(run_github, github: FakeGitHub, world: GitWorld) -> None:
    first = run_github(PR_STEPS, "-v")
    first.assert_outcomes(passed=2)
    first.stdout.fnmatch_lines([f"*opened PR #1 ({github.base}/acme/luminaguard/pull/1)*", "*#7*2/2*#1 open*✅ passed*"])
    run_github(PR_STEPS, "-v").stdout.fnmatch_lines(["*found PR #1*"])
    assert len(github.pulls) == 1 and github.count("POST", "/pulls$") == 1
    pull = github.pulls[0]
    assert (pull["head"], pull["base"], pull["title"]) == ("feature/issue-7", "main", "feat: seven (#7)")
    assert pull["body"] == "Closes #7"
    assert pull["sha"] == world.repo.git.rev_parse("origin/feature/issue-7")
    lists = [path for method, path in github.requests if method == "GET" and path.startswith("/repos/acme/luminaguard/pulls?")]
    assert lists and all("head=acme%3Afeature%2Fissue-7" in path for path in lists), lists


@SHAPES
def test_a_pr_of_another_branch_is_not_taken_for_ours(run_github, github: FakeGitHub, world: GitWorld) -> None:
    # GitHub ignores `head=branch` without the owner: a forge that forgot it would take PR #1 for ours
    world.push_branch("feature/other", {"other.txt": "x\n"})
    github.open_pull("feature/other", title="someone else's work")
    run_github().assert_outcomes(passed=2)
    assert [(p["number"], p["head"]) for p in github.pulls] == [(1, "feature/other"), (2, "feature/issue-7")]


@SHAPES
def test_changed_title_and_body_update_the_same_pr_and_labels_are_added(run_github, github: FakeGitHub) -> None:
    run_github("[push, {pr: {title: 'a', draft: true, labels: [waves], reviewers: [octocat]}}]").assert_outcomes(passed=2)
    assert github.pulls[0]["draft"] and github.pulls[0]["labels"] == ["waves"]
    assert github.pulls[0]["reviewers"] == ["octocat"]
    result = run_github("[push, {pr: {title: 'b', body: 'Fixes #7', labels: [waves, ready], reviewers: [octocat]}}]", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*updated and labelled ready PR #1*"])
    assert [(p["number"], p["title"], p["body"], p["labels"]) for p in github.pulls] == \
        [(1, "b", "Fixes #7", ["waves", "ready"])]
    assert github.count("POST", "/requested_reviewers$") == 1  # a done review is not re-requested


@SHAPES
@pytest.mark.parametrize(("statuses", "runs", "shown"), [
    (["success"], [("completed", "success")], "#1 open ✅"),
    (["success"], [("completed", "failure")], "#1 open ❌"),
    (["pending"], [("completed", "success")], "#1 open ⏳"),
    ([], [("in_progress", None)], "#1 open ⏳"),
    ([], [], "#1 open"),
])
def test_the_pr_column_shows_the_combined_checks(run_github, github: FakeGitHub, world: GitWorld, pytester: pytest.Pytester,
                                                statuses: list[str], runs: list[tuple[str, str | None]], shown: str) -> None:
    run_github().assert_outcomes(passed=2)
    sha = github.pulls[0]["sha"]
    github.statuses[sha], github.check_runs[sha] = statuses, runs
    result = run_github(PR_STEPS, "--waves-report=r.md", "--waves-json=r.json", "--junitxml=j.xml")
    result.stdout.fnmatch_lines([f"*#7*2/2*{shown}  *✅ passed*"])
    url = f"{github.base}/acme/luminaguard/pull/1"
    assert f"[{shown}]({url})" in (pytester.path / "r.md").read_text()
    row = json.loads((pytester.path / "r.json").read_text())["issues"][0]
    assert (row["pr"], row["pr_url"]) == (shown, url)
    properties = {p.get("name"): p.get("value") for p in ET.parse(pytester.path / "j.xml").iter("property")}
    assert properties["waves.pr_url"] == url


@SHAPES
def test_a_creation_race_answered_422_finds_the_other_pr(run_github, github: FakeGitHub) -> None:
    # between our look and our create another run opens the PR; GitHub answers 422 "already exists"
    github.fail("POST", "/pulls$", before=lambda: github.open_pull("feature/issue-7", title="feat: seven (#7)",
                                                                   body="Closes #7"))
    result = run_github(PR_STEPS, "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*found PR #1*"])
    assert len(github.pulls) == 1 and github.count("POST", "/pulls$") == 1


def test_the_forge_uses_exactly_the_operations_the_contract_extract_holds(run_github, github: FakeGitHub) -> None:
    """A new endpoint the forge starts to use, or one it no longer does, must show in the extract."""
    run_github("[push, {pr: {title: 'a', labels: [waves], reviewers: [octocat]}}]", "--waves-comment=42")
    github.statuses[github.pulls[0]["sha"]] = ["success"]  # the table changes: the comment is edited
    run_github("[push, {pr: {title: 'b', labels: [waves]}}]", "--waves-comment=42").assert_outcomes(passed=2)
    assert github.operations == set(OPERATIONS)


def test_server_errors_are_retried(run_github, github: FakeGitHub) -> None:
    github.fail("GET", "/pulls$", 502, body={"message": "Server Error"}, times=2)
    github.fail("POST", "/pulls$", 500, body={"message": "Server Error"})
    run_github().assert_outcomes(passed=2)
    # 2 retried reads, and one more look after the failed create before it is sent again
    assert github.count("GET", "/pulls$") == 4 and github.count("POST", "/pulls$") == 2
    assert len(github.pulls) == 1


def test_retries_are_said_in_the_step(run_github, github: FakeGitHub, pytester: pytest.Pytester) -> None:
    github.fail("GET", "/repos/acme/luminaguard$", 502, body={"message": "Server Error"})  # before any step
    github.fail("GET", "/pulls$", 502, body={"message": "Server Error"}, times=2)
    result = run_github(PR_STEPS, "-v", "--waves-json=r.json")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*opened PR #1 (*); GitHub answered 502; retried 2 times over * s"])
    row = json.loads((pytester.path / "r.json").read_text())["issues"][0]
    assert row["steps"][1]["reason"].endswith("; GitHub answered 502; retried 2 times over " +
                                               row["steps"][1]["reason"].rsplit("over ", 1)[1])
    assert "retried" not in row["steps"][0]["reason"]  # the access check's retry is no step's business


def test_server_errors_that_persist_fail_the_step_after_the_retries(run_github, github: FakeGitHub) -> None:
    github.fail("GET", "/pulls$", 503, body={"message": "Service Unavailable"}, times=99)
    result = run_github(PR_STEPS, retries=2)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*looking for the pull request feature/issue-7 → main: "
                                 "GitHub kept failing after 2 retries (too many 503 error responses)*"])
    assert github.count("GET", "/pulls$") == 3


def test_a_primary_rate_limit_is_waited_out_until_its_reset(run_github, github: FakeGitHub) -> None:
    # no Retry-After: GithubRetry reads the message and waits for x-ratelimit-reset
    reset = int(time.time()) + 1
    github.fail("GET", "/pulls$", 403, body={"message": "API rate limit exceeded for user ID 1."},
                headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
    run_github().assert_outcomes(passed=2)
    assert github.count("GET", "/pulls$") == 2
    second_get = [n for n, (m, p) in enumerate(github.requests) if m == "GET" and "/pulls?" in p][1]
    assert github.times[second_get] >= reset


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_rate_limit_waits_for_retry_after(run_github, github: FakeGitHub, status: int) -> None:
    github.fail("GET", "/pulls$", status, headers={"Retry-After": "1"},
                body={"message": "You have exceeded a secondary rate limit. Please wait a few minutes."})
    github.fail("POST", "/pulls$", status, headers={"Retry-After": "1"},
                body={"message": "You have exceeded a secondary rate limit. Please wait a few minutes."})
    run_github().assert_outcomes(passed=2)
    assert github.count("GET", "/pulls$") >= 2 and github.count("POST", "/pulls$") == 2 and len(github.pulls) == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_retry_after_longer_than_max_wait_fails_at_once(run_github, github: FakeGitHub, method: str) -> None:
    github.fail(method, "/pulls$", 403, headers={"Retry-After": "3600"},
                body={"message": "You have exceeded a secondary rate limit."}, times=9)
    result = run_github(PR_STEPS, max_wait=5)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*GitHub's rate limit resets in 3600 s, longer than the forge's max_wait of 5 s*"])
    assert github.count(method, "/pulls$") == 1


def test_a_rate_limit_longer_than_max_wait_fails_at_once(run_github, github: FakeGitHub) -> None:
    reset = int(time.time()) + 3600
    github.fail("GET", "/pulls$", 403, body={"message": "API rate limit exceeded for user ID 1."},
                headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}, times=9)
    result = run_github(PR_STEPS, max_wait=5)
    finished = time.time()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*GitHub's rate limit resets in * s, longer than the forge's max_wait of 5 s*"])
    assert github.count("GET", "/pulls$") == 1
    # The wait is the served reset + 1 s (when in that second it resets is unknown) minus the moment the forge
    # read the answer: after the GET arrived, before the run ended; printed to the second. Load moves only that.
    asked = next(t for (m, p), t in zip(github.requests, github.times)
                 if m == "GET" and p.split("?")[0].endswith("/pulls"))
    said = re.search(r"GitHub's rate limit resets in (\d+) s", result.stdout.str())
    assert said is not None
    window = (reset + 1 - finished - 0.5, reset + 1 - asked + 0.5)
    assert window[0] <= int(said[1]) <= window[1], (said[1], window)


@pytest.mark.parametrize(("status", "body", "expected"), [
    (403, {"message": "Resource not accessible by integration",
           "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"},
     ["*opening the pull request feature/issue-7 → main: GitHub answered 403: Resource not accessible by integration*",
      "*see https://docs.github.com/rest/pulls/pulls#create-a-pull-request*"]),
    (422, {"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom",
                                                       "message": "No commits between main and feature/issue-7"}]},
     ["*GitHub answered 422: Validation Failed*", "*No commits between main and feature/issue-7*"]),
    (401, {"message": "Bad credentials"}, ["*GitHub answered 401: Bad credentials*"]),
])
def test_refusals_fail_the_step_with_githubs_message_and_are_not_retried(
        run_github, github: FakeGitHub, status: int, body: dict[str, object], expected: list[str]) -> None:
    github.fail("POST", "/pulls$", status, body=body)
    result = run_github()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(expected)
    assert github.count("POST", "/pulls$") == 1 and not github.pulls


def test_a_403_on_a_read_is_not_retried(run_github, github: FakeGitHub) -> None:
    github.fail("GET", "/pulls$", 403, body={"message": "Must have admin rights to Repository."})
    result = run_github()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*looking for the pull request*GitHub answered 403: Must have admin rights to Repository.*"])
    assert github.count("GET", "/pulls$") == 1


def test_actions_not_allowed_to_open_prs_names_the_setting(run_github, github: FakeGitHub) -> None:
    github.fail("POST", "/pulls$", 403, body={
        "message": "GitHub Actions is not permitted to create or approve pull requests.",
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"})
    result = run_github()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*GitHub answered 403: GitHub Actions is not permitted to create or approve pull "
                                 "requests.*",
                                 "*Settings → Actions → General → Workflow permissions → Allow GitHub Actions to "
                                 "create and approve pull requests*"])
    assert github.pulls == []


def test_an_edit_is_retried_after_a_server_error(run_github, github: FakeGitHub) -> None:
    run_github().assert_outcomes(passed=2)
    github.fail("PATCH", "/pulls/1$", 502, body={"message": "Server Error"})
    run_github("[push, {pr: {title: changed}}]").assert_outcomes(passed=2)
    assert github.count("PATCH", "/pulls/1$") == 2 and github.pulls[0]["title"] == "changed"


@pytest.mark.parametrize("lost", ["timeout", "502 after the write"])
def test_a_create_whose_answer_is_lost_is_not_sent_twice(run_github, github: FakeGitHub, lost: str) -> None:
    if lost == "timeout":  # GitHub makes the PR, but answers after the client gave up
        github.fail("POST", "/pulls$", late=2.5)
        result = run_github(PR_STEPS, "-v", timeout=1)
    else:
        github.fail("POST", "/pulls$", 502, body={"message": "Server Error"},
                    before=lambda: github.open_pull("feature/issue-7", title="feat: seven (#7)", body="Closes #7"))
        result = run_github(PR_STEPS, "-v")
    result.assert_outcomes(passed=2)
    assert len(github.pulls) == 1 and github.count("POST", "/pulls$") == 1


def test_a_comment_whose_answer_is_lost_is_not_posted_twice(run_github, github: FakeGitHub) -> None:
    github.fail("POST", "/issues/42/comments$", late=2.5)
    run_github(PR_STEPS, "--waves-comment", "42", timeout=1).assert_outcomes(passed=2)
    assert len(github.comments) == 1 and github.count("POST", "/comments$") == 1


@SHAPES
def test_a_merged_pr_is_not_opened_again(run_github, github: FakeGitHub) -> None:
    run_github().assert_outcomes(passed=2)
    github.pulls[0].update(state="closed", merged_at="2026-11-27T12:00:00Z")  # squash-merged: branch left behind
    result = run_github(PR_STEPS, "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*✅ pr (pr) — already merged PR #1*", "*#7*2/2*#1 merged*"])
    assert len(github.pulls) == 1


@SHAPES
def test_a_pr_closed_without_merging_is_not_opened_again(run_github, github: FakeGitHub) -> None:
    run_github().assert_outcomes(passed=2)
    github.pulls[0].update(state="closed")  # closed by a reviewer, not merged
    result = run_github(PR_STEPS)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*PR #1 from feature/issue-7 was closed without merging (*); no other is opened"])
    assert len(github.pulls) == 1


def test_an_answer_pygithub_cannot_follow_is_a_clear_failure(run_github, github: FakeGitHub) -> None:
    github.fail("GET", "/pulls$", 301, headers={"Location": "https://elsewhere.example/api/v3/x"}, times=9)
    result = run_github()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*looking for the pull request*unexpected answer from GitHub (RuntimeError: *"])
    assert "Traceback" not in result.stdout.str() and "github/Requester.py" not in result.stdout.str()


def test_a_slow_answer_past_the_timeout_fails_the_step(run_github, github: FakeGitHub) -> None:
    github.fail("GET", "/pulls$", delay=2.5, times=9)
    result = run_github(PR_STEPS, timeout=1, retries=1)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*looking for the pull request feature/issue-7 → main: "
                                 "GitHub did not answer within 1 s*"])
    assert github.count("GET", "/pulls$") == 2


def test_a_refused_connection_says_so(run_github, github: FakeGitHub) -> None:
    """Not "did not answer within 5 s": urllib3's NewConnectionError is also a ConnectTimeoutError."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens there once the socket is closed
    github.api = f"http://127.0.0.1:{port}/api/v3"
    result = run_github(PR_STEPS, retries=1)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: */plan.yaml: reading acme/luminaguard: cannot reach "
                                 f"http://127.0.0.1:{port}/api/v3: connection refused (tried 2 times)"])
    assert "did not answer" not in result.stderr.str()


def test_a_rejected_token_is_one_usage_error_before_any_step(run_github, github: FakeGitHub, world: GitWorld) -> None:
    github.tokens = {"another-token"}
    result = run_github()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: */plan.yaml: reading acme/luminaguard: GitHub answered 401: Bad credentials*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert world.repo.git.ls_remote("origin", "feature/issue-7") == ""  # the push step never ran
    assert github.requests == [("GET", "/repos/acme/luminaguard")]


def test_an_unknown_repository_is_a_usage_error(pytester: pytest.Pytester, world: GitWorld, github: FakeGitHub) -> None:
    text = plan_text(world, issue(PR_STEPS), extra=edit(forge_block(github), "acme/luminaguard", "acme/nothing"))
    pytester.path.joinpath("plan.yaml").write_text(text)
    result = pytester.runpytest("--waves", "plan.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *: reading acme/nothing: GitHub answered 404: Not Found*"])


def test_a_missing_token_names_both_variables_and_gh_token_is_used(run_github, monkeypatch: pytest.MonkeyPatch,
                                                                   github: FakeGitHub) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    result = run_github()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*the plan's forge is GitHub (acme/luminaguard) but neither GITHUB_TOKEN nor GH_TOKEN is set*"])
    assert github.requests == []
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    run_github().assert_outcomes(passed=2)


def test_no_token_is_needed_without_pr_steps_or_in_a_dry_run(run_github, monkeypatch: pytest.MonkeyPatch,
                                                             github: FakeGitHub) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    run_github("[push]").assert_outcomes(passed=1)
    run_github(PR_STEPS, "--waves-dry-run").assert_outcomes(skipped=2)
    assert github.requests == []


def test_the_same_plan_runs_on_the_local_forge_and_on_github(pytester: pytest.Pytester, world: GitWorld,
                                                             github: FakeGitHub) -> None:
    world.worktree("wt/issue-7", "feature/issue-7", {"src/seven.py": "SEVEN = 7\n"})
    steps = "[push, {pr: {title: 'feat: seven (#7)', draft: true, labels: [waves], reviewers: [octocat]}}]"
    for extra in ("forge: local\n", forge_block(github)):
        pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(steps), extra=extra))
        pytester.runpytest("--waves", "plan.yaml").assert_outcomes(passed=2)
    local = json.loads((pytester.path / ".waves/forge/plan.json").read_text())["pulls"]
    assert [(p["title"], p["draft"], p["labels"], p["reviewers"]) for p in local] == \
        [("feat: seven (#7)", True, ["waves"], ["octocat"])]
    assert [(p["title"], p["draft"], p["labels"], p["reviewers"]) for p in github.pulls] == \
        [("feat: seven (#7)", True, ["waves"], ["octocat"])]


def test_issues_open_their_prs_at_once_under_xdist(pytester: pytest.Pytester, world: GitWorld,
                                                  github: FakeGitHub) -> None:
    for n in (7, 8, 9):
        world.worktree(f"wt/issue-{n}", f"feature/issue-{n}", {f"src/{n}.py": f"N = {n}\n"})
    issues = "".join(issue(edit(PR_STEPS, "seven (#7)", f"work (#{n})"), number=n) for n in (7, 8, 9))
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issues, extra=forge_block(github)))
    for _ in range(2):  # the rerun finds all three
        result = pytester.runpytest("--waves", "plan.yaml", "-n", "3", "--waves-comment", "42")
        result.assert_outcomes(passed=6)
    assert sorted((p["head"], p["title"]) for p in github.pulls) == [
        ("feature/issue-7", "feat: work (#7)"), ("feature/issue-8", "feat: work (#8)"), ("feature/issue-9", "feat: work (#9)")]
    assert len(github.comments) == 1


@pytest.mark.parametrize("extra, field", [
    ("forge: {kind: github}\n", "a github forge needs `repo: owner/name`"),
    ("forge: {kind: github, repo: acme/x, api_url: 'https://me:secret@ghe.example.com/api/v3'}\n", "api_url"),
    ("forge: {kind: gitlab}\n", "forge.kind"),
])
def test_forge_settings_are_checked_when_the_plan_loads(pytester: pytest.Pytester, world: GitWorld,
                                                        extra: str, field: str) -> None:
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue("[push]"), extra=extra))
    result = pytester.runpytest("--waves", "plan.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*plan.yaml:4*{field}*"])
    assert "secret" not in result.stderr.str()


@SHAPES
def test_the_table_is_one_comment_on_the_tracking_issue_edited_on_later_runs(run_github, github: FakeGitHub) -> None:
    for n in range(35):  # other people's comments fill the first page: ours must be found on the second
        github.comments.append({"id": 100 + n, "issue": 42, "body": f"comment {n}"})
    first = run_github(PR_STEPS, "--waves-comment", "42")
    first.assert_outcomes(passed=2)
    first.stdout.fnmatch_lines([f"success metrics posted on #42: {github.base}/acme/luminaguard/issues/42#issuecomment-*"])
    ours = [c for c in github.comments if c["issue"] == 42 and "pytest-waves" in c["body"]]
    assert len(ours) == 1
    assert ours[0]["body"].startswith("<!-- pytest-waves plan=plan project=demo -->\n## Success metrics — demo")
    assert "| 1 | #7 | Seven | 2/2 | [#1 open](" in ours[0]["body"]

    run_github(PR_STEPS, "--waves-comment", "42").stdout.fnmatch_lines(["success metrics unchanged on #42: *"])
    github.check_runs[github.pulls[0]["sha"]] = [("completed", "failure")]
    run_github(PR_STEPS, "--waves-comment", "42").stdout.fnmatch_lines(["success metrics updated on #42: *"])
    assert [c["body"].count("#1 open ❌") for c in github.comments if "pytest-waves" in c["body"]] == [1]
    assert github.count("POST", "/issues/42/comments$") == 1 and github.count("PATCH", "/issues/comments/") == 1
    assert len(github.comments) == 36


def test_a_refused_comment_fails_the_run_with_githubs_message(run_github, github: FakeGitHub,
                                                              pytester: pytest.Pytester) -> None:
    github.fail("POST", "/issues/42/comments$", 403, body={"message": "Resource not accessible by integration"})
    pytester.makeini("[pytest]\nwaves_comment = 42\n")
    result = run_github()
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["could not comment on #42: commenting on issue #42: GitHub answered 403: "
                                 "Resource not accessible by integration"])


def test_the_local_forge_keeps_the_comment_too(pytester: pytest.Pytester, world: GitWorld) -> None:
    world.worktree("wt/issue-7", "feature/issue-7", {"src/seven.py": "SEVEN = 7\n"})
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(PR_STEPS)))
    for expected in ("posted", "unchanged"):
        result = pytester.runpytest("--waves", "plan.yaml", "--waves-comment", "3")
        result.stdout.fnmatch_lines([f"success metrics {expected} on #3: local://demo/issues/3#comment-1"])
    comments = json.loads((pytester.path / ".waves/forge/plan.json").read_text())["comments"]
    assert [(c["issue"], c["body"].splitlines()[0]) for c in comments] == [(3, "<!-- pytest-waves plan=plan project=demo -->")]


def test_no_comment_in_a_dry_run(run_github, github: FakeGitHub) -> None:
    run_github(PR_STEPS, "--waves-dry-run", "--waves-comment", "42").assert_outcomes(skipped=2)
    assert github.comments == []


def test_a_partial_run_does_not_replace_the_comment(run_github, github: FakeGitHub) -> None:
    result = run_github(PR_STEPS, "--waves-comment", "42", "-k", "push")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["success metrics not posted: part of the plan did not run (-k, -m, --lf, --deselect, -x or Ctrl-C)"])
    assert github.comments == []
