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

Like the SSE dialects (answer_stream), every frame comes out twice, (to the client, to the
span): different only where this call restores its request's placeholders for the client.
"""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from collections.abc import Callable
from typing import Any

import orjson

from glassgate.guardrails.answers import AnswerGuard, Released, TextWindow

_PRELUDE = 12
_STRING = 7
# The width of each header value type's fixed-size payload (type 6 and 7 carry a u16 length).
_FIXED_WIDTHS = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}
Pair = tuple[bytes, bytes]  # a frame as the client receives it, and as the span keeps it


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

    def feed(self, chunk: bytes) -> Pair:
        if self.ended:
            return b"", b""
        data = self._pending + chunk if self._pending else chunk
        out: list[Pair] = []
        at = 0
        while len(data) - at >= _PRELUDE:
            total, headers_length = struct.unpack_from("!II", data, at)
            if total < _PRELUDE + headers_length + 4:
                # Not a frame we can read: relay the rest as it came; boto3 reports it.
                self._guard.notes.append("not blocked or redacted: a corrupt event-stream frame")
                out.append((data[at:], data[at:]))
                at = len(data)
                break
            if len(data) - at < total:
                break
            out.extend(self._frame(data[at : at + total], headers_length))
            at += total
            if self.ended:
                break
        self._pending = data[at:] if not self.ended else b""
        return _joined(out, restoring=self._guard.restorer is not None)

    def flush(self) -> Pair:
        if self.ended:
            return b"", b""
        rest, self._pending = self._pending, b""
        held = [self._held_frame(index) for index in list(self._windows)]
        if self._guard.blocked_by is not None:
            self.ended = True
            error = exception_frame(self._guard.blocked_by)
            return error, error
        client, stored = _joined(held, restoring=True)
        return client + rest, stored + rest

    def _frame(self, raw: bytes, headers_length: int) -> list[Pair]:
        header_bytes = raw[_PRELUDE : _PRELUDE + headers_length]
        headers = _headers(header_bytes)
        if headers.get(":message-type", "event") != "event":
            return [(raw, raw)]
        kind = headers.get(":event-type", "")
        payload = _loads(raw[_PRELUDE + headers_length : -4])
        if not isinstance(payload, dict):
            return [(raw, raw)]
        if self.invoke:
            return self._invoke_chunk(raw, header_bytes, kind, payload)
        index = payload.get("contentBlockIndex", 0)
        if kind == "contentBlockDelta":
            delta = payload.get("delta")
            if not (isinstance(delta, dict) and isinstance(delta.get("text"), str) and isinstance(index, int)):
                return [(raw, raw)]
            original = delta["text"]
            released = self._window(index, ("output", "message", "content", index, "text")).push(original)
            self._header_bytes[index] = header_bytes
            return self._changed(
                raw, header_bytes, lambda text: {**payload, "delta": {**delta, "text": text}}, original, released
            )
        if kind == "contentBlockStop" and isinstance(index, int) and index in self._windows:
            held = self._held_frame(index)
            return [held, (raw, raw)] if held[1] else self._blocked_or([(raw, raw)])
        return [(raw, raw)]

    def _invoke_chunk(self, raw: bytes, header_bytes: bytes, kind: str, payload: dict[str, Any]) -> list[Pair]:
        encoded = payload.get("bytes")
        if kind != "chunk" or not isinstance(encoded, str):
            return [(raw, raw)]
        try:
            inner = orjson.loads(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            return [(raw, raw)]
        if not isinstance(inner, dict) or not str(inner.get("type", "")).startswith(("content_block", "message")):
            note = "not blocked or redacted: this Bedrock model family's stream is not read by guardrails"
            if note not in self._guard.notes:
                self._guard.notes.append(note)
            return [(raw, raw)]
        index = inner.get("index", 0)
        if not isinstance(index, int):
            return [(raw, raw)]
        delta = inner.get("delta")
        if inner.get("type") == "content_block_delta" and isinstance(delta, dict) and delta.get("type") == "text_delta":
            original = delta.get("text")
            if not isinstance(original, str):
                return [(raw, raw)]
            released = self._window(index, ("content", index, "text")).push(original)
            self._header_bytes[index] = header_bytes

            def rebuilt(text: str) -> dict[str, Any]:
                return {**payload, "bytes": _b64({**inner, "delta": {**delta, "text": text}})}

            return self._changed(raw, header_bytes, rebuilt, original, released)
        if inner.get("type") == "content_block_stop" and index in self._windows:
            held = self._held_frame(index)
            return [held, (raw, raw)] if held[1] else self._blocked_or([(raw, raw)])
        return [(raw, raw)]

    def _window(self, index: int, path: tuple[str | int, ...]) -> TextWindow:
        found = self._windows.get(index)
        if found is None:
            found = self._windows[index] = self._guard.window(path)
        return found

    def _changed(
        self,
        raw: bytes,
        header_bytes: bytes,
        payload_with: Callable[[str], dict[str, Any]],
        original: str,
        released: Released,
    ) -> list[Pair]:
        """The delta frame for each copy: as it came when its text did, else re-framed."""
        if self._guard.blocked_by is not None:
            return self._blocked_or([])
        client, stored = released
        stored_frame = raw if stored == original else frame(header_bytes, orjson.dumps(payload_with(stored)))
        if client == stored:
            return [(stored_frame, stored_frame)]
        client_frame = raw if client == original else frame(header_bytes, orjson.dumps(payload_with(client)))
        return [(client_frame, stored_frame)]

    def _blocked_or(self, frames: list[Pair]) -> list[Pair]:
        if self._guard.blocked_by is None:
            return frames
        self.ended = True
        error = exception_frame(self._guard.blocked_by)
        return [(error, error)]

    def _held_frame(self, index: int) -> Pair:
        """What channel `index` still holds, as one delta frame of the stream's own kind."""
        rest = self._windows.pop(index).close()
        if not rest[1] or self._guard.blocked_by is not None:
            return b"", b""
        header_bytes = self._header_bytes[index]

        def held(text: str) -> bytes:
            if self.invoke:
                inner = {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}
                return frame(header_bytes, orjson.dumps({"bytes": _b64(inner)}))
            return frame(header_bytes, orjson.dumps({"contentBlockIndex": index, "delta": {"text": text}}))

        stored = held(rest[1])
        return (stored if rest[0] == rest[1] else held(rest[0])), stored


def _joined(pairs: list[Pair], *, restoring: bool) -> Pair:
    client = b"".join(pair[0] for pair in pairs)
    return client, b"".join(pair[1] for pair in pairs) if restoring else client


def _b64(value: Any) -> str:
    return base64.b64encode(orjson.dumps(value)).decode()


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
