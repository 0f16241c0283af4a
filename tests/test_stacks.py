"""Stacked issues: a dependent branch is restacked onto its rebased dependency — each commit once,
the same history however the rebases fall in time, conflicts aborted with nothing changed, and the
rewrite pushed only through the protected push."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import git
import pytest

from conftest import GitWorld, plan_text
from github_fake import TOKEN, FakeGitHub

# #152 → #154 → #155, as the LuminaGuard branches were cut: each from the one before.
STACK = """
waves:
  - id: 1
    name: Research
    issues:
      - number: 152
        title: Research
        branch: feature/issue-152
        worktree: wt/152
        steps: [rebase, push]
  - id: 2
    name: Trait
    issues:
      - number: 154
        title: Trait
        branch: feature/issue-154
        worktree: wt/154
        depends_on: [152]
        steps: [rebase, {integrate: {issue: 152}}, push]
  - id: 3
    name: Backend
    issues:
      - number: 155
        title: Backend
        branch: feature/issue-155
        worktree: wt/155
        depends_on: [154]
        steps: [{SLEEP}rebase, {integrate: {issue: 154}}, push]
"""
OWN = {152: "docs: research (#152)", 154: "feat: trait (#154)", 155: "feat: backend (#155)"}


def _stack(world: GitWorld) -> dict[int, git.Repo]:
    """Three pushed branches, each cut from the one before, then main moves on."""
    trees: dict[int, git.Repo] = {}
    start = "origin/main"
    for number, subject in OWN.items():
        path = world.path / f"wt/{number}"
        world.repo.git.worktree("add", "-q", "--no-track", "-b", f"feature/issue-{number}", str(path), start)
        trees[number] = git.Repo(path)
        world.commit(trees[number], {f"issue{number}.txt": f"{number}\n"}, subject)
        trees[number].git.push("-q", "origin", f"feature/issue-{number}")
        start = f"feature/issue-{number}"
    world.advance_main({"main.txt": "moved\n"})
    return trees


def _log(world: GitWorld, branch: str) -> list[tuple[str, str]]:
    """(subject, patch id) of each commit on origin/<branch> that origin/main lacks, newest first."""
    shas = world.repo.git.rev_list("origin/main..origin/" + branch).split()
    out = []
    for sha in shas:
        patch = subprocess.run(["git", "show", sha], cwd=world.path, capture_output=True, check=True).stdout
        patch_id = subprocess.run(["git", "patch-id", "--stable"], cwd=world.path, input=patch, capture_output=True,
                                  check=True).stdout.split()[0].decode()
        out.append((world.repo.git.log("-1", "--format=%s", sha), patch_id))
    return out


def _run(pytester: pytest.Pytester, world: GitWorld, *args: str, sleep: bool = False) -> pytest.RunResult:
    steps = STACK.replace("{SLEEP}", "{run: {cmd: 'sleep 1.1', allow_empty: true}}, " if sleep else "")
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, steps))
    return pytester.runpytest("--waves", "plan.yaml", "-v", *args)


def test_a_three_branch_stack_after_main_moves_has_each_commit_once(pytester: pytest.Pytester, world: GitWorld) -> None:
    _stack(world)
    result = _run(pytester, world)
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["*rebase (rebase) — rebased onto origin/main*",
                                 "*rebase (rebase) — restacked onto feature/issue-152 (1 own commit), which contains origin/main*",
                                 "*integrate (integrate) — already stacked on feature/issue-152*",
                                 "*restacked onto feature/issue-154 (1 own commit)*"])
    assert [subject for subject, _ in _log(world, "feature/issue-155")] == [OWN[155], OWN[154], OWN[152]]
    assert [subject for subject, _ in _log(world, "feature/issue-154")] == [OWN[154], OWN[152]]
    repo = world.repo
    assert repo.is_ancestor("origin/feature/issue-154", "origin/feature/issue-155")
    assert repo.is_ancestor("origin/main", "origin/feature/issue-152")
    again = _run(pytester, world)  # a second run changes nothing
    again.stdout.fnmatch_lines(["*already stacked on feature/issue-154*"])
    assert [subject for subject, _ in _log(world, "feature/issue-155")] == [OWN[155], OWN[154], OWN[152]]


def test_the_same_plan_gives_the_same_history_whatever_the_timing(pytester: pytest.Pytester, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    histories = []
    for n, (same_second, sleep) in enumerate(((True, False), (False, True))):
        if same_second:  # every commit and rebase in one second, by one identity: copies would share hashes
            monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-01T12:00:00+0000")
        else:
            monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
        world = GitWorld(tmp_path / f"world{n}")
        _stack(world)
        _run(pytester, world, sleep=sleep).assert_outcomes(passed=8 + sleep)
        histories.append(_log(world, "feature/issue-155"))
    assert histories[0] == histories[1]
    assert [subject for subject, _ in histories[0]] == [OWN[155], OWN[154], OWN[152]]


def test_a_commit_the_dependency_gained_comes_in_once(pytester: pytest.Pytester, world: GitWorld) -> None:
    trees = _stack(world)
    world.commit(trees[154], {"more154.txt": "more\n"}, "feat: trait, part 2 (#154)")  # after #155 was cut
    _run(pytester, world).assert_outcomes(passed=8)
    assert [subject for subject, _ in _log(world, "feature/issue-155")] == [
        OWN[155], "feat: trait, part 2 (#154)", OWN[154], OWN[152]]


def test_a_restack_conflict_is_aborted_with_nothing_changed(pytester: pytest.Pytester, world: GitWorld, fault) -> None:
    trees = _stack(world)
    world.commit(trees[154], {"issue155.txt": "theirs\n"}, "feat: #154 touches #155's file")
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, STACK.replace("{SLEEP}", "")))
    pytester.runpytest("--waves", "plan.yaml", "-k", "issue152 or issue154").assert_outcomes(passed=5)
    before = world.snapshot(trees[155])
    result = pytester.runpytest("--waves", "plan.yaml", "-v", "-k", "issue155")
    result.assert_outcomes(failed=1, skipped=2)
    result.stdout.fnmatch_lines(["*rebase onto feature/issue-154 stopped on conflicts; rebase aborted, branch, index "
                                 "and files unchanged*", "*conflict: issue155.txt*"])
    fault.unchanged(world, trees[155], before)


def test_merging_stays_available(pytester: pytest.Pytester, world: GitWorld) -> None:
    _stack(world)
    steps = STACK.replace("{SLEEP}", "").replace("{integrate: {issue: 154}}", "{integrate: {issue: 154, how: merge}}")
    steps = steps.replace("steps: [rebase, {integrate: {issue: 154, how: merge}}, push]",
                          "steps: [{integrate: {issue: 154, how: merge}}, push]")
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, steps))
    result = pytester.runpytest("--waves", "plan.yaml", "-v")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["*integrate (integrate) — merged feature/issue-154*"])
    assert world.repo.git.log("-1", "--format=%s", "origin/feature/issue-155").startswith("Merge branch")


def test_a_teammates_commit_on_the_dependent_branch_survives_the_restack(pytester: pytest.Pytester,
                                                                           world: GitWorld) -> None:
    _stack(world)
    other = world.root / "teammate"
    clone = git.Repo.clone_from(str(world.origin_path), other)
    clone.git.checkout("-q", "feature/issue-155")
    world.commit(clone, {"theirs155.txt": "theirs\n"}, "fix: a teammate's commit on #155")
    clone.git.push("-q", "origin", "feature/issue-155")
    result = _run(pytester, world)
    result.assert_outcomes(passed=8)
    assert [subject for subject, _ in _log(world, "feature/issue-155")] == [
        "fix: a teammate's commit on #155", OWN[155], OWN[154], OWN[152]]


def _waves(pytester: pytest.Pytester, world: GitWorld, steps: str) -> subprocess.CompletedProcess[str]:
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, steps))
    return subprocess.run([sys.executable, "-m", "pytest_waves", "waves", "plan.yaml"], cwd=pytester.path,
                          capture_output=True, text=True)


def test_the_waves_command_shows_stacks_and_warns_of_one_the_plan_does_not_know(pytester: pytest.Pytester,
                                                                               world: GitWorld) -> None:
    _stack(world)
    said = _waves(pytester, world, STACK.replace("{SLEEP}", ""))
    assert said.returncode == 0, said.stderr
    assert "stack: #152 ⟶ #154 ⟶ #155" in said.stdout.splitlines()
    assert "warning" not in said.stdout
    # #155 was cut from #154's branch, but this plan says nothing of it
    unsaid = STACK.replace("{SLEEP}", "").replace("        depends_on: [154]\n", "").replace(
        "[rebase, {integrate: {issue: 154}}, push]", "[rebase, push]")
    warned = _waves(pytester, world, unsaid)
    assert warned.returncode == 0, warned.stderr
    assert ("warning: #154's feature/issue-154 and #155's feature/issue-155 share commits main does not have "
            "(one was cut from the other), but the plan says neither depends on the other") in warned.stdout
    assert "warning: #152's feature/issue-152 and #155's feature/issue-155 share commits" in warned.stdout


STACKED_PRS = STACK.replace("{SLEEP}", "").replace(
    "steps: [rebase, push]", "steps: [rebase, push, pr]").replace(
    "steps: [rebase, {integrate: {issue: 152}}, push]", "steps: [rebase, {integrate: {issue: 152}}, push, {pr: {stacked: true}}]").replace(
    "steps: [rebase, {integrate: {issue: 154}}, push]", "steps: [rebase, {integrate: {issue: 154}}, push, {pr: {stacked: true}}]")


def _github_plan(pytester: pytest.Pytester, world: GitWorld, github: FakeGitHub, steps: str) -> None:
    forge = (f"forge:\n  kind: github\n  repo: {github.full_name}\n  api_url: {github.api}\n"
             "  retries: 1\n  timeout: 5\n  write_interval: 0\n")
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, steps, extra=forge))


def _squash_merge(world: GitWorld, tmp_path: Path, branch: str, subject: str) -> None:
    """GitHub's squash merge: one commit on main with the branch's change, and the branch deleted."""
    other = git.Repo.clone_from(str(world.origin_path), tmp_path / "maintainer")
    other.git.merge("-q", "--squash", f"origin/{branch}")
    other.git.commit("-q", "-m", subject)
    other.git.push("-q", "origin", "main", f":{branch}")


def test_stacked_prs_show_only_their_own_work_and_are_retargeted_once_the_one_below_merged(
        pytester: pytest.Pytester, world: GitWorld) -> None:
    _stack(world)
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, STACKED_PRS))
    result = pytester.runpytest("--waves", "plan.yaml", "-v")
    result.assert_outcomes(passed=11)
    result.stdout.fnmatch_lines(["*#154*#2 open ⟶ #152*", "*#155*#3 open ⟶ #154*"])
    store = pytester.path / ".waves/forge/plan.json"
    assert [subject for subject, _ in _log(world, "feature/issue-155")] == [OWN[155], OWN[154], OWN[152]]
    pulls = json.loads(store.read_text())["pulls"]
    assert [(p["head"], p["base"]) for p in pulls] == [
        ("feature/issue-152", "main"), ("feature/issue-154", "feature/issue-152"), ("feature/issue-155", "feature/issue-154")]
    data = json.loads(store.read_text())
    data["pulls"][0]["state"] = "merged"  # #152's PR merged
    store.write_text(json.dumps(data))
    again = pytester.runpytest("--waves", "plan.yaml", "-v")
    again.stdout.fnmatch_lines(["*retargeted onto main PR #2*"])
    pulls = json.loads(store.read_text())["pulls"]
    assert [(p["number"], p["base"]) for p in pulls] == [(1, "main"), (2, "main"), (3, "feature/issue-154")]
    assert len(pulls) == 3  # retargeted, never a second PR


def test_stacked_prs_on_the_github_fake(pytester: pytest.Pytester, world: GitWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    _stack(world)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with FakeGitHub(origin=world.origin_path) as github:
        _github_plan(pytester, world, github, STACKED_PRS)
        pytester.runpytest("--waves", "plan.yaml").assert_outcomes(passed=11)
        assert [(p["head"], p["base"]) for p in github.pulls] == [
            ("feature/issue-152", "main"), ("feature/issue-154", "feature/issue-152"),
            ("feature/issue-155", "feature/issue-154")]
        github.pulls[0].update(state="closed", merged_at="2026-12-01T12:00:00Z")
        pytester.runpytest("--waves", "plan.yaml").assert_outcomes(passed=11)
        assert [(p["number"], p["base"]) for p in github.pulls] == [(1, "main"), (2, "main"), (3, "feature/issue-154")]
        assert not github.violations, github.violations


def _plan_run(pytester: pytest.Pytester, world: GitWorld, *args: str) -> pytest.RunResult:
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, STACK.replace("{SLEEP}", "")))
    return pytester.runpytest("--waves", "plan.yaml", "-v", *args)


def test_a_commit_the_dependent_took_from_its_parents_reflog_is_not_dropped(pytester: pytest.Pytester,
                                                                              world: GitWorld, fault) -> None:
    """Committed on the wrong branch, then moved: `git branch 155` at E, `reset --hard HEAD~1` on 154.
    E is in 154's reflog, so git's fork point is E itself; restacking from there would drop it."""
    trees = _stack(world)
    world.commit(trees[154], {"e.txt": "e\n"}, "feat: E, meant for #155")
    trees[155].git.reset("-q", "--hard", "feature/issue-154")  # 155 now holds E (and nothing of its own yet)
    trees[155].git.push("-q", "--force", "origin", "feature/issue-155")
    trees[154].git.reset("-q", "--hard", "HEAD~1")
    _plan_run(pytester, world, "-k", "issue152 or issue154").assert_outcomes(passed=5)
    before = world.snapshot(trees[155])
    result = _plan_run(pytester, world, "-k", "issue155")
    result.assert_outcomes(failed=1, skipped=2)
    result.stdout.fnmatch_lines(["*not restacked onto feature/issue-154: 1 commit that feature/issue-154 does not "
                                 "have would leave it; nothing was changed*", "*feat: E, meant for #155*"])
    fault.unchanged(world, trees[155], before)
    assert "feat: E, meant for #155" in world.repo.git.log("--format=%s", "origin/feature/issue-155")


def test_a_merge_of_its_own_is_never_flattened(pytester: pytest.Pytester, world: GitWorld, fault) -> None:
    trees = _stack(world)
    world.commit(trees[154], {"more154.txt": "more\n"}, "feat: trait, part 2 (#154)")
    trees[155].git.merge("-q", "--no-ff", "--no-commit", "feature/issue-154")
    (world.path / "wt/155/fix.txt").write_text("made in the merge\n")
    trees[155].git.add("fix.txt")
    trees[155].git.commit("-q", "-m", "Merge branch 'feature/issue-154' into feature/issue-155")
    _plan_run(pytester, world, "-k", "issue152 or issue154").assert_outcomes(passed=5)
    before = world.snapshot(trees[155])
    result = _plan_run(pytester, world, "-k", "issue155")
    result.assert_outcomes(failed=1, skipped=2)
    result.stdout.fnmatch_lines(["*it has 1 merge commit of its own (a restack flattens them*"])
    fault.unchanged(world, trees[155], before)


def test_an_older_version_of_the_parents_commit_is_not_brought_back(pytester: pytest.Pytester, world: GitWorld,
                                                                     tmp_path: Path) -> None:
    """No reflog knows #154's old tip (a fresh clone; #154 amended elsewhere: a debug file removed)."""
    trees = _stack(world)
    world.repo.git.fetch("-q", "origin")
    trees[152].git.rebase("-q", "origin/main")
    trees[152].git.push("-q", "--force", "origin", "feature/issue-152")
    trees[154].git.rebase("-q", "--onto", "feature/issue-152", "HEAD~1")
    (world.path / "wt/154/issue154.txt").write_text("154, reviewed\n")  # review changed it: amended
    trees[154].git.commit("-q", "-a", "--amend", "--no-edit")
    trees[154].git.push("-q", "--force", "origin", "feature/issue-154")
    clone_path = tmp_path / "fresh"
    clone = git.Repo.clone_from(str(world.origin_path), clone_path)
    clone.git.checkout("-q", "feature/issue-155")
    text = plan_text(world, STACK.replace("{SLEEP}", "").replace("        worktree: wt/155\n", "")).replace(
        str(world.path), str(clone_path))
    pytester.path.joinpath("plan.yaml").write_text(text)
    result = pytester.runpytest("--waves", "plan.yaml", "-v", "-k", "issue155", "--ignore-unknown-dependency")
    result.stdout.fnmatch_lines(["*not restacked onto feature/issue-154: it holds * that feature/issue-154 "
                                 "has in another form*", "*feat: trait (#154)*"])
    assert "issue154.txt" in clone.git.ls_files()  # nothing changed


