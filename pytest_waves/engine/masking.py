"""Secrets never reach output: every text a run shows or writes passes through `mask`.

Known secrets are the forge tokens in the environment; on top of those, credentials inside URLs
(`https://x-access-token:TOKEN@host/…`), `Authorization:` header values and GitHub's token shapes
are masked wherever they appear, also when they reach us from a command's output or git's errors.
"""

from __future__ import annotations

import os
import re
from typing import Any

TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
MASK = "***"
MIN_SECRET_LENGTH = 8  # a shorter value would mask ordinary words all over the output

_HTTP_USERINFO = re.compile(r"(?i)\b(https?://)[^/@\s'\"<>]+@")
_URL_PASSWORD = re.compile(r"\b([a-z][a-z0-9+.-]*://[^/:@\s'\"<>]*:)[^/@\s'\"<>]+@", re.IGNORECASE)
_AUTH_HEADER = re.compile(r"(?i)(authorization:\s*(?:token|bearer|basic)\s+)(\S+)")
# A header whose value is only a shell variable's name ($GITHUB_TOKEN, ${GH_TOKEN}): a name, not a
# secret, so the command reads as written. Upper case only, as environment variables are: a literal
# token that happens to start with `$` is masked.
_VARIABLE = re.compile(r"\$\{?[A-Z_][A-Z0-9_]*\}?")
_TOKEN_SHAPES = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})")

_registered: set[str] = set()


class Secret:
    """A secret value whose repr and str never show it (pytest prints locals with `-l`)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__


def register(value: str) -> None:
    """Mask this value from now on (for secrets that do not come from TOKEN_VARIABLES)."""
    if len(value) >= MIN_SECRET_LENGTH:
        _registered.add(value)


def _known() -> list[str]:
    values = {os.environ.get(name, "") for name in TOKEN_VARIABLES} | _registered
    values |= {value.strip() for value in values}  # clients strip a token read with its newline
    # longest first, so that a secret containing another one is masked whole
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def mask(text: str) -> str:
    for value in _known():
        text = text.replace(value, MASK)
    # each pattern only where its literal part occurs: substring tests are far cheaper than the
    # regexes, and commands print megabytes that hold none of them
    if "://" in text:
        text = _HTTP_USERINFO.sub(rf"\g<1>{MASK}@", text)
        text = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)
    if "uthorization" in text or "UTHORIZATION" in text:
        text = _AUTH_HEADER.sub(_masked_header, text)
    if "gh" in text or "github_pat_" in text:
        text = _TOKEN_SHAPES.sub(MASK, text)
    return text


def _masked_header(found: re.Match[str]) -> str:
    """The header's value masked, the quotes and `;` around it kept; a variable's name kept whole."""
    value = found[2]
    opening = value[:1] if value[:1] in "\"'" else ""
    core = value[len(opening):].rstrip("\"';")
    closing = value[len(opening) + len(core):]
    if _VARIABLE.fullmatch(core):
        return found[0]
    return f"{found[1]}{opening}{MASK}{closing}"


def mask_value(value: Any) -> Any:
    return mask(value) if isinstance(value, str) else value


def mask_report(report: Any) -> None:
    """Mask a pytest report in place before anyone sees it: terminal, JUnit, xdist's controller."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        report.longrepr = (*longrepr[:2], mask(str(longrepr[2])))
    elif longrepr is not None:
        text = str(longrepr)
        masked = mask(text)
        if masked != text:  # keep pytest's own rendering unless a secret is in it
            report.longrepr = masked
    report.sections = [(title, mask(content)) for title, content in report.sections]
    report.user_properties = [(key, mask_value(value)) for key, value in report.user_properties]
    if hasattr(report, "wasxfail"):
        report.wasxfail = mask(report.wasxfail)
