"""Typed placeholders for redacted values: `<EMAIL_1>`, `<CREDIT_CARD_2>`, and their restore.

Within one body (or one streamed answer) the same value always gets the same placeholder, so
a reader can still tell "the same email twice" from "two emails". The values are kept only
for the life of one call, in memory, to number them and to replace them again where the same
answer repeats its text (a Responses stream's final events).

Restore: a redact policy on requests with `restore: true` lets the client have its own values
back where the model's answer repeats their placeholders. A `Restorer` holds those placeholders
and values for one call (never on the span, in a log or in an export: its repr names only how
many it holds) and knows which tail of a streamed text could still become one of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import partial

# What a placeholder looks like (categories are upper snake case); which ones are restored is
# decided by an exact look-up among the placeholders this call issued.
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*_[0-9]+>")


class Placeholders:
    __slots__ = ("_counters", "_numbers", "handed_out")

    def __init__(self) -> None:
        self._numbers: dict[tuple[str, str], str] = {}
        self._counters: dict[str, int] = {}
        self.handed_out: set[str] = set()  # the placeholders `of` returned (not those it was continued from)

    def of(self, category: str, value: str) -> str:
        key = (category, value)
        found = self._numbers.get(key)
        if found is None:
            number = self._counters.get(category, 0) + 1
            self._counters[category] = number
            found = self._numbers[key] = f"<{category}_{number}>"
        self.handed_out.add(found)
        return found

    def continued(self) -> Placeholders:
        """A numbering that goes on from this one: a value seen keeps its placeholder, a new one
        gets the next number (an answer's redactions after its request's)."""
        other = Placeholders()
        other._numbers, other._counters = dict(self._numbers), dict(self._counters)
        return other

    def issued(self, category: str, value: str) -> str | None:
        """The placeholder already given to `value` as `category`, if any."""
        return self._numbers.get((category, value))

    def known(self) -> list[tuple[str, str]]:
        """(value, placeholder) pairs, longest value first (so no value is cut by a shorter one)."""
        return sorted(((value, text) for (_, value), text in self._numbers.items()), key=lambda p: -len(p[0]))

    def __bool__(self) -> bool:
        return bool(self._numbers)

    def __repr__(self) -> str:
        return f"<Placeholders: {len(self._numbers)} issued>"

    def replace_known(self, text: str) -> str:
        """`text` with every value seen so far replaced by its placeholder."""
        for value, placeholder in self.known():
            if value in text:
                text = text.replace(value, placeholder)
        return text


@dataclass(frozen=True, slots=True)
class Restorable:
    """A placeholder a redact policy with `restore` put in a request, and the value it stands for."""

    placeholder: str
    value: str = field(repr=False)
    category: str
    detectors: frozenset[str]  # the detectors that found the value in the request


def restorable(redacted: Iterable[tuple[str, str, str, bool]], placeholders: Placeholders) -> list[Restorable]:
    """The placeholders of a redacted request that may be restored in its answer.

    `redacted`: (category, value, detector, the policy's `restore`) for each match that was
    replaced. A placeholder is restorable only when every match behind it came from a policy
    with `restore`: a value that another redact policy also hides stays hidden. (Overlapping
    matches merged into one placeholder are not restored either: no one policy chose them.)
    """
    detectors: dict[str, set[str]] = {}
    found: dict[str, tuple[str, str]] = {}
    refused: set[str] = set()
    for category, value, detector, restore in redacted:
        placeholder = placeholders.issued(category, value)
        if placeholder is None:
            continue
        if not restore:
            refused.add(placeholder)
        found[placeholder] = (category, value)
        detectors.setdefault(placeholder, set()).add(detector)
    return [
        Restorable(placeholder, value, category, frozenset(detectors[placeholder]))
        for placeholder, (category, value) in found.items()
        if placeholder not in refused
    ]


class Restorer:
    """This call's restorable placeholders and their values: `restore` puts them back in text.

    `withheld` (live: the answer's own numbering's `handed_out`) names placeholders never to
    restore: once an output policy has redacted a value into one of them, that policy catches
    the value, and the client does not get it back anywhere in the answer after that."""

    __slots__ = ("_escaped", "_longest", "_prefixes", "_values", "_withheld")

    def __init__(self, values: Mapping[str, str], withheld: AbstractSet[str] = frozenset()) -> None:
        self._values = {key: value for key, value in values.items() if _PLACEHOLDER.fullmatch(key)}
        self._withheld = withheld
        self._escaped: dict[str, str] | None = None
        self._longest = max(map(len, self._values), default=0)
        # Every proper prefix ("<", "<E", … "<EMAIL_1"): what a stream may still complete.
        self._prefixes = frozenset(key[:size] for key in self._values for size in range(1, len(key)))

    def __bool__(self) -> bool:
        return bool(self._values)

    def __repr__(self) -> str:
        return f"<Restorer: {len(self._values)} placeholders>"

    def placeholders(self) -> list[str]:
        return sorted(self._values)

    def restore(self, text: str) -> str:
        """`text` with each of this call's placeholders replaced by its value; other text,
        unknown placeholders (`<EMAIL_9>` never issued) included, as it was."""
        if "<" not in text:
            return text
        return _PLACEHOLDER.sub(partial(_value, self._values, self._withheld), text)

    def restore_json(self, text: str) -> str:
        """`restore` for text that is itself JSON (tool-call arguments): values escaped as
        inside a JSON string, where the model writes placeholders."""
        if "<" not in text:
            return text
        if self._escaped is None:
            self._escaped = {key: json.dumps(value, ensure_ascii=False)[1:-1] for key, value in self._values.items()}
        return _PLACEHOLDER.sub(partial(_value, self._escaped, self._withheld), text)

    def cut(self, text: str, at: int) -> int:
        """`at`, or the earlier position where a known placeholder (or what may still become
        one: `<EMA` at the end of the text) begins, if `at` falls inside it. Text released up
        to the result never ends inside a placeholder, so each is restored whole."""
        start = text.rfind("<", max(0, at - self._longest + 1), at)
        if start < 0 or text[start:at] not in self._prefixes:
            return at
        ahead = text[start : start + self._longest]
        close = ahead.find(">")
        if close >= 0:
            return start if ahead[: close + 1] in self._values else at
        return start if ahead in self._prefixes else at


def _value(values: Mapping[str, str], withheld: AbstractSet[str], found: re.Match[str]) -> str:
    placeholder = found[0]
    return placeholder if placeholder in withheld else values.get(placeholder, placeholder)
