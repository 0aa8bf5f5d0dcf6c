"""A judge template's variables: where each value comes from, and its text in the prompt.

For each variable, the first source that applies:
1. a JSONPath from the evaluator's `variables` param (or the template's `paths` header),
   read over the item document (`item_document`):
       {"input", "output", "expected", "context", "metadata", "latency_ms", "cost_usd",
        "variables": {...}, "span": item.variables["span"]}
2. the item's own `variables` entry of a standard name, when the runner set one;
3. the standard name itself: `input` (read as the question: `prompt_text`), `output` and
   `expected` (read as answers: `answer_text`), `context` and `metadata`.

Any other name must be mapped to a path (`$.variables.x` reads the item's own `variables`):
that is checked when the evaluator is created, and a name nothing provides is a ValueError.
What an item lacks is a per-item error: "variable 'context': the item has no context",
"variable 'x': path $.a.b matched nothing". A variable the template marks optional renders
as "(none)" instead.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from glassgate.evals.base import EvalInput
from glassgate.evals.jsonpath import JsonPath, compile_path
from glassgate.evals.text import answer_text, json_text, prompt_text, value_text

STANDARD: dict[str, Callable[[Any], str]] = {
    "input": prompt_text,
    "output": answer_text,
    "expected": answer_text,
    "context": value_text,
    "metadata": json_text,
}
ABSENT = "(none)"


def item_document(item: EvalInput) -> dict[str, Any]:
    """The JSON document JSONPath variables are read from."""
    extra = item.variables or {}
    return {
        "input": item.input,
        "output": item.output,
        "expected": item.expected,
        "context": item.context,
        "metadata": dict(item.metadata or {}),
        "latency_ms": item.latency_ms,
        "cost_usd": item.cost_usd,
        "variables": dict(extra),
        "span": extra.get("span"),
    }


class Variables:
    """Resolves a template's variables for one item; built (and checked) once per evaluator."""

    def __init__(
        self,
        names: Collection[str],
        paths: Mapping[str, str],
        *,
        optional: Collection[str] = (),
        max_chars: int = 20_000,
    ) -> None:
        unused = sorted(set(paths) - set(names))
        if unused:
            raise ValueError(f"variables {', '.join(unused)} are mapped but the template never uses them")
        unknown = sorted(name for name in names if name not in STANDARD and name not in paths)
        if unknown:
            raise ValueError(
                f"the template uses unknown variable(s) {', '.join(unknown)}; known: {', '.join(STANDARD)}, "
                "and any name mapped to a JSONPath in 'variables'"
            )
        self.names = tuple(names)
        self.paths: dict[str, JsonPath] = {}
        for name, source in paths.items():
            try:
                self.paths[name] = compile_path(source)
            except ValueError as error:
                raise ValueError(f"variable {name!r}: {error}") from None
        self.optional = frozenset(optional)
        self.max_chars = max_chars

    def resolve(self, item: EvalInput) -> dict[str, str] | str:
        """Each variable's text, or the per-item error for the first one the item cannot give."""
        document = item_document(item) if self.paths else None
        values: dict[str, str] = {}
        for name in self.names:
            found = self._value(name, item, document)
            if isinstance(found, _Missing):
                if name not in self.optional:
                    return found.error
                values[name] = ABSENT
            else:
                values[name] = self._cut(found)
        return values

    def _value(self, name: str, item: EvalInput, document: dict[str, Any] | None) -> str | _Missing:
        path = self.paths.get(name)
        if path is not None and document is not None:
            matches = [match for match in path.find(document) if match is not None]
            if not matches:
                return _Missing(f"variable {name!r}: path {path.source} matched nothing")
            return value_text(matches[0] if len(matches) == 1 else matches)
        given = (item.variables or {}).get(name)
        if given is not None:
            return value_text(given)
        value = getattr(item, name)
        if value is None or (name == "metadata" and not value):
            what = "expected output" if name == "expected" else name
            return _Missing(f"variable {name!r}: the item has no {what}")
        return STANDARD[name](value)

    def _cut(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        return f"{text[: self.max_chars]}\n[… {len(text) - self.max_chars:,} more characters cut]"


class _Missing:
    __slots__ = ("error",)

    def __init__(self, error: str) -> None:
        self.error = error
