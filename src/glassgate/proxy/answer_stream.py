"""Block and redact inside a streamed answer, event by event, in the vendor's own SSE format.

Only the events that carry generated text are parsed and, when their text changes,
re-serialised; every other event is relayed byte for byte. Each text channel (a choice, a
content block, an output item's part) goes through a `TextWindow`, which holds back only
the tail a match could still grow into; what is held is sent in a delta of the same shape
just before the event that ends the channel. A match of a `block` policy ends the stream
with the vendor's own error event, which the SDKs raise as an error.

- OpenAI / Azure Chat Completions: `choices[i].delta.content` (legacy: `choices[i].text`);
  a choice ends with its `finish_reason`, the stream with `[DONE]`.
- OpenAI Responses: `response.output_text.delta`; the `*.done` and `response.completed`
  events repeat the whole text, so the values already redacted are replaced there too.
- Anthropic Messages: `content_block_delta` with a `text_delta`; a block ends with
  `content_block_stop`. Thinking is signed by the vendor and relayed as it came.

Every event comes out twice, (to the client, to the span): the same bytes unless this call
restores its request's placeholders (guardrails.answers), when the client's copy has the
values and the span's keeps the placeholders. Each copy is the raw event when its text did
not change, and is re-serialised only when it did.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

import orjson

from glassgate.guardrails.answers import AnswerGuard, Released, TextWindow
from glassgate.guardrails.placeholders import Restorer
from glassgate.proxy.answer_eventstream import EventStreamAnswerGuard
from glassgate.proxy.sse import complete_events_end, split_event_blocks
from glassgate.proxy.vendors.anthropic import operation_for as anthropic_operation
from glassgate.proxy.vendors.bedrock import route_of as bedrock_route_of
from glassgate.proxy.vendors.openai import operation_for as openai_operation

Pair = tuple[bytes, bytes]  # one event as the client receives it, and as the span keeps it
Emit = list[Pair]
# A text a dialect changes in a parsed event: (the dict holding it, its key, the text as it
# came (None: not there), the client's text, the span's text).
Edit = tuple[dict[str, Any], str, str | None, str, str]


def _parse_block(block: bytes) -> tuple[str, bytes] | None:
    """(event name, data) of one raw SSE event with a single data line; None otherwise."""
    event, data, lines = "", None, block.splitlines()
    for line in lines:
        if line.startswith(b"data:"):
            if data is not None:
                return None
            data = line[5:].lstrip(b" ")
        elif line.startswith(b"event:"):
            event = line[6:].strip().decode("utf-8", "replace")
    return (event, data) if data is not None else None


def _event(name: str | None, payload: Any) -> bytes:
    head = f"event: {name}\n".encode() if name else b""
    return head + b"data: " + orjson.dumps(payload) + b"\n\n"


def _edited(name: str | None, block: bytes, payload: Any, edits: list[Edit]) -> Pair:
    """The event for the client and for the span: the raw block for a copy whose texts are as
    they came, else `payload` re-serialised with that copy's texts (set in place)."""
    pair: list[bytes] = []
    for side in (3, 4):
        if all(edit[side] == edit[2] for edit in edits):
            pair.append(block)
            continue
        if side == 4 and all(edit[3] == edit[4] for edit in edits):
            pair.append(pair[0])
            continue
        for edit in edits:
            edit[0][edit[1]] = edit[side]
        pair.append(_event(name, payload))
    return pair[0], pair[1]


def _pair(name: str | None, make: Callable[[str], Any], released: Released) -> Pair:
    """A new event carrying released text, once per copy (once only when both are the same)."""
    client = _event(name, make(released[0]))
    return client, client if released[1] == released[0] else _event(name, make(released[1]))


class _Dialect:
    """One vendor's text-bearing events. `handle` returns the events to relay for one event."""

    marker: bytes = b""  # an event without these bytes carries no text and ends no channel

    def __init__(self, guard: AnswerGuard) -> None:
        self.guard = guard
        self.windows: dict[Any, TextWindow] = {}

    def window(self, key: Any, path: tuple[str | int, ...]) -> TextWindow:
        found = self.windows.get(key)
        if found is None:
            found = self.windows[key] = self.guard.window(path)
        return found

    def handle(self, name: str, data: bytes, block: bytes) -> Emit:
        raise NotImplementedError

    def finish(self) -> Emit:
        """At the end of the stream: whatever is still held, in events of the vendor's shape."""
        return []

    def error_event(self, message: str) -> bytes:
        raise NotImplementedError


