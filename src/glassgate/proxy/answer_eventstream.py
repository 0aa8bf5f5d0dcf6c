"""Block and redact inside a Bedrock answer stream (AWS event-stream frames).

Frames are `[total u32][headers u32][prelude crc][headers][payload][message crc]`; a frame
whose text changes is re-framed around its new payload with both CRCs recomputed (only
requests are signed; answer frames are not). Every other frame is relayed byte for byte.

- ConverseStream: `contentBlockDelta` with `delta.text`; a block ends with `contentBlockStop`.
- InvokeModelWithResponseStream, Anthropic models: `chunk` frames whose base64 `bytes` hold
  Anthropic's own events (`content_block_delta` with a `text_delta`, `content_block_stop`).
  Other model families are relayed unchanged and said so on the span.

A block ends the stream with a `validationException` frame, which boto3 raises as an
`EventStreamError` while the caller iterates.
"""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from typing import Any

import orjson

from glassgate.guardrails.answers import AnswerGuard, TextWindow

_PRELUDE = 12
_STRING = 7
# The width of each header value type's fixed-size payload (type 6 and 7 carry a u16 length).
_FIXED_WIDTHS = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}


def _headers(raw: bytes) -> dict[str, str]:
    """The string headers of a frame (the only kind that names events)."""
    found: dict[str, str] = {}
    at = 0
    while at < len(raw):
        size = raw[at]
        name = raw[at + 1 : at + 1 + size].decode("utf-8", "replace")
        kind = raw[at + 1 + size]
        at += 2 + size
        if kind in (6, _STRING):
            (length,) = struct.unpack_from("!H", raw, at)
            if kind == _STRING:
                found[name] = raw[at + 2 : at + 2 + length].decode("utf-8", "replace")
            at += 2 + length
        else:
            at += _FIXED_WIDTHS.get(kind, len(raw))
    return found


def _string_header(name: str, value: str) -> bytes:
    encoded_name, encoded_value = name.encode(), value.encode()
    return (
        bytes([len(encoded_name)])
        + encoded_name
        + bytes([_STRING])
        + struct.pack("!H", len(encoded_value))
        + encoded_value
    )


def frame(header_bytes: bytes, payload: bytes) -> bytes:
    """One frame with both CRCs."""
    prelude = struct.pack("!II", _PRELUDE + len(header_bytes) + len(payload) + 4, len(header_bytes))
    body = prelude + struct.pack("!I", zlib.crc32(prelude)) + header_bytes + payload
    return body + struct.pack("!I", zlib.crc32(body))


def exception_frame(message: str) -> bytes:
    headers = (
        _string_header(":exception-type", "validationException")
        + _string_header(":content-type", "application/json")
        + _string_header(":message-type", "exception")
    )
    return frame(headers, orjson.dumps({"message": message}))


