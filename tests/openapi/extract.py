"""Extract, from GitHub's official OpenAPI description (npm `@octokit/openapi`), the operations the
GitHub forge uses and every schema they reach: the contract `tests/github_fake.py` is held to.

The whole description is 11-13 MB and takes openapi-core tens of seconds to load; the extract holds
the forge's 13 operations and loads in well under a second. Descriptions and examples are left out
(they are not part of the contract); everything else is GitHub's text as published.

    python tests/openapi/extract.py                 # npm-installs the pinned version into a cache
    python tests/openapi/extract.py --package DIR   # or reads an unpacked @octokit/openapi

writes tests/openapi/api.github.com.json and tests/openapi/ghes-3.19.json, each naming the package
version it came from (`info.x-extracted-from`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/openapi"
VERSION = "23.0.2"
DESCRIPTIONS = ("api.github.com", "ghes-3.19")
HERE = Path(__file__).resolve().parent

# (path, method) of every request the forge sends (pytest_waves/engine/forge/github.py, via PyGithub)
OPERATIONS = [
    ("/repos/{owner}/{repo}", "get"),
    ("/repos/{owner}/{repo}/pulls", "get"),
    ("/repos/{owner}/{repo}/pulls", "post"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}", "get"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}", "patch"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", "post"),
    ("/repos/{owner}/{repo}/issues/{issue_number}", "get"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/labels", "post"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "get"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "post"),
    ("/repos/{owner}/{repo}/issues/comments/{comment_id}", "patch"),
    ("/repos/{owner}/{repo}/commits/{ref}/status", "get"),
    ("/repos/{owner}/{repo}/commits/{ref}/check-runs", "get"),
]


def _package(cache: Path) -> Path:
    folder = cache / f"octokit-openapi-{VERSION}"
    found = folder / "node_modules" / PACKAGE
    if not found.exists():
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(folder),
                        f"{PACKAGE}@{VERSION}"], check=True)
    return found


def _strip(node: Any, *, in_properties: bool = False) -> Any:
    """Without descriptions, summaries and examples: not contract, and most of the size. A property
    that is *named* `description` (inside `properties`) stays; a description text becomes "" (a
    response object must have one)."""
    if isinstance(node, dict):
        if in_properties:
            return {key: _strip(value) for key, value in node.items()}
        kept = {key: _strip(value, in_properties=key == "properties") for key, value in node.items()
                if key not in ("summary", "example", "examples", "externalDocs")}
        if isinstance(kept.get("description"), str):
            kept["description"] = ""
        return kept
    if isinstance(node, list):
        return [_strip(item) for item in node]
    return node


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node))
    return set()


def extract(description: dict[str, Any], name: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, method in OPERATIONS:
        operation = description["paths"][path][method]
        paths.setdefault(path, {})[method] = _strip(operation)
    components: dict[str, dict[str, Any]] = {}
    pending = _refs(paths)
    while pending:
        ref = pending.pop()
        _, _, kind, key = ref.split("/", 3)  # "#/components/schemas/pull-request"
        if key in components.get(kind, {}):
            continue
        part = _strip(description["components"][kind][key])
        components.setdefault(kind, {})[key] = part
        pending |= _refs(part)
    info = {"title": description["info"]["title"], "version": description["info"]["version"],
            "x-extracted-from": f"{PACKAGE}@{VERSION} generated/{name}.json"}
    return {"openapi": description["openapi"], "info": info, "servers": description["servers"],
            "paths": paths, "components": {kind: dict(sorted(parts.items())) for kind, parts in sorted(components.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", type=Path, help=f"an unpacked {PACKAGE}@{VERSION}")
    args = parser.parse_args()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pytest-waves"
    package = args.package or _package(cache)
    for name in DESCRIPTIONS:
        description = json.loads((package / "generated" / f"{name}.json").read_text(encoding="utf-8"))
        out = HERE / f"{name}.json"
        out.write_text(json.dumps(extract(description, name), indent=1, sort_keys=False) + "\n", encoding="utf-8")
        print(f"{out.relative_to(HERE.parent.parent)}: {len(OPERATIONS)} operations, "
              f"{sum(len(p) for p in extract(description, name)['components'].values())} components, "
              f"{out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
