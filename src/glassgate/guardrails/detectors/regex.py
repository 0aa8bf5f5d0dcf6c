"""A policy's own patterns and deny-list (detector `regex`).

Options:
- `patterns`: either a list of Python regular expressions, each reported as category CUSTOM,
  or a mapping `{NAME: pattern}`, each reported as NAME (upper snake case, e.g. TICKET_ID),
  which is what redaction placeholders and findings then show.
- `deny`: a list of phrases, matched case-insensitively as whole words (not inside a longer
  word; any run of spaces in a phrase matches any run of whitespace), category DENY_LIST.

Everything is compiled when the policy loads, so a bad pattern is a start-up error: a
`ValueError` naming the pattern, for a syntax error, a pattern over 1,000 characters, or one
that matches the empty string (it would report a zero-length finding at every position).

Patterns run with Python's `re`, a backtracking engine: a pattern such as `(a+)+b` can take
exponential time on some inputs. Nothing here detects that; keep patterns simple and anchored
on literals, and test them on long inputs. Deny phrases are escaped, so they cannot do this.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from glassgate.guardrails.base import Match
from glassgate.guardrails.detectors.options import check_keys

MAX_PATTERN_LENGTH = 1000
_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


class RegexDetector:
    """Reports every match of the configured patterns and deny-listed phrases."""

    name = "regex"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        options = options or {}
        check_keys(self.name, options, {"patterns", "deny"})
        self._patterns = _compile_patterns(options.get("patterns") or [])
        self._deny = _compile_deny(options.get("deny") or [])

    def scan(self, text: str) -> list[Match]:
        found: list[Match] = []
        for category, pattern in self._patterns:
            found.extend(Match(category, m.start(), m.end()) for m in pattern.finditer(text) if m.end() > m.start())
        if self._deny is not None:
            found.extend(Match("DENY_LIST", m.start(), m.end()) for m in self._deny.finditer(text))
        found.sort(key=lambda m: (m.start, m.end))
        return found


def _compile_patterns(patterns: Any) -> list[tuple[str, re.Pattern[str]]]:
    if isinstance(patterns, Mapping):
        named = [(str(name), source) for name, source in patterns.items()]
    elif isinstance(patterns, list | tuple):
        named = [("CUSTOM", source) for source in patterns]
    else:
        raise ValueError(f"detector 'regex': option patterns must be a list or a mapping, got {patterns!r}")
    compiled = []
    for name, source in named:
        if not _NAME.fullmatch(name):
            raise ValueError(f"detector 'regex': pattern name {name!r} must be upper snake case, like TICKET_ID")
        compiled.append((name, _compile(source)))
    return compiled


def _compile(source: Any) -> re.Pattern[str]:
    if not isinstance(source, str):
        raise ValueError(f"detector 'regex': pattern {source!r} is not a string")
    if len(source) > MAX_PATTERN_LENGTH:
        raise ValueError(f"detector 'regex': pattern {source[:40]!r}… is over {MAX_PATTERN_LENGTH} characters")
    try:
        pattern = re.compile(source)
    except re.error as error:
        raise ValueError(f"detector 'regex': invalid pattern {source!r}: {error}") from None
    if pattern.fullmatch("") is not None:
        raise ValueError(f"detector 'regex': pattern {source!r} matches the empty string")
    return pattern


def _compile_deny(phrases: Any) -> re.Pattern[str] | None:
    if isinstance(phrases, str) or not isinstance(phrases, list | tuple):
        raise ValueError(f"detector 'regex': option deny must be a list of phrases, got {phrases!r}")
    words = []
    for phrase in phrases:
        if not isinstance(phrase, str) or not phrase.split():
            raise ValueError(f"detector 'regex': deny phrase {phrase!r} must be a non-empty string")
        words.append(r"\s+".join(re.escape(word) for word in phrase.split()))
    if not words:
        return None
    # Longest first, so "acme corp" wins over "acme" at the same place.
    words.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.IGNORECASE)
