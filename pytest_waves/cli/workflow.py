"""`python -m pytest_waves workflow PLAN`: the plan as a GitHub Actions workflow, to run it on an
existing engine when one machine is not enough. One job per issue, `needs:` from the plan's
dependencies, each uploading its JUnit XML; a job per wave for its merge checks; a last job that
merges every JUnit file into the table.
"""

from __future__ import annotations

import shlex
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


def _text(value: str) -> str:
    """Job names are evaluated as expressions: a title holding `${{` must not become one."""
    return value.replace("${{", "$ {{")


def workflow(loaded: LoadedPlan, plan: str, *, install: str, python: str = "3.11",
             runs_on: str = "ubuntu-latest", repo: str | None = None) -> str:
    def setup() -> list[dict[str, Any]]:  # fresh dicts per job: no YAML anchors in the output
        return [{"uses": CHECKOUT, "with": {"fetch-depth": 0}},
                {"uses": SETUP_PYTHON, "with": {"python-version": python}},
                {"name": "Install pytest-waves", "run": install}]

    where = f" --waves-repo {shlex.quote(repo)}" if repo else ""
    pytest = f"pytest --waves {shlex.quote(plan)}{where} --ignore-unknown-dependency"
    environment = _secrets(loaded)
    jobs: dict[str, Any] = {}
    for number in loaded.order:
        _, issue = loaded.issue(number)
        job: dict[str, Any] = {"name": _text(f"#{number} {issue.title}"), "runs-on": runs_on}
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
                "needs": [f"issue{n}" for n in numbers],
                "steps": [*setup(),
                          {"name": "Trial merges", "run": f"{pytest} -m '{wave.key} and {MERGES}' "
                                                          f"--junitxml=junit/merges-{wave.key}.xml"},
                          {"name": "Upload JUnit", "if": "always()", "uses": UPLOAD,
                           "with": {"name": f"junit-merges-{wave.key}", "path": f"junit/merges-{wave.key}.xml"}}]}
    jobs["report"] = {
        "name": "Success metrics", "if": "${{ !cancelled() }}", "runs-on": runs_on,
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
                "permissions": {"contents": "write", "pull-requests": "write", "issues": "write",
                                "statuses": "read", "checks": "read"},
                "jobs": jobs}
    header = (f"# Generated by `python -m pytest_waves workflow {plan}`: one job per issue of the plan,\n"
              "# `needs:` from its dependencies, and a last job that merges the JUnit files.\n")
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)


def _secrets(loaded: LoadedPlan) -> dict[str, str]:
    """What the steps read from the environment: the forge's token and the agents' variables,
    from the repository's secrets (Actions exports none of them on its own)."""
    names = ["GITHUB_TOKEN"] if loaded.plan.forge.kind == "github" else []
    names += [name for agent in loaded.plan.agents.values() for name in agent.env if name not in names]
    return {name: f"${{{{ secrets.{name} }}}}" for name in names}