def test_already_holding_the_parent_but_with_copies_and_a_merge_is_said(pytester: pytest.Pytester,
                                                                       world: GitWorld) -> None:
    """The history issue 19 found: #155 with copies of #154's commits and a merge of #154."""
    trees = _stack(world)
    _plan_run(pytester, world, "-k", "issue152 or issue154").assert_outcomes(passed=5)
    with trees[155].git.custom_environment(GIT_COMMITTER_DATE="2026-01-02T00:00:00+0000"):  # another second
        trees[155].git.rebase("-q", "origin/main")  # copies of #152 and #154, rebased on their own
        trees[155].git.merge("-q", "--no-edit", "feature/issue-154")
    assert trees[155].git.rev_list("--merges", "feature/issue-154..HEAD")  # the bad history is there
    result = _plan_run(pytester, world, "-k", "issue155")
    result.assert_outcomes(failed=1, skipped=2)
    result.stdout.fnmatch_lines(["*not restacked onto feature/issue-154: it holds 2 commits of feature/issue-154's "
                                 "a second time (copies made by an earlier rebase of its own)*"])


def test_a_rewritten_branch_pushes_from_a_fresh_clone(pytester: pytest.Pytester, world: GitWorld,
                                                      tmp_path: Path) -> None:
    """A `git clone` writes no reflog for its remote-tracking refs, and --force-if-includes then refuses
    every forced push: the lease on the commit just checked stands alone there."""
    world.push_branch("feature/issue-7", {"seven.txt": "7\n"})
    world.advance_main({"main.txt": "moved\n"})
    clone_path = tmp_path / "fresh"
    clone = git.Repo.clone_from(str(world.origin_path), clone_path)
    clone.git.checkout("-q", "feature/issue-7")
    text = plan_text(world, "- {number: 7, title: Seven, branch: feature/issue-7, steps: [rebase, push]}").replace(
        str(world.path), str(clone_path))
    pytester.path.joinpath("plan.yaml").write_text(text)
    result = pytester.runpytest("--waves", "plan.yaml", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*pushed * (with lease after rewrite)*"])


def test_a_dry_run_says_where_a_stacked_pr_goes(pytester: pytest.Pytester, world: GitWorld) -> None:
    _stack(world)
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, STACKED_PRS))
    result = pytester.runpytest("--waves", "plan.yaml", "--waves-dry-run", "-rs")
    result.stdout.fnmatch_lines(["*would open or update the PR feature/issue-155 → feature/issue-154 (stacked on #154; "
                                 "main once its PR has merged)*"])


