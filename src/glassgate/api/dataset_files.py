"""Dataset items to and from CSV and JSON Lines. Pure: bytes in, items or errors out.

Columns (CSV) and keys (JSONL) name where a value goes: `input`, `expected_output`,
`source_span_id`, `metadata` (an object) or `metadata.<key>`, and `input.<key>` or
`expected_output.<key>` to build an object from several columns. `item_id` is ignored (an
import always adds new items). A mapping (`column:target`, target `ignore` to drop a column)
renames others. CSV cells holding valid JSON are read as JSON, other cells as text, and an
empty cell as absent; the export writes text that would read as JSON (`42`, `true`) quoted as a
JSON string, so exporting and importing gives the same items.

An import is all or nothing: every line's errors are collected, with its line number, and
nothing is imported if there is one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from glassgate.storage.datasets import NewItem

MAX_ERRORS = 50
IGNORE = "ignore"
_WHOLE = frozenset({"input", "expected_output", "metadata", "source_span_id", "item_id"})
_PREFIXES = ("input.", "expected_output.", "metadata.")
_ABSENT = object()
EXPORT_COLUMNS = ("item_id", "input", "expected_output", "source_span_id")


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based, as an editor shows it (a CSV header is line 1)
    field: str | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field + ': ' if self.field else ''}{self.message}"


class ImportFailed(ValueError):
    def __init__(self, errors: Sequence[LineError], total: int | None = None) -> None:
        self.errors = list(errors[:MAX_ERRORS])
        more = (total or len(errors)) - len(self.errors)
        super().__init__("; ".join(map(str, self.errors)) + (f"; and {more} more" if more > 0 else ""))


def parse_mapping(specs: Sequence[str]) -> dict[str, str]:
    """`column:target` pairs; ValueError naming the bad one."""
    mapping: dict[str, str] = {}
    for spec in specs:
        column, colon, target = spec.rpartition(":")
        if not colon or not column or not _valid_target(target):
            raise ValueError(
                f"map {spec!r}: use column:target, target one of input, expected_output, source_span_id, "
                f"metadata, metadata.<key>, input.<key>, expected_output.<key> or {IGNORE}"
            )
        mapping[column] = target
    return mapping


def _valid_target(target: str) -> bool:
    return target in _WHOLE or target == IGNORE or any(target.startswith(p) and len(target) > len(p) for p in _PREFIXES)


def _target(column: str, mapping: Mapping[str, str]) -> str | None:
    target = mapping.get(column, column)
    return target if _valid_target(target) else None


def _build(values: Iterable[tuple[str, Any]], line: int, errors: list[LineError]) -> NewItem | None:
    """An item from (target, value) pairs; absent values are skipped."""
    whole: dict[str, Any] = {}
    parts: dict[str, dict[str, Any]] = {"input": {}, "expected_output": {}, "metadata": {}}
    found = len(errors)
    for target, value in values:
        if value is _ABSENT or target in (IGNORE, "item_id"):
            continue
        head, dot, key = target.partition(".")
        if dot:
            parts[head][key] = value
        else:
            whole[target] = value
    for name in ("input", "expected_output"):
        if name in whole and parts[name]:
            errors.append(LineError(line, name, f"given whole and as {name}.<key> columns; use one or the other"))
    metadata = whole.get("metadata", {})
    if not isinstance(metadata, dict):
        errors.append(LineError(line, "metadata", "must be a JSON object"))
    span = whole.get("source_span_id")
    if span is not None and not isinstance(span, str):
        errors.append(LineError(line, "source_span_id", "must be a string"))
    item_input = whole.get("input", parts["input"] or None)
    if item_input is None:
        errors.append(LineError(line, "input", "missing"))
    if len(errors) > found:
        return None
    return NewItem(
        input=item_input,
        expected_output=whole.get("expected_output", parts["expected_output"] or None),
        metadata={**metadata, **parts["metadata"]},
        source_span_id=span,
    )


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFailed([LineError(line, None, "not UTF-8 text")]) from None


def _cell(text: str) -> Any:
    if text == "":
        return _ABSENT
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def _csv_value(target: str | None, cell: str) -> Any:
    value = _cell(cell)
    if target == "source_span_id" and value is not _ABSENT and not isinstance(value, str):
        return cell  # an id of digits is still an id, not a number
    return value


def read_csv(data: bytes, mapping: Mapping[str, str]) -> list[NewItem]:
    reader = csv.reader(io.StringIO(_decode(data), newline=""), strict=True)
    errors: list[LineError] = []
    items: list[NewItem] = []
    try:
        header = next(reader, None)
        if not header:
            raise ImportFailed([LineError(1, None, "the file is empty: a header line naming the columns comes first")])
        targets = [_target(column, mapping) for column in header]
        for column, target in zip(header, targets, strict=True):
            if target is None:
                errors.append(LineError(1, column, "not a column Glassgate knows; map it (column:target) or ignore it"))
        if len(set(header)) < len(header):
            errors.append(LineError(1, None, "column names repeat"))
        if errors:
            raise ImportFailed(errors)
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if not row:
                continue  # a blank line
            if len(row) != len(header):
                errors.append(LineError(line, None, f"{len(row)} cells where the header has {len(header)}"))
                continue
            values = [(target or IGNORE, _csv_value(target, cell)) for target, cell in zip(targets, row, strict=True)]
            item = _build(values, line, errors)
            if item is not None:
                items.append(item)
    except csv.Error as exc:
        errors.append(LineError(reader.line_num, None, f"not valid CSV ({exc})"))
    if errors:
        raise ImportFailed(errors)
    return items


def read_jsonl(data: bytes, mapping: Mapping[str, str]) -> list[NewItem]:
    errors: list[LineError] = []
    items: list[NewItem] = []
    for number, text in enumerate(_decode(data).splitlines(), start=1):
        if not text.strip():
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            errors.append(LineError(number, None, f"not valid JSON ({exc})"))
            continue
        if not isinstance(value, dict):
            errors.append(LineError(number, None, "not a JSON object"))
            continue
        targets = {key: _target(key, mapping) for key in value}
        unknown = [key for key, target in targets.items() if target is None]
        for key in unknown:
            errors.append(LineError(number, key, "not a key Glassgate knows; map it (key:target) or ignore it"))
        if not unknown:
            item = _build(((targets[key] or IGNORE, item) for key, item in value.items()), number, errors)
            if item is not None:
                items.append(item)
    if errors:
        raise ImportFailed(errors)
    return items


# --- export --------------------------------------------------------------------------------------


def export_cell(value: Any) -> str:
    """A value as a CSV cell that reads back as the same value (None: an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, str):
        reads_back = _cell(value) is value  # text that is not JSON (nor empty) is read back as it is
        return value if reads_back else orjson.dumps(value).decode()
    return orjson.dumps(value).decode()


def csv_header(metadata_keys: Sequence[str]) -> str:
    return _csv_line([*EXPORT_COLUMNS, *(f"metadata.{key}" for key in metadata_keys)])


def csv_lines(items: Iterable[Mapping[str, Any]], metadata_keys: Sequence[str]) -> Iterator[str]:
    for item in items:
        metadata = item.get("metadata") or {}
        cells = [item["item_id"], *(export_cell(item.get(name)) for name in EXPORT_COLUMNS[1:])]
        # A key holding null is written `null`: an empty cell would read back as no key at all.
        cells += ["" if key not in metadata else export_cell(metadata[key]) or "null" for key in metadata_keys]
        yield _csv_line(cells)


def _csv_line(cells: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


def jsonl_lines(items: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    for item in items:
        record = {
            name: item.get(name) for name in ("item_id", "input", "expected_output", "metadata", "source_span_id")
        }
        yield orjson.dumps(record).decode() + "\n"
