"""`python -m pytest_waves workflow PLAN`: the plan as a GitHub Actions workflow, to run it on an
existing engine when one machine is not enough. One job per issue, `needs:` from the plan's
dependencies, each uploading its JUnit XML; a job per wave for its merge checks; a last job that
merges every JUnit file into the table. As an admin would have it: one run of a plan at a time
(`concurrency`), each job with the permissions it needs and no more, and a timeout from the plan's.
"""

from __future__ import annotations

import math
import shlex
import subprocess
from pathlib import Path
from typing import Any

import yaml

from pytest_waves.plan.checks import KIND as MERGES
from pytest_waves.plan.checks import checks_for
from pytest_waves.plan.loader import LoadedPlan

CHECKOUT, SETUP_PYTHON = "actions/checkout@v4", "actions/setup-python@v5"
UPLOAD, DOWNLOAD = "actions/upload-artifact@v4", "actions/download-artifact@v4"
# The issue's status from its JSON report, as a job output: a dependant runs only on "passed"
# (a deferred issue's job succeeds, but what depends on it is blocked, as in a single run).
STATUS = ("python -c \"import json,sys; rows=json.load(open('waves.json'))['issues']; "
          "print('status=' + next(r['status'] for r in rows if r['issue'] == int(sys.argv[1])))\" {number} "
          ">> \"$GITHUB_OUTPUT\"")


# What a job may take at most: GitHub-hosted runners stop a job at 6 hours, self-hosted ones at 5 days.
HOSTED_MINUTES, SELF_HOSTED_MINUTES = 360, 7200
HOSTED = ("ubuntu-", "windows-", "macos-")
SET_UP_MINUTES = 10  # checkout, Python, installing pytest-waves
UNTIMED_STEP_SECONDS = 300  # a git, forge or file step: no timeout of its own


class RunnerError(Exception):
    """The workflow would not work on a runner: said before anything is written."""


def _text(value: str) -> str:
    """Job names are evaluated as expressions: a title holding `${{` must not become one."""
    return value.replace("${{", "$ {{")


def workflow(loaded: LoadedPlan, plan: str, *, install: str, python: str = "3.11",
             runs_on: str = "ubuntu-latest", repo: str | None = None) -> str:
    def setup() -> list[dict[str, Any]]:  # fresh dicts per job: no YAML anchors in the output
        return [{"uses": CHECKOUT, "with": {"fetch-depth": 0}},
                {"uses": SETUP_PYTHON, "with": {"python-version": python}},
                {"name": "Install pytest-waves", "run": install}]

    if repo is None:
        _repository_on_a_runner(loaded, plan)
    where = f" --waves-repo {shlex.quote(repo)}" if repo else ""
    pytest = f"pytest --waves {shlex.quote(plan)}{where} --ignore-unknown-dependency"
    environment = _secrets(loaded)
    jobs: dict[str, Any] = {}
    for number in loaded.order:
        _, issue = loaded.issue(number)
        kinds = {step.kind.name for step in loaded.steps[number]}
        labelled = any(getattr(step.options, "labels", ()) for step in loaded.steps[number] if step.kind.name == "pr")
        job: dict[str, Any] = {"name": _text(f"#{number} {issue.title}"), "runs-on": runs_on,
                               "timeout-minutes": _minutes(loaded, number, runs_on),
                               "permissions": _permissions(loaded, kinds, labelled)}
        if loaded.deps[number]:
            job["needs"] = [f"issue{dep}" for dep in loaded.deps[number]]
            job["if"] = " && ".join(f"needs.issue{dep}.outputs.status == 'passed'" for dep in loaded.deps[number])
        job["outputs"] = {"status": "${{ steps.status.outputs.status }}"}
        # -m picks the issue's marker exactly (-k issue15 would also match issue152); the jobs it
        # needs passed, or it would not run, so their outcomes it cannot see are trusted
        run: dict[str, Any] = {"name": f"Run #{number}",
                               "run": f"{pytest} -m issue{number} --junitxml=junit/issue{number}.xml "
                                      "--waves-json waves.json"}
        if environment:
            run["env"] = dict(environment)  # a copy: shared dicts become YAML anchors
        job["steps"] = [*setup(), run,
                        {"name": "Status", "id": "status", "if": "always()", "run": STATUS.format(number=number)},
                        {"name": "Upload JUnit", "if": "always()", "uses": UPLOAD,
                         "with": {"name": f"junit-issue{number}", "path": f"junit/issue{number}.xml"}}]
        jobs[f"issue{number}"] = job
    if loaded.plan.merges is not None:
        for wave in loaded.plan.waves:
            # every issue the wave's checks judge: pairs reach into other waves
            before, after = checks_for(loaded, wave)
            numbers = sorted({n for _, issues in (*before, *after) for n in issues}, key=loaded.position.__getitem__)
            jobs[f"merges-{wave.key}"] = {
                "name": _text(f"Merge checks, wave {wave.id} {wave.name}".rstrip()), "runs-on": runs_on,
                "timeout-minutes": 30, "permissions": {"contents": "read"},  # trial merges only read
                "needs": [f"issue{n}" for n in numbers],
                "steps": [*setup(),
                          {"name": "Trial merges", "run": f"{pytest} -m '{wave.key} and {MERGES}' "
                                                          f"--junitxml=junit/merges-{wave.key}.xml",
                           # the run reads the forge before any item (its access check): it needs the token
                           **({"env": dict(environment)} if environment else {})},
                          {"name": "Upload JUnit", "if": "always()", "uses": UPLOAD,
                           "with": {"name": f"junit-merges-{wave.key}", "path": f"junit/merges-{wave.key}.xml"}}]}
    jobs["report"] = {
        "name": "Success metrics", "if": "${{ !cancelled() }}", "runs-on": runs_on,
        "timeout-minutes": 15, "permissions": {"contents": "read"},  # it reads the JUnit files and writes files
        "needs": [name for name in jobs],
        "steps": [*setup(),
                  {"uses": DOWNLOAD, "with": {"pattern": "junit-*", "path": "junit", "merge-multiple": True}},
                  {"name": "Merge the JUnit files into the table",
                   "run": f"python -m pytest_waves report --plan {shlex.quote(plan)}"
                          f"{where.replace('--waves-repo', '--repo')} --markdown waves-report.md "
                          "--json waves-report.json junit/*.xml"},
                  {"uses": UPLOAD, "if": "always()",
                   "with": {"name": "waves-report", "path": "waves-report.*"}}],
    }
    document = {"name": _text(f"waves: {loaded.plan.project}"), "on": {"workflow_dispatch": {}},
                # two dispatches of one plan would race on its branches and PRs: the second waits
                # (keyed on the plan's path: two plans of one name in different folders do not wait)
                "concurrency": {"group": f"pytest-waves {plan}", "cancel-in-progress": False},
                "permissions": {},  # none by default: each job says what it needs
                "jobs": jobs}
    header = (f"# Generated by `python -m pytest_waves workflow {plan}`: one job per issue of the plan,\n"
              "# `needs:` from its dependencies, and a last job that merges the JUnit files.\n")
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)


