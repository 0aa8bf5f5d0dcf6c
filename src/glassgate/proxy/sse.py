"""An incremental parser for Server-Sent Events, as the LLM vendors use them.

Pure and forgiving: accepts LF, CRLF or CR line ends, `event:` and `data:` fields, multi-line
data, comments and a missing final blank line (a stream cut off by the upstream).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event; `index` is the chunk in which its last line arrived."""

    event: str
    data: str
    index: int


def parse_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Yield every event in the byte chunks, tagging each with the chunk that completed it."""
    buffer = b""
    event_type = ""
    data_lines: list[str] = []
    index = -1
    for index, chunk in enumerate(chunks):
        buffer += chunk
        lines = buffer.splitlines(keepends=True)
        # Keep a last line that has no terminator yet; a lone CR might still become CRLF.
        buffer = lines.pop() if lines and not lines[-1].endswith((b"\n",)) else b""
        for raw in lines:
            line = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
            if not line:
                if data_lines or event_type:
                    yield ServerSentEvent(event_type, "\n".join(data_lines), index)
                event_type, data_lines = "", []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data_lines.append(value)
            elif name == "event":
                event_type = value
    tail = buffer.rstrip(b"\r\n").decode("utf-8", errors="replace")
    if tail.startswith("data:"):
        data_lines.append(tail[5:].lstrip(" "))
    if data_lines:
        yield ServerSentEvent(event_type, "\n".join(data_lines), max(index, 0))