def test_ordinary_flows_are_not_refused(pytester: pytest.Pytester, world: GitWorld) -> None:
    """A subject both branches use, and a merge of another branch (how: merge), are the branch's own business."""
    trees = _stack(world)
    world.commit(trees[154], {"r154.txt": "review\n"}, "Address review comments")
    world.commit(trees[155], {"r155.txt": "review\n"}, "Address review comments")
    world.push_branch("feature/other", {"other.txt": "other\n"})
    trees[155].git.fetch("-q", "origin")
    trees[155].git.merge("-q", "--no-edit", "origin/feature/other")
    first = _plan_run(pytester, world, "-k", "issue152 or issue154")
    first.assert_outcomes(passed=5)
    result = _plan_run(pytester, world, "-k", "issue155")
    result.assert_outcomes(failed=1, skipped=2)  # not yet stacked, with a merge of its own: refused, unchanged
    result.stdout.fnmatch_lines(["*it has 1 merge commit of its own*"])
    trees[155].git.reset("-q", "--hard", "HEAD~1")  # without the merge: restacked, the shared subject is no obstacle
    _plan_run(pytester, world, "-k", "issue155").assert_outcomes(passed=3)
    trees[155].git.merge("-q", "--no-edit", "origin/feature/other")  # merged once stacked: fine
    _plan_run(pytester, world, "-k", "issue155").assert_outcomes(passed=3)
    world.repo.git.fetch("-q", "origin")
    assert world.repo.is_ancestor("origin/feature/issue-154", "origin/feature/issue-155")
    assert world.repo.is_ancestor("origin/feature/other", "origin/feature/issue-155")


