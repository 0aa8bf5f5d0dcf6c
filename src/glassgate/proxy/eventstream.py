"""Decode AWS event-stream bytes (Bedrock's streaming format) from captured chunks. Pure.

botocore's `EventStreamBuffer` does the framing and checks both CRCs (wire-formats.md §3.4).
Frames may split across chunks anywhere; each decoded frame is tagged with the chunk in which
its last byte arrived, which is what TTFT needs. A corrupt frame never raises: decoding stops
there and the result says why, so the span can record the stream as broken.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from botocore.eventstream import EventStreamBuffer, ParserError

_PRELUDE_AND_CRC = 16  # prelude (12 bytes) plus the trailing message CRC (4 bytes)
# botocore re-slices its whole buffer after every frame; feeding bounded pieces keeps a large
# coalesced chunk from turning that into quadratic copying.
_FEED_SIZE = 8192
# What botocore raises on garbage besides its own ParserError: short reads (struct), unknown
# header types (KeyError), header names that are not UTF-8 (UnicodeDecodeError is a ValueError).
_DECODE_ERRORS = (ParserError, struct.error, KeyError, ValueError, IndexError)


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded message.

    `kind` is the `:event-type` (events), `:exception-type` (modelled errors) or `:error-code`
    (unmodelled errors). Unmodelled errors carry their text in the `:error-message` header
    rather than the payload, so for them `payload` holds that text.
    """

    index: int  # the chunk in which the frame's last byte arrived
    message_type: str  # event | exception | error
    kind: str
    payload: bytes


@dataclass(slots=True)
class DecodedStream:
    frames: list[Frame] = field(default_factory=list)
    corrupt: str | None = None  # why decoding stopped at a corrupt frame; None when none was
    corrupt_chunk: int | None = None
    incomplete_bytes: int = 0  # bytes of a frame cut off at the end (a stream cut short)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _frame(index: int, message: object) -> Frame | None:
    """A Frame from botocore's message, or None when its declared lengths are impossible."""
    prelude = getattr(message, "prelude", None)
    total, headers_length = getattr(prelude, "total_length", 0), getattr(prelude, "headers_length", 0)
    # botocore accepts a bare prelude whose total length is too short to hold its own CRC.
    if not isinstance(total, int) or not isinstance(headers_length, int) or total < _PRELUDE_AND_CRC + headers_length:
        return None
    headers = getattr(message, "headers", {})
    headers = headers if isinstance(headers, Mapping) else {}
    payload = getattr(message, "payload", b"")
    payload = payload if isinstance(payload, bytes) else b""
    message_type = _text(headers.get(":message-type")) or "event"
    if message_type == "exception":
        kind = _text(headers.get(":exception-type"))
    elif message_type == "error":
        kind = _text(headers.get(":error-code"))
        payload = _text(headers.get(":error-message")).encode()
    else:
        kind = _text(headers.get(":event-type"))
    return Frame(index, message_type, kind, payload)


def decode_frames(chunks: Iterable[bytes]) -> DecodedStream:
    """Every frame in the chunks, in order, until the end or the first corrupt frame."""
    result = DecodedStream()
    buffer = EventStreamBuffer()
    pending = 0  # bytes fed but not yet consumed by a complete frame
    for index, chunk in enumerate(chunks):
        for start in range(0, len(chunk), _FEED_SIZE):
            piece = chunk[start : start + _FEED_SIZE]
            buffer.add_data(piece)
            pending += len(piece)
            try:
                for message in buffer:
                    frame = _frame(index, message)
                    if frame is None:
                        result.corrupt, result.corrupt_chunk = "impossible frame lengths", index
                        return result
                    pending -= int(message.prelude.total_length)
                    result.frames.append(frame)
            except _DECODE_ERRORS as exc:
                result.corrupt, result.corrupt_chunk = f"{type(exc).__name__}: {exc}"[:300], index
                return result
    result.incomplete_bytes = pending
    return result
