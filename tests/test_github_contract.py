"""The contract the GitHub fake is held to can fail: what GitHub's description forbids is reported,
and the three shapes of answer are what they say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from github_contract import UNKNOWN, Contract
from github_fake import FakeGitHub
from openapi.extract import OPERATIONS

PULLS = "/repos/acme/luminaguard/pulls"


@pytest.fixture(scope="module", params=["api.github.com", "ghes-3.19"])
def contract(request: pytest.FixtureRequest) -> Contract:
    return Contract(request.param)


def test_the_extract_names_the_published_description_it_came_from(contract: Contract) -> None:
    assert contract.version == f"@octokit/openapi@23.0.2 generated/{contract.name}.json"
    document = json.loads((Path(__file__).parent / "openapi" / f"{contract.name}.json").read_text())
    assert len([op for path in document["paths"].values() for op in path]) == len(OPERATIONS) == 13


def test_a_request_the_description_does_not_allow_is_reported(contract: Contract) -> None:
    labels = "/repos/acme/luminaguard/issues/1/labels"
    assert contract.request_errors("POST", labels, {}, {"labels": ["waves"]}) == []
    assert contract.request_errors("POST", labels, {}, ["waves"])  # PyGithub's add_to_labels sends this
    assert contract.request_errors("POST", PULLS, {}, {"head": "x", "base": "main", "title": "t"}) == []
    assert contract.request_errors("POST", PULLS, {}, {"head": "x"})  # no base
    assert contract.request_errors("GET", "/repos/acme/luminaguard/no-such-endpoint", {}, None)


@pytest.fixture(scope="module")
def pull() -> dict[str, object]:
    fake = FakeGitHub()
    try:
        return fake._pull_json(fake.open_pull("feature/x"))
    finally:
        fake.server.server_close()


def test_an_answer_the_description_does_not_allow_is_reported(contract: Contract, pull: dict[str, object]) -> None:
    shaped = contract.shape("GET", f"{PULLS}/1", 200, pull, "default")
    assert contract.response_errors("GET", f"{PULLS}/1", {}, 200, shaped, {}) == []
    missing = {key: value for key, value in shaped.items() if key != "number"}
    assert any("number" in error for error in contract.response_errors("GET", f"{PULLS}/1", {}, 200, missing, {}))
    wrong = {**shaped, "state": 7}
    assert contract.response_errors("GET", f"{PULLS}/1", {}, 200, wrong, {})


@pytest.mark.parametrize("mode", ["default", "minimal", "maximal"])
def test_each_shape_is_within_the_contract(contract: Contract, pull: dict[str, object], mode: str) -> None:
    shaped = contract.shape("GET", f"{PULLS}/1", 200, pull, mode)  # type: ignore[arg-type]
    assert contract.response_errors("GET", f"{PULLS}/1", {}, 200, shaped, {}) == []
    assert (shaped["number"], shaped["state"], shaped["head"]["ref"]) == (1, "open", "feature/x")
    if mode == "minimal":  # optional fields are gone, nullable ones the fake had nothing for are null
        assert "requested_reviewers" not in shaped and "draft" not in shaped
        assert shaped["milestone"] is None and shaped["auto_merge"] is None
    elif mode == "maximal":  # every documented field, and one GitHub may add tomorrow
        assert "requested_reviewers" in shaped and "requested_teams" in shaped and shaped[UNKNOWN]
        assert UNKNOWN in shaped["head"]["repo"]
    else:
        assert shaped["requested_reviewers"] == [] and UNKNOWN not in shaped
