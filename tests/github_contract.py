"""GitHub's published REST contract, for the fake: every request the forge sends and every answer the
fake gives is validated with openapi-core against an extract of GitHub's official OpenAPI
description (tests/openapi/, made by tests/openapi/extract.py from npm `@octokit/openapi`).

The fake builds the fields that mean something (numbers, states, heads, bodies); `shape` makes the
rest of each answer as the description says, in one of three ways:
- "default": every field the description requires, and the fake's own fields;
- "minimal": only the required fields, `null` wherever the description allows it and the fake has
  nothing to say (a client that needs an optional field breaks here). One optional field stays:
  `body`, which the description leaves out of `required` because other media types replace it
  (`body_text`, `body_html`) and which GitHub always sends for the default one, which PyGithub asks;
- "maximal": every documented field, plus a field no description has (a client that breaks on
  GitHub's next addition breaks here).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

Mode = Literal["default", "minimal", "maximal"]
HERE = Path(__file__).resolve().parent / "openapi"
UNKNOWN = "x_field_github_may_add_tomorrow"
_ALWAYS_SENT = {"body"}  # optional in the description, always in the default media type (see above)
_DEEPEST = 6  # maximal mode fills optional fields this deep; below, what is required (repositories nest)


class Contract:
    def __init__(self, name: str = "api.github.com") -> None:
        self.name = name
        self.document: dict[str, Any] = json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))
        self.version = self.document["info"]["x-extracted-from"]
        server = self.document["servers"][0]["url"]  # api.github.com has no /api/v3 prefix, GHES has
        self.host_url, self.prefix = ("https://api.github.com", "") if "{" not in server else ("http://ghes.invalid", "/api/v3")
        self.openapi = _load(name)
        self._templates = [(re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), path)
                           for path in self.document["paths"]]

    # -- validation: the list of what is wrong, empty when all is well --------------------------------

    def request_errors(self, method: str, path: str, query: dict[str, str], body: Any) -> list[str]:
        request = self._request(method, path, query, body)
        return [_said(error) for error in self.openapi.iter_request_errors(request)]

    def response_errors(self, method: str, path: str, query: dict[str, str], status: int, body: Any,
                        headers: dict[str, str]) -> list[str]:
        request = self._request(method, path, query, None)
        data = json.dumps(body).encode() if body is not None else b""
        response = MockResponse(data, status_code=status, headers=headers)
        return [_said(error) for error in self.openapi.iter_response_errors(request, response)]

    def _request(self, method: str, path: str, query: dict[str, str], body: Any) -> MockRequest:
        data = json.dumps(body).encode() if body is not None else None
        return MockRequest(self.host_url, method.lower(), self.prefix + path, args=query, data=data,
                           headers={"Content-Type": "application/json"} if data is not None else {})

    def operation(self, method: str, path: str) -> tuple[str, str] | None:
        """(path template, method) of the description's operation this request is, if any."""
        template = next((t for pattern, t in self._templates if pattern.match(path)), None)
        found = template is not None and method.lower() in self.document["paths"][template]
        return (template, method.lower()) if found and template else None

    # -- shapes ------------------------------------------------------------------------------------------

    def documents(self, method: str, path: str, status: int) -> bool:
        return self._response_schema(method, path, status) is not None

    def shape(self, method: str, path: str, status: int, body: Any, mode: Mode) -> Any:
        schema = self._response_schema(method, path, status)
        return body if schema is None else self._conform(body, schema, mode, 0)

    def _response_schema(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        template = next((t for pattern, t in self._templates if pattern.match(path)), None)
        operation = self.document["paths"].get(template or "", {}).get(method.lower())
        if operation is None:
            return None
        response = self._resolve(operation["responses"].get(str(status), {}))
        return response.get("content", {}).get("application/json", {}).get("schema")

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            _, _, kind, key = node["$ref"].split("/", 3)
            node = self.document["components"][kind][key]
        return node

    def _merged(self, schema: dict[str, Any]) -> dict[str, Any]:
        """An allOf flattened into one object schema (GitHub uses it to extend a schema)."""
        schema = self._resolve(schema)
        if "allOf" not in schema:
            return schema
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            part = self._merged(part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        merged["nullable"] = schema.get("nullable", False)
        return merged

    def _options(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        return [self._merged(o) for o in schema.get("oneOf", schema.get("anyOf", []))]

    def _conform(self, value: Any, schema: dict[str, Any], mode: Mode, depth: int) -> Any:
        schema = self._merged(schema)
        if value is None:
            return None
        if options := self._options(schema):
            fitting = [o for o in options if _fits(value, o)]
            return self._conform(value, (fitting or options)[0], mode, depth)
        if isinstance(value, list):
            return [self._conform(item, schema.get("items", {}), mode, depth + 1) for item in value]
        if not isinstance(value, dict) or "properties" not in schema:
            return value
        properties, required = schema["properties"], schema.get("required", [])
        names = {"minimal": [*required, *(k for k in value if k in _ALWAYS_SENT and k not in required)],
                 "default": [*required, *(k for k in value if k not in required)],
                 "maximal": list(properties)}[mode]
        shaped: dict[str, Any] = {}
        for name in names:
            if name not in properties:
                continue  # a field the fake has and the description does not: GitHub would not send it
            if name in value:
                shaped[name] = self._conform(value[name], properties[name], mode, depth + 1)
            else:
                shaped[name] = self.generate(properties[name], mode, depth + 1)
        if mode == "maximal":
            shaped.update(self._unknown(schema, depth))
        return shaped

    def _unknown(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        """A field no description has, as the object's `additionalProperties` allows (none if false)."""
        extra = schema.get("additionalProperties", True)
        if extra is False:
            return {}
        return {UNKNOWN: "not in the description" if extra is True else self.generate(extra, "maximal", _DEEPEST)}

    def generate(self, schema: dict[str, Any], mode: Mode, depth: int = 0) -> Any:
        """A value the description allows, made up: for the fields the fake has nothing to say about."""
        schema = self._merged(schema)
        if schema.get("nullable") and mode == "minimal":
            return None
        if options := self._options(schema):
            return self.generate(options[0], mode, depth)
        if "enum" in schema:
            return next((v for v in schema["enum"] if v is not None), None)
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if kind == "object":
            properties, required = schema.get("properties", {}), schema.get("required", [])
            deep = mode == "maximal" and depth < _DEEPEST
            value = {name: self.generate(properties[name], mode, depth + 1)
                     for name in (properties if deep else required) if name in properties}
            if mode == "maximal":
                value.update(self._unknown(schema, depth))
            return value
        if kind == "array":
            return [self.generate(schema.get("items", {}), mode, depth + 1)] if mode == "maximal" and depth < _DEEPEST else []
        if kind == "integer":
            return max(1, int(schema.get("minimum", 1)))
        if kind == "number":
            return 1.0
        if kind == "boolean":
            return False
        return _STRINGS.get(schema.get("format", ""), "text")


_STRINGS = {"date-time": "2026-12-01T12:00:00Z", "uri": "https://example.invalid/x", "email": "someone@example.invalid",
            "uri-template": "https://example.invalid/{x}", "date": "2026-12-01", "uuid": "00000000-0000-0000-0000-000000000000"}


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    kind = schema.get("type", "object" if "properties" in schema else None)
    return kind is None or {"object": isinstance(value, dict), "array": isinstance(value, list),
                            "string": isinstance(value, str), "integer": isinstance(value, int),
                            "boolean": isinstance(value, bool), "number": isinstance(value, (int, float))}.get(kind, True)


@cache
def _load(name: str) -> OpenAPI:
    return OpenAPI.from_dict(_nulls_as_github_sends_them(json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))))


_NULL = {"type": "string", "nullable": True, "enum": [None]}  # null, and nothing else


def _nulls_as_github_sends_them(node: Any) -> Any:
    """`nullable: true` where OpenAPI 3.0 leaves it without effect: beside an `enum` without null (a
    check run's `conclusion` while it runs), or with no `type` beside a `oneOf`/`anyOf` (a commit's
    `author` who has no GitHub account). JSON Schema validators then refuse null; GitHub sends it.
    Read as GitHub means it: null is allowed there too."""
    if isinstance(node, dict):
        if node.get("nullable") is True:
            if isinstance(node.get("enum"), list) and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
            for key in ("oneOf", "anyOf"):
                if "type" not in node and isinstance(node.get(key), list) and _NULL not in node[key]:
                    node[key] = [*node[key], dict(_NULL)]
        for value in node.values():
            _nulls_as_github_sends_them(value)
    elif isinstance(node, list):
        for item in node:
            _nulls_as_github_sends_them(item)
    return node


def _said(error: Exception) -> str:
    """openapi-core's error with its causes: 'response body: … is a required property'."""
    causes = []
    cause: BaseException | None = error
    while cause is not None:
        for inner in getattr(cause, "schema_errors", []) or []:
            where = "/".join(str(p) for p in getattr(inner, "absolute_path", []))
            causes.append(f"{where or '(top)'}: {getattr(inner, 'message', inner)}")
        cause = cause.__cause__
    return f"{type(error).__name__}: {error}" + (" — " + "; ".join(causes[:5]) if causes else "")