class _ChatDialect(_Dialect):
    marker = b"choices"

    def __init__(self, guard: AnswerGuard, *, legacy: bool) -> None:
        super().__init__(guard)
        self.key = "text" if legacy else "content"
        self.template: dict[str, Any] | None = None

    def handle(self, name: str, data: bytes, block: bytes) -> Emit:
        if data.strip() == b"[DONE]":
            return [*self.finish(), (block, block)]
        payload = _loads(data)
        if not isinstance(payload, dict) or not isinstance(payload.get("choices"), list):
            return [(block, block)]
        self.template = payload
        edits: list[Edit] = []
        for choice in payload["choices"]:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            holder = choice if self.key == "text" else choice.get("delta")
            if isinstance(holder, dict) and isinstance(holder.get(self.key), str):
                path: tuple[str | int, ...] = (
                    ("choices", index, "message", "content") if self.key == "content" else ("choices", index, "text")
                )
                window = self.window(index, path)
                original = holder[self.key]
                client, stored = window.push(original)
                if choice.get("finish_reason") is not None:
                    rest_client, rest_stored = window.close()
                    client, stored = client + rest_client, stored + rest_stored
                if client != original or stored != original:
                    edits.append((holder, self.key, original, client, stored))
            elif choice.get("finish_reason") is not None and index in self.windows:
                rest_client, rest_stored = self.windows[index].close()
                if rest_client or rest_stored:
                    delta = choice.setdefault("delta", {}) if self.key == "content" else choice
                    if isinstance(delta, dict):
                        edits.append((delta, self.key, None, rest_client, rest_stored))
        if self.guard.blocked_by is not None:
            return []
        return [_edited(None, block, payload, edits) if edits else (block, block)]

    def finish(self) -> Emit:
        out: Emit = []
        for index, window in self.windows.items():
            rest = window.close()
            if rest[1] and self.template is not None:
                out.append(_pair(None, partial(self._held_chunk, index), rest))
        return out

    def _held_chunk(self, index: int, text: str) -> dict[str, Any]:
        assert self.template is not None
        payload = copy.deepcopy(self.template)
        choice: dict[str, Any] = {"index": index, "finish_reason": None}
        if self.key == "content":
            choice["delta"] = {"content": text}
        else:
            choice["text"] = text
        payload["choices"] = [choice]
        payload.pop("usage", None)
        return payload

    def error_event(self, message: str) -> bytes:
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": "guardrail_blocked"}
        return _event(None, {"error": error})


class _ResponsesDialect(_Dialect):
    marker = b'"'  # every event may repeat the text (done, completed): all are looked at

    def __init__(self, guard: AnswerGuard) -> None:
        super().__init__(guard)
        self.last_delta: dict[Any, dict[str, Any]] = {}
        self.sequence = 0

    def handle(self, name: str, data: bytes, block: bytes) -> Emit:
        payload = _loads(data)
        if not isinstance(payload, dict):
            return [(block, block)]
        kind = payload.get("type", name)
        if isinstance(payload.get("sequence_number"), int):
            self.sequence = payload["sequence_number"]
        key = (payload.get("item_id"), payload.get("content_index", 0))
        if kind == "response.output_text.delta" and isinstance(payload.get("delta"), str):
            path = ("output", payload.get("output_index", 0), "content", key[1], "text")
            original = payload["delta"]
            client, stored = self.window(key, path).push(original)
            self.last_delta[key] = payload
            if self.guard.blocked_by is not None:
                return []
            if client == original and stored == original:
                return [(block, block)]
            return [_edited(name or None, block, payload, [(payload, "delta", original, client, stored)])]
        out: Emit = []
        if kind == "response.output_text.done" and key in self.windows:
            rest = self.windows[key].close()
            if rest[1] and key in self.last_delta:
                template = self.last_delta[key]
                out.append(_pair("response.output_text.delta", lambda text: {**template, "delta": text}, rest))
        if self.guard.blocked_by is not None:
            return []
        # The final events repeat the whole text: as the span keeps it (values an output policy
        # redacted replaced again), and for the client with the placeholders restored.
        stored_payload: Any = payload
        if self.guard.placeholders and b'"text"' in block:
            stored_payload = _replace_strings(payload, self.guard.placeholders.replace_known)
        to_span = block if stored_payload == payload else _event(name or None, stored_payload)
        to_client = to_span
        restorer = self.guard.restorer
        if restorer is not None and b"<" in block:
            restored = _restore_output_texts(stored_payload, restorer)
            if restored is not stored_payload:
                to_client = _event(name or None, restored)
        out.append((to_client, to_span))
        return out

    def error_event(self, message: str) -> bytes:
        payload = {
            "type": "error",
            "code": "guardrail_blocked",
            "message": message,
            "param": None,
            "sequence_number": self.sequence + 1,
        }
        return _event("error", payload)


class _AnthropicDialect(_Dialect):
    marker = b"content_block_"

    def handle(self, name: str, data: bytes, block: bytes) -> Emit:
        payload = _loads(data)
        if not isinstance(payload, dict):
            return [(block, block)]
        kind = payload.get("type", name)
        index = payload.get("index", 0)
        if kind == "content_block_delta":
            delta = payload.get("delta")
            if not (
                isinstance(delta, dict) and delta.get("type") == "text_delta" and isinstance(delta.get("text"), str)
            ):
                return [(block, block)]
            original = delta["text"]
            client, stored = self.window(index, ("content", index, "text")).push(original)
            if self.guard.blocked_by is not None:
                return []
            if client == original and stored == original:
                return [(block, block)]
            return [_edited(name or kind, block, payload, [(delta, "text", original, client, stored)])]
        if kind == "content_block_stop" and index in self.windows:
            rest = self.windows[index].close()
            if self.guard.blocked_by is not None:
                return []
            if rest[1]:
                return [_pair("content_block_delta", partial(_text_delta, index), rest), (block, block)]
        return [(block, block)]

    def error_event(self, message: str) -> bytes:
        return _event("error", {"type": "error", "error": {"type": "invalid_request_error", "message": message}})


