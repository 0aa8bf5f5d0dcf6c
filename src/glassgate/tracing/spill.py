"""Append-only local segment files that hold spans while the database cannot take them.

The writer spills a batch when an insert fails, and keeps spilling (in order) while a backlog
exists, so memory stays bounded however long the outage lasts. When the database answers
again the segments are replayed oldest first and deleted; inserts are idempotent on
`span_id`, so a segment replayed twice (a crash between insert and delete) stores nothing
twice. Past `max_bytes` new spans are dropped and counted: the disk is bounded too.

One JSON line per span; a torn last line (a crash mid-write) is skipped on replay.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from glassgate.guardrails.engine import Finding
from glassgate.tracing.span import Span

log = logging.getLogger(__name__)
SEGMENT_BYTES = 8 * 1024 * 1024


def encode(span: Span) -> bytes:
    return orjson.dumps(dataclasses.asdict(span)) + b"\n"


def decode(line: bytes) -> Span:
    values: dict[str, Any] = orjson.loads(line)
    values["started_at"] = datetime.fromisoformat(values["started_at"])
    values["tags"] = tuple(values.get("tags") or ())
    values["findings"] = tuple(Finding(**finding) for finding in values.get("findings") or ())
    return Span(**values)


class SpillStore:
    """Segments under `directory`, named by creation time so that sorting gives the order."""

    def __init__(self, directory: Path, max_bytes: int, segment_bytes: int = SEGMENT_BYTES) -> None:
        self._directory = directory
        self._max_bytes = max_bytes
        self._segment_bytes = segment_bytes
        self._current: Path | None = None
        directory.mkdir(parents=True, exist_ok=True)
        self._size = sum(path.stat().st_size for path in self.segments())

    @property
    def size(self) -> int:
        return self._size

    def segments(self) -> list[Path]:
        return sorted(self._directory.glob("*.jsonl"))

    def has_pending(self) -> bool:
        return self._size > 0

    def append(self, spans: Sequence[Span]) -> int:
        """Write spans in order; return how many were dropped because the spill is full."""
        lines = [encode(span) for span in spans]
        kept: list[bytes] = []
        for line in lines:
            if self._size + len(line) > self._max_bytes:
                break
            kept.append(line)
            self._size += len(line)
        if kept:
            path = self._writable_segment()
            with path.open("ab") as handle:
                handle.write(b"".join(kept))
                handle.flush()
                os.fsync(handle.fileno())  # a spilled span must survive the process dying
        return len(lines) - len(kept)

    def _writable_segment(self) -> Path:
        current = self._current
        if current is None or not current.exists() or current.stat().st_size >= self._segment_bytes:
            current = self._directory / f"{time.time_ns():020d}.jsonl"
            self._current = current
        return current

    def seal(self) -> None:
        """Start a new segment for the next append (replay never reads one still being written)."""
        self._current = None

    def read(self, path: Path) -> list[Span]:
        spans: list[Span] = []
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return spans
        for number, line in enumerate(data.splitlines()):
            try:
                spans.append(decode(line))
            except (orjson.JSONDecodeError, TypeError, ValueError, KeyError):
                log.warning("skipping a torn or unreadable line %d in %s", number + 1, path.name)
        return spans

    def remove(self, path: Path) -> None:
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:  # another process sharing data_dir replayed it first
            return
        self._size = max(self._size - size, 0)