def test_a_fresh_clone_restacks_after_a_plain_rebase_of_the_parent(pytester: pytest.Pytester, world: GitWorld,
                                                                  tmp_path: Path) -> None:
    """No record and no reflog: the parent's old commits, the same patches, are no obstacle."""
    trees = _stack(world)
    world.repo.git.fetch("-q", "origin")
    for number, onto in ((152, "origin/main"), (154, "feature/issue-152")):
        trees[number].git.rebase("-q", onto)
        trees[number].git.push("-q", "--force", "origin", f"feature/issue-{number}")
    clone_path = tmp_path / "fresh"
    clone = git.Repo.clone_from(str(world.origin_path), clone_path)
    clone.git.checkout("-q", "feature/issue-155")
    text = plan_text(world, STACK.replace("{SLEEP}", "").replace("        worktree: wt/155\n", "")).replace(
        str(world.path), str(clone_path))
    pytester.path.joinpath("plan.yaml").write_text(text)
    result = pytester.runpytest("--waves", "plan.yaml", "-v", "-k", "issue155", "--ignore-unknown-dependency")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*restacked onto feature/issue-154 (1 own commit)*"])
    assert [s for s, _ in _log(world, "feature/issue-155")] == [OWN[155], OWN[154], OWN[152]]


def test_after_the_bottom_pr_is_squash_merged_the_stack_moves_onto_main(pytester: pytest.Pytester,
                                                                        world: GitWorld, tmp_path: Path) -> None:
    _stack(world)
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, STACKED_PRS))
    pytester.runpytest("--waves", "plan.yaml").assert_outcomes(passed=11)
    # GitHub's squash merge of #152's PR: one commit on main with its change, its branch deleted
    _squash_merge(world, tmp_path, "feature/issue-152", "docs: research (#152) (#1)")
    store = pytester.path / ".waves/forge/plan.json"
    data = json.loads(store.read_text())
    data["pulls"][0]["state"] = "merged"
    store.write_text(json.dumps(data))
    result = pytester.runpytest("--waves", "plan.yaml", "-v")
    result.assert_outcomes(passed=11)
    # the local forge does not say which head merged: #152 is rebased (its change is main's now) as usual
    result.stdout.fnmatch_lines(["*rebase (rebase) — rebased onto origin/main*",
                                 "*#152's PR #1 has merged: restacked onto origin/main (1 own commit)*",
                                 "*retargeted onto main PR #2*"])
    assert _log(world, "feature/issue-152") == []  # what it holds, main has
    assert [subject for subject, _ in _log(world, "feature/issue-154")] == [OWN[154]]
    assert [subject for subject, _ in _log(world, "feature/issue-155")] == [OWN[155], OWN[154]]
    pulls = json.loads(store.read_text())["pulls"]
    assert [(p["number"], p["base"]) for p in pulls] == [(1, "main"), (2, "main"), (3, "feature/issue-154")]