def _text_delta(index: int, text: str) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def _replace_strings(value: Any, replace: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return replace(value)
    if isinstance(value, dict):
        return {key: _replace_strings(item, replace) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_strings(item, replace) for item in value]
    return value


_OUTPUT_TEXTS = ("output_text", "response.output_text.done")  # the `type`s whose `text` the deltas wrote


def _restore_output_texts(value: Any, restorer: Restorer) -> Any:
    """`value` with this call's placeholders restored in the text of each output_text part (the
    channels the deltas restored), and nowhere else; the same object when nothing changes."""
    if isinstance(value, dict):
        changed: dict[str, Any] = {}
        for key, item in value.items():
            if key == "text" and isinstance(item, str) and value.get("type") in _OUTPUT_TEXTS:
                restored: Any = restorer.restore(item)
                if restored != item:
                    changed[key] = restored
            elif isinstance(item, dict | list):
                restored = _restore_output_texts(item, restorer)
                if restored is not item:
                    changed[key] = restored
        return {**value, **changed} if changed else value
    if isinstance(value, list):
        items = [_restore_output_texts(item, restorer) for item in value]
        return items if any(new is not old for new, old in zip(items, value, strict=True)) else value
    return value


class StreamGuard(Protocol):
    ended: bool

    def feed(self, chunk: bytes) -> Pair:
        """(to relay to the client, to capture for the span) for one chunk of the answer."""
        ...

    def flush(self) -> Pair: ...


def stream_guard_for(vendor: str, path: str, guard: AnswerGuard) -> StreamGuard | None:
    """The guard for a call's streamed answer, or None when its format cannot be guarded."""
    if vendor == "bedrock":
        operation = bedrock_route_of(path.split("?", 1)[0]).operation
        if operation in ("converse_stream", "invoke_stream"):
            return EventStreamAnswerGuard(guard, invoke=operation == "invoke_stream")
        return None
    dialect = dialect_for(vendor, path, guard)
    return AnswerStreamGuard(dialect) if dialect is not None else None


def dialect_for(vendor: str, path: str, guard: AnswerGuard) -> _Dialect | None:
    """The SSE dialect of a call, or None when its stream cannot be guarded."""
    route = path.split("?", 1)[0]
    if vendor in ("openai", "azure"):
        operation = openai_operation("POST", route)
        if operation == "chat":
            return _ChatDialect(guard, legacy=False)
        if operation == "completions":
            return _ChatDialect(guard, legacy=True)
        if operation == "responses":
            return _ResponsesDialect(guard)
        return None
    if vendor == "anthropic" and anthropic_operation("POST", route) == "messages":
        return _AnthropicDialect(guard)
    return None


class AnswerStreamGuard:
    """Feeds an SSE answer through a dialect: `feed` each chunk, relay what it returns; after
    `ended` is set (a block), relay nothing more and close the stream."""

    __slots__ = ("_dialect", "_pending", "ended")

    def __init__(self, dialect: _Dialect) -> None:
        self._dialect = dialect
        self._pending = b""
        self.ended = False

    def feed(self, chunk: bytes) -> Pair:
        if self.ended:
            return b"", b""
        data = self._pending + chunk if self._pending else chunk
        end = complete_events_end(data)
        self._pending = data[end:]
        return self._relay(data[:end])

    def flush(self) -> Pair:
        if self.ended:
            return b"", b""
        rest, self._pending = self._pending, b""
        client, stored = self._relay(rest) if rest else (b"", b"")
        if self.ended:
            return client, stored
        tail = self._dialect.finish()
        if self._dialect.guard.blocked_by is not None:  # the last held text completed a match
            self.ended = True
            error = self._dialect.error_event(self._dialect.guard.blocked_by)
            return client + error, stored + error
        return client + b"".join(pair[0] for pair in tail), stored + b"".join(pair[1] for pair in tail)

    def _relay(self, ready: bytes) -> Pair:
        if not ready:
            return b"", b""
        dialect = self._dialect
        client: list[bytes] = []
        stored: list[bytes] = []
        for block in split_event_blocks(ready):
            if dialect.marker not in block and not block.rstrip().endswith(b"[DONE]"):
                client.append(block)
                stored.append(block)
                continue
            parsed = _parse_block(block)
            emitted = dialect.handle(*parsed, block) if parsed is not None else [(block, block)]
            if dialect.guard.blocked_by is not None:
                error = dialect.error_event(dialect.guard.blocked_by)
                client.append(error)
                stored.append(error)
                self.ended = True
                break
            for to_client, to_span in emitted:
                client.append(to_client)
                stored.append(to_span)
        relayed = b"".join(client)
        return relayed, relayed if dialect.guard.restorer is None else b"".join(stored)