def _permissions(loaded: LoadedPlan, kinds: set[str], labelled: bool) -> dict[str, str]:
    """What an issue's job may do with the workflow's GITHUB_TOKEN: push only with a push step;
    pull requests (open, edit, label, ask reviews) and their checks only with a pr step on GitHub."""
    permissions = {"contents": "write" if "push" in kinds else "read"}
    if "pr" in kinds and loaded.plan.forge.kind == "github":
        permissions |= {"pull-requests": "write", "statuses": "read", "checks": "read"}
        if labelled:  # a label the repository does not have yet is created: GitHub asks issues: write
            permissions["issues"] = "write"
    return permissions


def _minutes(loaded: LoadedPlan, number: int, runs_on: str) -> int:
    """The job's timeout: its steps' own timeouts (an agent's from the plan's agents), five minutes
    for a step without one, and the set-up; at most what the runner allows."""
    seconds = 0.0
    for step in loaded.steps[number]:
        timeout = getattr(step.options, "timeout", None)
        if timeout is None and step.kind.name == "agent" and loaded.plan.agents:
            use = getattr(step.options, "use", None) or next(iter(loaded.plan.agents))
            timeout = loaded.plan.agents[use].timeout
        seconds += timeout or UNTIMED_STEP_SECONDS
    most = HOSTED_MINUTES if runs_on.startswith(HOSTED) else SELF_HOSTED_MINUTES
    return min(most, math.ceil(seconds / 60) + SET_UP_MINUTES)


def _repository_on_a_runner(loaded: LoadedPlan, plan: str) -> None:
    """On a runner the checkout is the repository that holds the workflow (and the plan): a plan
    whose repository lies elsewhere would find nothing there. A sandbox plan builds its own."""
    if loaded.plan.repository.sandbox is not None:
        return
    toplevel = _toplevel(loaded.path.parent)
    # the same repository, not one nested in it (a git-ignored clone is not in the runner's checkout)
    if toplevel is not None and _toplevel(loaded.repo_root) == toplevel:
        return
    where = f"not the repository that holds {plan} ({toplevel})" if toplevel else \
        f"not where a runner would have it ({plan} is not in a git repository here)"
    raise RunnerError(f"the plan's repository ({loaded.plan.repository.path} → {loaded.repo_root}) is {where}; "
                      "on a runner the job's checkout is the repository that holds the workflow: give --repo PATH "
                      "(e.g. --repo . for that checkout)")


def _toplevel(folder: Path) -> Path | None:
    found = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    return Path(found.stdout.strip()).resolve() if found.returncode == 0 and found.stdout.strip() else None


def _secrets(loaded: LoadedPlan) -> dict[str, str]:
    """What the steps read from the environment: the forge's token and the agents' variables,
    from the repository's secrets (Actions exports none of them on its own)."""
    names = ["GITHUB_TOKEN"] if loaded.plan.forge.kind == "github" else []
    names += [name for agent in loaded.plan.agents.values() for name in agent.env if name not in names]
    shared = {name: f"${{{{ secrets.{name} }}}}" for name in names}
    # pass_env names are not secrets: the repository's variables (Settings → Variables)
    shared |= {name: f"${{{{ vars.{name} }}}}" for agent in loaded.plan.agents.values() for name in agent.pass_env
               if name not in shared}
    return shared
