"""A small JSONPath subset, enough to pick a value out of an item or a span for a judge template.

No JSONPath library is among our dependencies (`jsonpath-ng` or `python-jsonpath` would give
the full RFC 9535 language, filters included, if we ever need it); this reads only:

    $                  the whole document
    .name  ['name']    a member of an object (quoted form for names with other characters)
    [0]  [-1]          an element of an array, negative from the end
    [*]  .*            every element of an array, or every member value of an object

for example `$.metadata.topic`, `$.input.messages[-1].parts[0].text`, `$.span['attributes']['gen_ai.request.model']`,
`$.context[*].text`. Anything else (`..`, filters, slices, unions) is a ValueError when the path
is compiled, naming where it stopped. Evaluating never raises: a step that does not fit the
value it meets (a name on an array, an index past the end) simply matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_BRACKET = re.compile(
    r"""\[\s*(?:(?P<index>-?\d+)|(?P<star>\*)"""
    r"""|'(?P<single>(?:[^'\\]|\\.)*)'|"(?P<double>(?:[^"\\]|\\.)*)")\s*\]"""
)
_ESCAPE = re.compile(r"\\(.)")
_WILDCARD = object()
Step = str | int | object  # a member name, an index, or _WILDCARD


@dataclass(frozen=True, slots=True)
class JsonPath:
    source: str
    steps: tuple[Step, ...]

    def find(self, document: Any) -> list[Any]:
        """Every value the path selects, in document order; empty when it selects nothing."""
        found = [document]
        for step in self.steps:
            found = [child for value in found for child in _children(value, step)]
            if not found:
                break
        return found


def compile_path(source: str) -> JsonPath:
    """The parsed path; ValueError says what in `source` is not in the subset."""
    if not isinstance(source, str) or not source.startswith("$"):
        raise ValueError(f"JSONPath {source!r} must start with $")
    steps: list[Step] = []
    position = 1
    while position < len(source):
        rest = source[position:]
        if rest.startswith(".."):
            raise ValueError(f"JSONPath {source!r}: recursive descent (..) is not supported")
        if rest.startswith(".*"):
            steps.append(_WILDCARD)
            position += 2
            continue
        if rest.startswith("."):
            name = _NAME.match(source, position + 1)
            if name is None:
                raise ValueError(f"JSONPath {source!r}: expected a member name after the dot at {position}")
            steps.append(name.group())
            position = name.end()
            continue
        bracket = _BRACKET.match(source, position)
        if bracket is None:
            raise ValueError(
                f"JSONPath {source!r}: cannot read {rest[:20]!r} at {position} "
                "(supported: .name, ['name'], [0], [-1], [*], .*)"
            )
        if bracket["index"] is not None:
            steps.append(int(bracket["index"]))
        elif bracket["star"] is not None:
            steps.append(_WILDCARD)
        else:
            quoted = bracket["single"] if bracket["single"] is not None else bracket["double"]
            steps.append(_ESCAPE.sub(r"\1", quoted))
        position = bracket.end()
    return JsonPath(source, tuple(steps))


def _children(value: Any, step: Step) -> list[Any]:
    if step is _WILDCARD:
        if isinstance(value, Mapping):
            return list(value.values())
        return list(value) if isinstance(value, list | tuple) else []
    if isinstance(step, str):
        if isinstance(value, Mapping) and step in value:
            return [value[step]]
        return []
    if isinstance(step, int) and isinstance(value, list | tuple) and -len(value) <= step < len(value):
        return [value[step]]
    return []
