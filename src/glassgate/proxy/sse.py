"""An incremental parser for Server-Sent Events, as the LLM vendors use them.

Pure and forgiving: accepts LF, CRLF or CR line ends, `event:` and `data:` fields, multi-line
data, comments and a missing final blank line (a stream cut off by the upstream).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# A blank line ends an event: two line ends in a row, in any of the three line-end styles.
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event; `index` is the chunk in which its last line arrived."""

    event: str
    data: str
    index: int


class _Parser:
    def __init__(self) -> None:
        self.event_type = ""
        self.data_lines: list[str] = []

    def line(self, raw: bytes, index: int) -> ServerSentEvent | None:
        line = raw.decode("utf-8", errors="replace")
        if not line:
            # Per the SSE spec, an event without data is not dispatched.
            event = ServerSentEvent(self.event_type, "\n".join(self.data_lines), index) if self.data_lines else None
            self.event_type, self.data_lines = "", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self.data_lines.append(value)
        elif name == "event":
            self.event_type = value
        return None


def parse_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Yield every event in the byte chunks, tagging each with the chunk that completed it."""
    parser = _Parser()
    buffer = b""
    skip_lf = False  # the previous chunk ended in CR: a LF starting this one belongs to it
    index = -1
    for index, chunk in enumerate(chunks):
        if skip_lf and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        skip_lf = chunk.endswith(b"\r")
        buffer += chunk
        lines = buffer.splitlines(keepends=True)
        buffer = lines.pop() if lines and not lines[-1].endswith((b"\n", b"\r")) else b""
        for raw in lines:
            event = parser.line(raw.rstrip(b"\r\n"), index)
            if event is not None:
                yield event
    if buffer:
        parser.line(buffer, max(index, 0))
    if parser.data_lines:
        yield ServerSentEvent(parser.event_type, "\n".join(parser.data_lines), max(index, 0))


def complete_events_end(data: bytes) -> int:
    """The offset just past the last blank line in `data`: bytes before it hold whole events only.

    0 when no event is complete yet. Cheap enough to run on every chunk.
    """
    if data.endswith((b"\n\n", b"\r\n\r\n", b"\r\r")):
        return len(data)  # the usual chunk: whole events
    lf, crlf, cr = data.rfind(b"\n\n"), data.rfind(b"\r\n\r\n"), data.rfind(b"\r\r")
    return max(lf + 2 if lf >= 0 else 0, crlf + 4 if crlf >= 0 else 0, cr + 2 if cr >= 0 else 0)


def split_event_blocks(data: bytes) -> Iterator[bytes]:
    """Cut bytes that end at an event boundary into raw events, each with its blank line.

    Joining the blocks gives `data` back byte for byte.
    """
    start = 0
    for found in _EVENT_END.finditer(data):
        yield data[start : found.end()]
        start = found.end()
    if start < len(data):
        yield data[start:]
