"""The JSONPath subset: what it reads, what it refuses, and that finding never raises."""

from __future__ import annotations

from typing import Any

import pytest

from glassgate.evals.jsonpath import compile_path

DOCUMENT: dict[str, Any] = {
    "input": {"messages": [{"role": "user", "parts": [{"type": "text", "text": "Hi"}]}], "tools": []},
    "metadata": {"topic": "billing", "tags": ["a", "b"], "odd key": 1, "it's": 2, "with-dash": 3},
    "context": [{"text": "doc one"}, {"text": "doc two"}, {"title": "no text"}],
    "span": {"attributes": {"gen_ai.request.model": "gpt-4o"}},
    "empty": None,
}


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("$", [DOCUMENT]),
        ("$.metadata.topic", ["billing"]),
        ("$.metadata.tags[0]", ["a"]),
        ("$.metadata.tags[-1]", ["b"]),
        ("$.metadata.tags[2]", []),
        ("$.metadata.tags[-3]", []),
        ("$.metadata.tags[*]", ["a", "b"]),
        ("$.context[*].text", ["doc one", "doc two"]),
        ("$.input.messages[0].parts[0].text", ["Hi"]),
        ("$.input.messages[-1].role", ["user"]),
        ("$.metadata['odd key']", [1]),
        ('$.metadata["it\'s"]', [2]),
        ("$.metadata['it\\'s']", [2]),
        ("$.metadata.with-dash", [3]),
        ("$.span['attributes']['gen_ai.request.model']", ["gpt-4o"]),
        ("$.span.attributes.*", ["gpt-4o"]),
        ("$[ 'metadata' ][ \"topic\" ]", ["billing"]),
        ("$.missing", []),
        ("$.missing.deeper[0]", []),
        ("$.metadata.topic.deeper", []),  # a name on a string
        ("$.metadata[0]", []),  # an index on an object
        ("$.metadata.topic[*]", []),  # a wildcard on a string
        ("$.empty", [None]),
    ],
)
def test_find(path: str, found: list[Any]) -> None:
    assert compile_path(path).find(DOCUMENT) == found


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("metadata.topic", "must start with \\$"),
        ("", "must start with \\$"),
        ("$..text", "recursive descent"),
        ("$.", "expected a member name after the dot at 1"),
        ("$.9lives", "expected a member name"),
        ("$.a[1:2]", "cannot read '\\[1:2\\]' at 3"),
        ("$.a[?(@.x)]", "cannot read"),
        ("$.a[0,1]", "cannot read"),
        ("$a", "cannot read 'a' at 1"),
        ("$.a['unclosed]", "cannot read"),
    ],
)
def test_outside_the_subset_is_a_value_error(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compile_path(path)


def test_finding_in_any_value_never_raises() -> None:
    path = compile_path("$.a[0].b[*].c")
    values: list[Any] = [None, 3, "text", [], {}, {"a": "x"}, {"a": [None]}, {"a": [{"b": {"k": {"c": 1}}}]}]
    for value in values:
        assert isinstance(path.find(value), list)
    assert path.find({"a": [{"b": [{"c": 1}, {"d": 2}, {"c": 3}]}]}) == [1, 3]
