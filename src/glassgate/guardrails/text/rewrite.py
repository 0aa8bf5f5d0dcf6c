"""Rewrite chosen JSON string values in raw bytes, leaving every other byte as it was.

A redacted body must differ from the client's only inside the redacted strings: key order,
whitespace, number spelling and escapes elsewhere stay exactly as sent (a re-serialised body
would also break a SigV4 signature computed over the original). So the raw bytes are scanned
once, tracking the JSON path of the values, and only the byte spans of the chosen string
literals are replaced.

The document is checked first by a real parser (orjson), which also answers "is there a
string at this path". The scanner can then trust the grammar and look only at structure:
punctuation and string literals. A subtree no chosen path goes through is skipped bracket by
bracket without tracking its paths, so the Python loop runs once per token near the chosen
paths and a few times per skipped value elsewhere; the bytes in between are crossed by
`re` and `bytes.find` in C.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

import orjson

from glassgate.guardrails.text.fields import Path, where

# Structure only: a string literal is found by its quotes (`bytes.find`, at memchr speed, which
# matters for a megabyte of base64 image), and what lies between tokens (spaces, numbers,
# true/false/null) never matters once the parser has accepted the document.
_STRUCTURE = re.compile(rb'[][{}:,"]')
_NESTING = re.compile(rb'[][{}"]')  # what skipping a subtree must see
_QUOTE, _OPEN_OBJECT, _OPEN_ARRAY, _CLOSE_OBJECT, _CLOSE_ARRAY, _COMMA, _COLON = b'"{[}],:'
_BACKSLASH = ord("\\")


def _check(document: object, path: Path) -> None:
    """ValueError unless the parsed document holds a string at `path`."""
    value: Any = document
    for part in path:
        in_object = isinstance(value, dict) and isinstance(part, str) and part in value
        in_array = isinstance(value, list) and type(part) is int and 0 <= part < len(value)
        if not (in_object or in_array):
            raise ValueError(f"{where(path)}: no such value in the body")
        value = value[part]
    if not isinstance(value, str):
        raise ValueError(f"{where(path)}: holds a value that is not a string")


def _key(token: bytes) -> str:
    """A key as the path names it: decoded, escapes and all."""
    return token[1:-1].decode("utf-8") if b"\\" not in token else str(json.loads(token))


def _string_end(raw: bytes, start: int) -> int:
    """The position just past the string literal whose opening quote is at `start`."""
    end = raw.find(b'"', start + 1)
    while end >= 0:
        escapes = end
        while raw[escapes - 1] == _BACKSLASH:
            escapes -= 1
        if (end - escapes) % 2 == 0:  # an even run of backslashes escapes itself, not the quote
            return end + 1
        end = raw.find(b'"', end + 1)
    raise ValueError("not valid JSON: a string is not closed")


def _skip_subtree(raw: bytes, start: int) -> int:
    """The position just past the container that opens at `start`."""
    depth, position = 0, start
    while (found := _NESTING.search(raw, position)) is not None:
        at = found.start()
        byte = raw[at]
        if byte == _QUOTE:
            position = _string_end(raw, at)
            continue
        position = at + 1
        depth += 1 if byte in (_OPEN_OBJECT, _OPEN_ARRAY) else -1
        if depth == 0:
            return position
    raise ValueError("not valid JSON: a container is not closed")


def _scan(raw: bytes, wanted: set[Path]) -> dict[Path, list[tuple[int, int]]]:
    """Every span of a string literal at a wanted path (two for a path a duplicated key repeats)."""
    on_the_way = {path[:length] for path in wanted for length in range(len(path) + 1)}
    spans: dict[Path, list[tuple[int, int]]] = {}
    objects: list[bool] = []  # per open container: an object (else an array)
    path: list[str | int] = []
    awaiting_key = False
    wanted_here = () in on_the_way  # whether the value at `path` lies on a wanted path
    position = 0
    while (found := _STRUCTURE.search(raw, position)) is not None:
        start = found.start()
        byte, position = raw[start], start + 1
        if byte == _COLON:
            continue
        if byte == _QUOTE:
            position = _string_end(raw, start)
            if awaiting_key:
                path[-1] = _key(raw[start:position])
                wanted_here, awaiting_key = tuple(path) in on_the_way, False
            elif wanted_here and tuple(path) in wanted:
                spans.setdefault(tuple(path), []).append((start, position))
        elif byte in (_OPEN_OBJECT, _OPEN_ARRAY):
            if not wanted_here:
                position = _skip_subtree(raw, start)
                continue
            objects.append(byte == _OPEN_OBJECT)
            path.append("" if byte == _OPEN_OBJECT else 0)
            awaiting_key = byte == _OPEN_OBJECT
            wanted_here = byte == _OPEN_OBJECT or tuple(path) in on_the_way
        elif byte == _COMMA:
            if objects[-1]:
                awaiting_key = True
            else:
                path[-1] = int(path[-1]) + 1
                wanted_here = tuple(path) in on_the_way
        else:  # a closing bracket: back in the parent, whose current value was wanted
            objects.pop()
            path.pop()
            awaiting_key, wanted_here = False, True
    return spans


def locate_strings(raw: bytes, paths: Collection[Path]) -> dict[Path, tuple[int, int]]:
    """The byte span (quotes included) of the string literal at each path.

    ValueError when the bytes are not JSON, or a path is missing, holds a value that is not a
    string, or appears more than once (a duplicated key: which copy the upstream reads is its
    parser's choice, so neither may be left unredacted).
    """
    document = orjson.loads(raw)  # orjson.JSONDecodeError is a ValueError
    wanted = set(paths)
    for path in wanted:
        _check(document, path)
    found = _scan(raw, wanted)
    located: dict[Path, tuple[int, int]] = {}
    for path in wanted:
        spans = found.get(path, [])
        if len(spans) != 1:
            raise ValueError(f"{where(path)}: {'a duplicated key' if spans else 'not found'} in the raw body")
        located[path] = spans[0]
    return located


def rewrite_strings(raw: bytes, replacements: Mapping[Path, str]) -> bytes:
    """`raw` with the string at each path replaced by a new one; every other byte unchanged.

    Raises ValueError (see `locate_strings`), and for a replacement that cannot be UTF-8
    (a lone surrogate): the caller then refuses the call rather than forward it unredacted.
    """
    if not replacements:
        return raw
    spans = locate_strings(raw, replacements.keys())
    pieces: list[bytes] = []
    cursor = 0
    for path, (start, end) in sorted(spans.items(), key=lambda item: item[1][0]):
        pieces.append(raw[cursor:start])
        pieces.append(json.dumps(replacements[path], ensure_ascii=False).encode("utf-8"))
        cursor = end
    pieces.append(raw[cursor:])
    return b"".join(pieces)
