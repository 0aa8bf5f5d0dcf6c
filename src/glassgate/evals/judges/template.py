"""A judge prompt template: its text with `{{variable}}` placeholders, and what it declares.

A template file starts with a small YAML header between `---` lines, then the prompt:

    ---
    description: Does the answer state only what the context supports?
    variables: [input, output, context]         # every placeholder the prompt uses
    labels: {factual: 1, hallucinated: 0}       # or: range: [1, 5]
    paths: {tools: $.input.tools}               # optional: where a variable comes from
    optional: [tools]                           # optional: rendered as "(none)" when absent
    ---
    You are checking ... <answer>{{output}}</answer>

The header is optional for a custom template passed inline (the `llm_judge` params then give
the labels or range). Placeholders are `{{name}}` (spaces inside the braces allowed), so JSON
braces in a prompt need no escaping; rendering is one pass, so a value that itself contains
`{{output}}` is never expanded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from glassgate.evals.judges.verdict import Labels, Range, Scale

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER = re.compile(r"\A---[ \t]*\r?\n(?P<header>.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADER_KEYS = frozenset({"description", "variables", "labels", "range", "paths", "optional"})


@dataclass(frozen=True, slots=True)
class Template:
    text: str
    description: str = ""
    scale: Scale | None = None
    declared: tuple[str, ...] | None = None  # the header's `variables`, when it has them
    paths: Mapping[str, str] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The variables the text uses, in order of first use."""
        return tuple(dict.fromkeys(PLACEHOLDER.findall(self.text)))

    def render(self, values: Mapping[str, str]) -> str:
        """The prompt with every placeholder replaced (the caller supplies every one)."""
        return PLACEHOLDER.sub(lambda match: values[match.group(1)], self.text)


def parse_template(source: str, origin: str) -> Template:
    """A template from its file text; ValueError names `origin` and what is wrong."""
    found = _HEADER.match(source)
    if found is None:
        if not source.strip():
            raise ValueError(f"template {origin} is empty")
        return Template(text=source)
    try:
        header = yaml.safe_load(found["header"]) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"template {origin}: its header is not valid YAML ({error})") from None
    if not isinstance(header, dict):
        raise ValueError(f"template {origin}: its header must be a mapping, got {header!r}")
    unknown = sorted(set(map(str, header)) - _HEADER_KEYS)
    if unknown:
        known = ", ".join(sorted(_HEADER_KEYS))
        raise ValueError(f"template {origin}: unknown header key(s) {', '.join(unknown)}; known: {known}")
    text = source[found.end() :]
    if not text.strip():
        raise ValueError(f"template {origin} has a header but no prompt")
    declared = header.get("variables")
    if declared is not None and not _names(declared):
        raise ValueError(f"template {origin}: variables must be a list of names, got {declared!r}")
    paths = header.get("paths") or {}
    if not isinstance(paths, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in paths.items()):
        raise ValueError(f"template {origin}: paths must map variable names to JSONPath strings, got {paths!r}")
    optional = header.get("optional") or []
    if not _names(optional) and optional != []:
        raise ValueError(f"template {origin}: optional must be a list of variable names, got {optional!r}")
    return Template(
        text=text,
        description=str(header.get("description") or ""),
        scale=scale_of(header.get("labels"), header.get("range"), origin),
        declared=tuple(declared) if declared is not None else None,
        paths=paths,
        optional=frozenset(optional),
    )


def scale_of(labels: Any, bounds: Any, origin: str) -> Scale | None:
    """Labels `{label: score}` or a range `[low, high]` (not both); None when neither is given."""
    if labels is not None and bounds is not None:
        raise ValueError(f"{origin}: give labels or a range, not both")
    try:
        if labels is not None:
            if not isinstance(labels, Mapping):
                raise ValueError(f"labels must map each label to its score, got {labels!r}")
            return Labels({str(label): score for label, score in labels.items()})
        if bounds is not None:
            if not isinstance(bounds, list | tuple) or len(bounds) != 2:
                raise ValueError(f"range must be [low, high], got {bounds!r}")
            return Range(bounds[0], bounds[1])
    except ValueError as error:
        raise ValueError(f"{origin}: {error}") from None
    return None


def _names(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(name, str) and _NAME.fullmatch(name) is not None for name in value)
    )