def test_siblings_stacked_on_one_issue_are_not_taken_for_a_stack(pytester: pytest.Pytester, world: GitWorld) -> None:
    _stack(world)
    path = world.path / "wt/156"
    world.repo.git.worktree("add", "-q", "--no-track", "-b", "feature/issue-156", str(path), "feature/issue-152")
    world.commit(git.Repo(path), {"issue156.txt": "156\n"}, "feat: sibling (#156)")
    siblings = STACK.replace("{SLEEP}", "") + """      - number: 156
        title: Sibling
        branch: feature/issue-156
        worktree: wt/156
        depends_on: [152]
        steps: [rebase, {integrate: {issue: 152}}, push]
"""
    said = _waves(pytester, world, siblings)
    assert said.returncode == 0, said.stderr
    assert "warning" not in said.stdout, said.stdout  # #154 and #156 share #152's commits: they are siblings
    assert "stack: #152 ⟶ #156" in said.stdout
    # their PRs show their own files only, not #152's: no reason to put one after the other
    assert "proposal" not in said.stdout, said.stdout


def test_a_branch_cut_from_an_issue_since_rebased_is_still_warned_of(pytester: pytest.Pytester,
                                                                    world: GitWorld) -> None:
    """#154 was rebased after #155 was cut from it: they share no commit, but they share its change."""
    trees = _stack(world)
    world.repo.git.fetch("-q", "origin")
    for number, onto in ((152, "origin/main"), (154, "feature/issue-152")):
        trees[number].git.rebase("-q", onto)
    assert not world.repo.is_ancestor("feature/issue-154", "feature/issue-155")
    unsaid = STACK.replace("{SLEEP}", "").replace("        depends_on: [154]\n", "").replace(
        "[rebase, {integrate: {issue: 154}}, push]", "[rebase, push]")
    warned = _waves(pytester, world, unsaid)
    assert warned.returncode == 0, warned.stderr
    assert "warning: #154's feature/issue-154 and #155's feature/issue-155 share commits" in warned.stdout


