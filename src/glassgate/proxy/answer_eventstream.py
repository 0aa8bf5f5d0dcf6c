"""Block and redact inside a Bedrock answer stream (AWS event-stream frames).

Frames are `[total u32][headers u32][prelude crc][headers][payload][message crc]`; a frame
whose text changes is re-framed around its new payload with both CRCs recomputed (only
requests are signed; answer frames are not). Every other frame is relayed byte for byte; a
ConverseStream frame other than a block's delta or stop is not even parsed (an invoke chunk
must be decoded to know what it holds).

- ConverseStream: `contentBlockDelta` text and tool-use input, ended by `contentBlockStop`
  (answer_converse).
- InvokeModelWithResponseStream: `chunk` frames whose base64 `bytes` hold the model's own
  events: Anthropic's (answer_anthropic), Amazon Nova's Converse-like ones (answer_converse),
  OpenAI-style chat chunks (gpt-oss, AI21 Jamba, Mistral's chat form) and completion-style
  ones (`choices[].text`: DeepSeek; answer_chat), text and tool calls alike; and the text
  pieces of Titan Text, Llama, Mistral's prompt form and Cohere (answer_invoke). A chunk in
  any other shape is relayed unchanged and said so on the span. A chunk is re-encoded (and its
  frame rebuilt) only when its text changed.

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
from dataclasses import dataclass
from typing import Any

import orjson

from glassgate.guardrails.answers import AnswerGuard
from glassgate.proxy.answer_anthropic import AnthropicBlocks
from glassgate.proxy.answer_chat import ChatChoices
from glassgate.proxy.answer_converse import DELTA, STOP, ConverseBlocks
from glassgate.proxy.answer_events import Emit, Pair, loads
from glassgate.proxy.answer_invoke import READERS, PieceReader, family_of

_PRELUDE = 12
_STRING = 7
# The width of each header value type's fixed-size payload (type 6 and 7 carry a u16 length).
_FIXED_WIDTHS = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}
# Amazon Nova's invoke chunks name their event by their key, as ConverseStream's frames do.
_NOVA_EVENTS = ("contentBlockDelta", "contentBlockStop", "messageStart", "contentBlockStart", "messageStop", "metadata")
_NOT_READ = "not blocked or redacted: a Bedrock invoke stream chunk of a shape guardrails do not read"
_CHOICE_KEYS = ("delta", "message", "finish_reason", "stop_reason")  # what makes a dict a chat-style choice


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


def _event_headers(kind: str) -> bytes:
    return (
        _string_header(":event-type", kind)
        + _string_header(":content-type", "application/json")
        + _string_header(":message-type", "event")
    )


_CHUNK_HEADERS = _event_headers("chunk")


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


@dataclass(frozen=True, slots=True)
class _EventFraming:
    """ConverseStream: each event its own frame, named by its `:event-type` header."""

    header_bytes: bytes

    def again(self, payload: Any) -> bytes:
        return frame(self.header_bytes, orjson.dumps(payload))

    def new(self, kind: str, payload: Any) -> bytes:
        return frame(_event_headers(kind), orjson.dumps(payload))


@dataclass(frozen=True, slots=True)
class _ChunkFraming:
    """InvokeModel streams: a `chunk` frame, `{"bytes": base64 of the model's chunk, "p": …}`.
    With `key` (Nova), the event is the chunk's value under that key."""

    header_bytes: bytes
    outer: dict[str, Any]
    chunk: dict[str, Any]
    key: str | None = None

    def again(self, payload: Any) -> bytes:
        chunk = payload if self.key is None else {**self.chunk, self.key: payload}
        return frame(self.header_bytes, orjson.dumps({**self.outer, "bytes": _b64(chunk)}))

    def new(self, kind: str, payload: Any) -> bytes:
        chunk = payload if self.key is None else {kind: payload}
        return frame(_CHUNK_HEADERS, orjson.dumps({"bytes": _b64(chunk)}))


_NEW_CHUNKS = _ChunkFraming(_CHUNK_HEADERS, {}, {})  # for chunks that send what was held at the end