class EventStreamAnswerGuard:
    """`feed` each chunk of a Bedrock stream, relay what comes back; `ended` after a block."""

    __slots__ = ("_guard", "_header_bytes", "_pending", "_windows", "ended", "invoke")

    def __init__(self, guard: AnswerGuard, *, invoke: bool) -> None:
        self._guard = guard
        self._pending = b""
        self._windows: dict[int, TextWindow] = {}
        self._header_bytes: dict[int, bytes] = {}  # each channel's last delta frame headers, to send what is held
        self.invoke = invoke
        self.ended = False

    def feed(self, chunk: bytes) -> bytes:
        if self.ended:
            return b""
        data = self._pending + chunk if self._pending else chunk
        out: list[bytes] = []
        at = 0
        while len(data) - at >= _PRELUDE:
            total, headers_length = struct.unpack_from("!II", data, at)
            if total < _PRELUDE + headers_length + 4:
                # Not a frame we can read: relay the rest as it came; boto3 reports it.
                self._guard.notes.append("not blocked or redacted: a corrupt event-stream frame")
                out.append(data[at:])
                at = len(data)
                break
            if len(data) - at < total:
                break
            out.extend(self._frame(data[at : at + total], headers_length))
            at += total
            if self.ended:
                break
        self._pending = data[at:] if not self.ended else b""
        return b"".join(out)

    def flush(self) -> bytes:
        if self.ended:
            return b""
        rest, self._pending = self._pending, b""
        held = [self._held_frame(index) for index in list(self._windows)]
        if self._guard.blocked_by is not None:
            self.ended = True
            return exception_frame(self._guard.blocked_by)
        return b"".join(frame_bytes for frame_bytes in held if frame_bytes) + rest

    def _frame(self, raw: bytes, headers_length: int) -> list[bytes]:
        header_bytes = raw[_PRELUDE : _PRELUDE + headers_length]
        headers = _headers(header_bytes)
        if headers.get(":message-type", "event") != "event":
            return [raw]
        kind = headers.get(":event-type", "")
        payload = _loads(raw[_PRELUDE + headers_length : -4])
        if not isinstance(payload, dict):
            return [raw]
        if self.invoke:
            return self._invoke_chunk(raw, header_bytes, kind, payload)
        index = payload.get("contentBlockIndex", 0)
        if kind == "contentBlockDelta":
            delta = payload.get("delta")
            if not (isinstance(delta, dict) and isinstance(delta.get("text"), str) and isinstance(index, int)):
                return [raw]
            original = delta["text"]
            released = self._window(index, ("output", "message", "content", index, "text")).push(original)
            self._header_bytes[index] = header_bytes
            return self._changed(
                raw, header_bytes, {**payload, "delta": {**delta, "text": released}}, released != original
            )
        if kind == "contentBlockStop" and isinstance(index, int) and index in self._windows:
            held = self._held_frame(index)
            return [held, raw] if held else self._blocked_or([raw])
        return [raw]

    def _invoke_chunk(self, raw: bytes, header_bytes: bytes, kind: str, payload: dict[str, Any]) -> list[bytes]:
        encoded = payload.get("bytes")
        if kind != "chunk" or not isinstance(encoded, str):
            return [raw]
        try:
            inner = orjson.loads(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            return [raw]
        if not isinstance(inner, dict) or not str(inner.get("type", "")).startswith(("content_block", "message")):
            note = "not blocked or redacted: this Bedrock model family's stream is not read by guardrails"
            if note not in self._guard.notes:
                self._guard.notes.append(note)
            return [raw]
        index = inner.get("index", 0)
        if not isinstance(index, int):
            return [raw]
        delta = inner.get("delta")
        if inner.get("type") == "content_block_delta" and isinstance(delta, dict) and delta.get("type") == "text_delta":
            original = delta.get("text")
            if not isinstance(original, str):
                return [raw]
            released = self._window(index, ("content", index, "text")).push(original)
            self._header_bytes[index] = header_bytes
            changed = {**payload, "bytes": _b64({**inner, "delta": {**delta, "text": released}})}
            return self._changed(raw, header_bytes, changed, released != original)
        if inner.get("type") == "content_block_stop" and index in self._windows:
            held = self._held_frame(index)
            return [held, raw] if held else self._blocked_or([raw])
        return [raw]

    def _window(self, index: int, path: tuple[str | int, ...]) -> TextWindow:
        found = self._windows.get(index)
        if found is None:
            found = self._windows[index] = self._guard.window(path)
        return found

    def _changed(self, raw: bytes, header_bytes: bytes, payload: dict[str, Any], changed: bool) -> list[bytes]:
        if self._guard.blocked_by is not None:
            return self._blocked_or([])
        return [frame(header_bytes, orjson.dumps(payload)) if changed else raw]

    def _blocked_or(self, frames: list[bytes]) -> list[bytes]:
        if self._guard.blocked_by is None:
            return frames
        self.ended = True
        return [exception_frame(self._guard.blocked_by)]

    def _held_frame(self, index: int) -> bytes:
        """What channel `index` still holds, as one delta frame of the stream's own kind."""
        rest = self._windows.pop(index).close()
        if not rest or self._guard.blocked_by is not None:
            return b""
        header_bytes = self._header_bytes[index]
        if self.invoke:
            inner = {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": rest}}
            return frame(header_bytes, orjson.dumps({"bytes": _b64(inner)}))
        return frame(header_bytes, orjson.dumps({"contentBlockIndex": index, "delta": {"text": rest}}))


def _b64(value: Any) -> str:
    return base64.b64encode(orjson.dumps(value)).decode()


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
