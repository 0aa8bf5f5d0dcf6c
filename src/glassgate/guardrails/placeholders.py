"""Typed placeholders for redacted values: `<EMAIL_1>`, `<CREDIT_CARD_2>`.

Within one body (or one streamed answer) the same value always gets the same placeholder, so
a reader can still tell "the same email twice" from "two emails". The values are kept only
for the life of one call, in memory, to number them and to replace them again where the same
answer repeats its text (a Responses stream's final events).
"""

from __future__ import annotations


class Placeholders:
    __slots__ = ("_counters", "_numbers")

    def __init__(self) -> None:
        self._numbers: dict[tuple[str, str], str] = {}
        self._counters: dict[str, int] = {}

    def of(self, category: str, value: str) -> str:
        key = (category, value)
        found = self._numbers.get(key)
        if found is None:
            number = self._counters.get(category, 0) + 1
            self._counters[category] = number
            found = self._numbers[key] = f"<{category}_{number}>"
        return found

    def known(self) -> list[tuple[str, str]]:
        """(value, placeholder) pairs, longest value first (so no value is cut by a shorter one)."""
        return sorted(((value, text) for (_, value), text in self._numbers.items()), key=lambda p: -len(p[0]))

    def __bool__(self) -> bool:
        return bool(self._numbers)

    def replace_known(self, text: str) -> str:
        """`text` with every value seen so far replaced by its placeholder."""
        for value, placeholder in self.known():
            if value in text:
                text = text.replace(value, placeholder)
        return text