def test_a_squash_merged_bottom_pr_on_the_github_fake(pytester: pytest.Pytester, world: GitWorld, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _stack(world)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with FakeGitHub(origin=world.origin_path) as github:
        _github_plan(pytester, world, github, STACKED_PRS)
        pytester.runpytest("--waves", "plan.yaml").assert_outcomes(passed=11)
        _squash_merge(world, tmp_path, "feature/issue-152", "docs: research (#152) (#1)")
        github.pulls[0].update(state="closed", merged_at="2026-12-01T12:00:00Z")
        result = pytester.runpytest("--waves", "plan.yaml", "-v")
        result.assert_outcomes(passed=11)
        result.stdout.fnmatch_lines(["*rebase (rebase) — PR #1 has merged: nothing to rebase*",
                                     "*push (push) — PR #1 has merged: nothing to push*",
                                     "*#152's PR #1 has merged: restacked onto origin/main (1 own commit)*"])
        assert world.repo.git.ls_remote("origin", "feature/issue-152") == ""  # not pushed again
        assert [(p["number"], p["base"]) for p in github.pulls] == [(1, "main"), (2, "main"), (3, "feature/issue-154")]
    assert [subject for subject, _ in _log(world, "feature/issue-155")] == [OWN[155], OWN[154]]


def test_a_stacked_pr_whose_parents_pr_was_closed_says_so(pytester: pytest.Pytester, world: GitWorld) -> None:
    _stack(world)
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, STACKED_PRS))
    pytester.runpytest("--waves", "plan.yaml").assert_outcomes(passed=11)
    store_path = pytester.path / ".waves/forge/plan.json"
    store = json.loads(store_path.read_text())
    assert [(p["number"], p["head"]) for p in store["pulls"]][1] == (2, "feature/issue-154")
    store["pulls"][1]["state"] = "closed"  # #154 abandoned
    store_path.write_text(json.dumps(store))
    result = pytester.runpytest("--waves", "plan.yaml", "-k", "issue155", "--ignore-unknown-dependency")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*#154's PR #2 was closed without merging: a PR stacked on feature/issue-154 "
                                 "would wait for a branch that is not going in",
                                 "*reopen #154's PR, or drop `stacked` to open this one into main"])