class EventStreamAnswerGuard:
    """`feed` each chunk of a Bedrock stream, relay what comes back; `ended` after a block."""

    __slots__ = (
        "_anthropic",
        "_chat",
        "_completions",
        "_converse",
        "_guard",
        "_pending",
        "_pieces",
        "ended",
        "invoke",
    )

    def __init__(self, guard: AnswerGuard, *, invoke: bool) -> None:
        self._guard = guard
        self._pending = b""
        self._converse = ConverseBlocks(guard)  # ConverseStream, and Nova's invoke chunks
        self._anthropic = AnthropicBlocks(guard)
        self._chat = ChatChoices(guard, legacy=False)  # OpenAI-style models (gpt-oss), Mistral's chat form
        self._completions = ChatChoices(guard, legacy=True)  # `choices[].text` (DeepSeek)
        self._pieces: dict[str, PieceReader] = {}  # by family, made at its first chunk
        self.invoke = invoke
        self.ended = False

    def feed(self, chunk: bytes) -> Pair:
        if self.ended:
            return b"", b""
        data = self._pending + chunk if self._pending else chunk
        out: Emit = []
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
            out.extend(self._blocked_or(self._frame(data[at : at + total], headers_length)))
            at += total
            if self.ended:
                break
        self._pending = data[at:] if not self.ended else b""
        return _joined(out, restoring=self._guard.restorer is not None)

    def flush(self) -> Pair:
        if self.ended:
            return b"", b""
        rest, self._pending = self._pending, b""
        held = [*self._converse.finish(), *self._anthropic.finish()]
        held += [*self._chat.finish(_NEW_CHUNKS), *self._completions.finish(_NEW_CHUNKS)]
        for reader in self._pieces.values():
            held += reader.finish(_NEW_CHUNKS)
        if self._guard.blocked_by is not None:
            self.ended = True
            error = exception_frame(self._guard.blocked_by)
            return error, error
        client, stored = _joined(held, restoring=True)
        return client + rest, stored + rest

    def _frame(self, raw: bytes, headers_length: int) -> Emit:
        header_bytes = raw[_PRELUDE : _PRELUDE + headers_length]
        headers = _headers(header_bytes)
        if headers.get(":message-type", "event") != "event":
            return [(raw, raw)]
        kind = headers.get(":event-type", "")
        if kind not in ((DELTA, STOP) if not self.invoke else ("chunk",)):
            return [(raw, raw)]  # carries no channel: not even parsed
        payload = loads(raw[_PRELUDE + headers_length : -4])
        if not isinstance(payload, dict):
            return [(raw, raw)]
        if not self.invoke:
            return self._converse.event(kind, payload, raw, _EventFraming(header_bytes))
        chunk = _model_chunk(payload)
        if chunk is None:
            return [(raw, raw)]
        return self._invoke_chunk(raw, header_bytes, payload, chunk)

    def _invoke_chunk(self, raw: bytes, header_bytes: bytes, outer: dict[str, Any], chunk: dict[str, Any]) -> Emit:
        """One model chunk, read by the reader of its family."""
        framing = _ChunkFraming(header_bytes, outer, chunk)
        if str(chunk.get("type", "")).startswith(("content_block", "message")):
            return self._anthropic.event(chunk, raw, framing)
        nova = next((key for key in _NOVA_EVENTS if isinstance(chunk.get(key), dict)), None)
        if nova is not None:
            return self._converse.event(nova, chunk[nova], raw, _ChunkFraming(header_bytes, outer, chunk, nova))
        choices = chunk.get("choices")
        choices_reader = self._choices_reader(choices) if isinstance(choices, list) else None
        if choices_reader is not None:
            return choices_reader.event(chunk, raw, framing)
        family = family_of(chunk)
        if family is not None:
            reader = self._pieces.get(family)
            if reader is None:
                reader = self._pieces[family] = READERS[family](self._guard)
            return reader.event(chunk, raw, framing)
        if _NOT_READ not in self._guard.notes:
            self._guard.notes.append(_NOT_READ)
        return [(raw, raw)]

    def _choices_reader(self, choices: list[Any]) -> ChatChoices | None:
        """The reader of a chunk's `choices`: completion-style pieces (`text`, no `delta` or
        `message`), chat-style ones (in `delta` or `message`, or a bare finish), or none."""
        if not all(isinstance(choice, dict) for choice in choices):
            return None
        if choices and all("text" in c and "delta" not in c and "message" not in c for c in choices):
            return self._completions
        if all(any(key in choice for key in _CHOICE_KEYS) for choice in choices):
            return self._chat
        return None

    def _blocked_or(self, frames: Emit) -> Emit:
        if self._guard.blocked_by is None:
            return frames
        self.ended = True
        error = exception_frame(self._guard.blocked_by)
        return [(error, error)]


def _model_chunk(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The model's own JSON inside a `chunk` frame's base64 `bytes`; None if there is none."""
    encoded = payload.get("bytes")
    if not isinstance(encoded, str):
        return None
    try:
        chunk = orjson.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        return None
    return chunk if isinstance(chunk, dict) else None


def _joined(pairs: Emit, *, restoring: bool) -> Pair:
    client = b"".join(pair[0] for pair in pairs)
    return client, b"".join(pair[1] for pair in pairs) if restoring else client


def _b64(value: Any) -> str:
    return base64.b64encode(orjson.dumps(value)).decode()
