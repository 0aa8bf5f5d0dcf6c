"""Reading an evaluator's params, so a typo or a wrong type fails when the evaluator is created.

Every message names the evaluator and the param: `evaluator 'regex': param 'pattern' must be
a string, got 3`. Unknown params are rejected by name, with the list of known ones.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any


class Params:
    """The params of one evaluator, checked against the names it knows."""

    def __init__(self, evaluator: str, params: Mapping[str, Any], known: Collection[str]) -> None:
        self.evaluator = evaluator
        self._params = params
        unknown = sorted(str(key) for key in params if key not in known)
        if unknown:
            raise ValueError(
                f"evaluator {evaluator!r}: unknown param(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known)) or '(none)'}"
            )

    def error(self, key: str, problem: str) -> ValueError:
        return ValueError(f"evaluator {self.evaluator!r}: param {key!r} {problem}")

    def has(self, key: str) -> bool:
        return self._params.get(key) is not None

    def raw(self, key: str) -> Any:
        return self._params.get(key)

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self._params.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {value!r}")
        return value

    def required_text(self, key: str) -> str:
        value = self.text(key)
        if not value:
            raise self.error(key, "is required (a non-empty string)")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._params.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {value!r}")
        return value

    def number(
        self, key: str, default: float | None = None, *, minimum: float | None = None, maximum: float | None = None
    ) -> float | None:
        value = self._params.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(key, f"must be a number, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum:g}, got {value!r}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"must be at most {maximum:g}, got {value!r}")
        return float(value)

    def required_number(self, key: str, *, minimum: float | None = None) -> float:
        value = self.number(key, minimum=minimum)
        if value is None:
            raise self.error(key, "is required (a number)")
        return value

    def integer(self, key: str, default: int, *, minimum: int = 1) -> int:
        value = self._params.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(key, f"must be an integer of at least {minimum}, got {value!r}")
        return value

    def choice(self, key: str, options: Collection[str], default: str) -> str:
        value = self.text(key, default)
        if value is None or value not in options:
            raise self.error(key, f"must be one of {', '.join(sorted(options))}, got {value!r}")
        return value

    def texts(self, key: str) -> list[str] | None:
        """A list of non-empty strings (a single string counts as a list of one)."""
        value = self._params.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not value or not all(isinstance(v, str) and v for v in value):
            raise self.error(key, f"must be a non-empty list of non-empty strings, got {value!r}")
        return list(value)
