"""OpenAI Responses answer streams, guarded.

Channels: each part of generated text — output text (`response.output_text.delta`), a refusal
(`response.refusal.delta`), reasoning summaries and reasoning text
(`response.reasoning_summary_text.delta`, `response.reasoning_text.delta`: plain text, not
signed; the reasoning's `encrypted_content` is relayed as it came) — each function or MCP
call's arguments (`response.function_call_arguments.delta`, `response.mcp_call_arguments.delta`:
JSON text), each custom tool call's input (`response.custom_tool_call_input.delta`, free text),
and an MCP call's `output` (what the MCP server answered, which no delta brings: read whole in
the first final event that has it).
The events that end them (`….done`) and the final ones (`response.output_item.done`,
`response.completed`) repeat the whole text: there the span's copy gets the text as relayed
(redactions applied, values an output policy redacted replaced again) and the client's copy its
own (placeholders restored). A call whose text a final event brings without deltas is read
there, whole; one whose item comes without an id (a gateway's) is the call streamed at its
output index. Deltas of any other kind (audio and its transcript, code interpreter code) and
output items of built-in tools (web and file search, code interpreter…) are relayed as they
came, and the span says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from glassgate.guardrails.answers import AnswerGuard, Released
from glassgate.guardrails.arguments import ArgumentsWindow
from glassgate.guardrails.placeholders import Restorer
from glassgate.proxy.answer_events import ChannelReader, Emit, Pair, Window, edited, loads, released_event
from glassgate.proxy.answer_sse import Dialect, SseFraming, sse_event

# Text deltas → (the event that ends the channel, the index of its part, the list the part is in,
# the field that holds the part's text).
_TEXT_DELTAS = {
    "response.output_text.delta": ("response.output_text.done", "content_index", "content", "text"),
    "response.refusal.delta": ("response.refusal.done", "content_index", "content", "refusal"),
    "response.reasoning_summary_text.delta": (
        "response.reasoning_summary_text.done",
        "summary_index",
        "summary",
        "text",
    ),
    "response.reasoning_text.delta": ("response.reasoning_text.done", "content_index", "content", "text"),
}
_TEXT_DONES = {done: delta for delta, (done, *_) in _TEXT_DELTAS.items()}
_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})
# The events of tool calls, and the field that holds their text (arguments: JSON; input: free text).
_CALL_DELTAS = {
    "response.function_call_arguments.delta": "arguments",
    "response.mcp_call_arguments.delta": "arguments",
    "response.custom_tool_call_input.delta": "input",
}
_CALL_DONES = {
    "response.function_call_arguments.done": "arguments",
    "response.mcp_call_arguments.done": "arguments",
    "response.custom_tool_call_input.done": "input",
}
# The text fields of tool call items (an MCP call's `output` is the MCP server's answer, no delta's).
_CALL_ITEMS = {"function_call": ("arguments",), "mcp_call": ("arguments", "output"), "custom_tool_call": ("input",)}
# Output items whose text is read (messages, reasoning: their parts' deltas; calls: above).
_READ_ITEMS = frozenset({"message", "reasoning", *_CALL_ITEMS})
_CALL_MARKERS = (b'"function_call"', b'"mcp_call"', b'"custom_tool_call"')  # an event that may hold call items
# The `type`s of the parts and events whose text the deltas wrote, and the field it is in.
_OUTPUT_TEXTS = {
    "output_text": "text",
    "response.output_text.done": "text",
    "refusal": "refusal",
    "response.refusal.done": "refusal",
    "summary_text": "text",
    "response.reasoning_summary_text.done": "text",
    "reasoning_text": "text",
    "response.reasoning_text.done": "text",
}


@dataclass(slots=True)
class _Call:
    """One tool call's text: its window while it streams, and what each copy got of it."""

    text_field: str  # arguments (JSON text) or input (free text)
    delta_kind: str  # the event its deltas come in
    window: Window | None  # None once the call's text ended
    template: dict[str, Any] | None = None  # its last delta event: the shape of one that sends what was held
    original: list[str] = field(default_factory=list)
    client: list[str] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)

    def record(self, original: str, released: Released) -> None:
        self.original.append(original)
        self.client.append(released[0])
        self.stored.append(released[1])

    def texts(self) -> tuple[str, str, str]:
        """(as the model wrote it, as the client got it, as the span keeps it)."""
        return "".join(self.original), "".join(self.client), "".join(self.stored)


Where = tuple[str] | tuple[str, int]  # a call text's place in an event: ("event",), ("item",), ("output", i)


@dataclass(frozen=True, slots=True)
class CallHolder:
    """A tool call's text in a final event: where, in which field, as it came, and whose."""

    where: Where
    text_field: str
    text: str
    item_id: str
    output_index: int


class ResponsesDialect(Dialect):
    marker = b'"'  # every event may repeat a channel's text (done, completed): all are looked at

    def __init__(self, guard: AnswerGuard) -> None:
        super().__init__(guard)
        self.texts = ChannelReader(guard)
        self.last_delta: dict[Any, dict[str, Any]] = {}
        self.calls: dict[tuple[str, str], _Call] = {}  # by (item id, text field)
        self.call_at: dict[int, str] = {}  # output index → the item id of the call streamed there
        self.sequence = 0

    def handle(self, name: str, data: bytes, block: bytes) -> Emit:
        payload = loads(data)
        if not isinstance(payload, dict):
            return [(block, block)]
        kind = str(payload.get("type", name))
        if isinstance(payload.get("sequence_number"), int):
            self.sequence = payload["sequence_number"]
        framing = SseFraming(name or None, named=True)
        if kind in _TEXT_DELTAS and isinstance(payload.get("delta"), str):
            return self._text_delta(kind, payload, block, framing)
        if kind in _CALL_DELTAS and isinstance(payload.get("delta"), str) and isinstance(payload.get("item_id"), str):
            return self._call_delta(kind, payload, block, framing)
        if kind.endswith(".delta"):
            self._note_unread(f"{kind} events")
        elif kind == "response.output_item.done":
            item_kind = payload["item"].get("type") if isinstance(payload.get("item"), dict) else None
            if item_kind is not None and item_kind not in _READ_ITEMS:
                self._note_unread(f"{item_kind} output items")
        holders = self._call_holders(kind, payload, block)
        out = self._ended(kind, payload, holders, framing)
        final = self._final(name, payload, block, holders) if self.guard.blocked_by is None else None
        if final is None or self.guard.blocked_by is not None:
            return []
        return [*out, final]

    def error_event(self, message: str) -> bytes:
        payload = {
            "type": "error",
            "code": "guardrail_blocked",
            "message": message,
            "param": None,
            "sequence_number": self.sequence + 1,
        }
        return sse_event("error", payload)

    def _note_unread(self, what: str) -> None:
        note = f"not blocked or redacted: {what}"
        if note not in self.guard.notes:
            self.guard.notes.append(note)

    # --- deltas -----------------------------------------------------------------------------------

    def _text_delta(self, kind: str, payload: dict[str, Any], block: bytes, framing: SseFraming) -> Emit:
        _, part_index, parts, text_field = _TEXT_DELTAS[kind]
        key = (kind, payload.get("item_id"), _index(payload.get(part_index)))
        path = ("output", _index(payload.get("output_index")), parts, key[2], text_field)
        original = payload["delta"]
        client, stored = self.texts.text(key, path).push(original)
        self.last_delta[key] = payload
        if self.guard.blocked_by is not None:
            return []
        return [edited(block, payload, [(payload, "delta", original, client, stored)], framing)]

    def _call_delta(self, kind: str, payload: dict[str, Any], block: bytes, framing: SseFraming) -> Emit:
        item_id, text_field = payload["item_id"], _CALL_DELTAS[kind]
        self.call_at[_index(payload.get("output_index"))] = item_id
        call = self.calls.get((item_id, text_field))
        if call is None or call.window is None:
            window = self._window(text_field, payload.get("output_index"))
            call = self.calls[(item_id, text_field)] = _Call(text_field, kind, window)
        assert call.window is not None
        original = payload["delta"]
        client, stored = call.window.push(original)
        call.record(original, (client, stored))
        call.template = payload
        if self.guard.blocked_by is not None:
            return []
        return [edited(block, payload, [(payload, "delta", original, client, stored)], framing)]

    def _window(self, text_field: str, output_index: object) -> Window:
        path = ("output", _index(output_index), text_field)
        if text_field == "arguments":
            return ArgumentsWindow(self.guard, path, json_text=True)
        return self.guard.window(path)

    # --- the events that end channels and repeat their text ----------------------------------------

    def _ended(self, kind: str, payload: dict[str, Any], holders: list[CallHolder], framing: SseFraming) -> Emit:
        """What the channels this event ends still held, as deltas of their kind (before it); a
        terminal event ends them all (a stream whose `….done` events were left out)."""
        delta_kind = _TEXT_DONES.get(kind)
        texts: list[Any] = []
        if delta_kind is not None:
            texts.append((delta_kind, payload.get("item_id"), _index(payload.get(_TEXT_DELTAS[delta_kind][1]))))
        calls = [self.calls.get((holder.item_id, holder.text_field)) for holder in holders]
        if kind in _TERMINAL:
            texts, calls = list(self.texts.texts), list(self.calls.values())
        return self._held(texts, [call for call in calls if call is not None], framing)

    def finish(self) -> Emit:
        """At the end of a stream cut short: what every channel still holds."""
        return self._held(list(self.texts.texts), list(self.calls.values()), SseFraming(None, named=True))

    def _held(self, texts: list[Any], calls: list[_Call], framing: SseFraming) -> Emit:
        """Close these text channels and calls: what they held, as deltas of their kind."""
        out: Emit = []
        for key in texts:
            window = self.texts.texts.pop(key, None)
            rest = window.close() if window is not None else ("", "")
            template = self.last_delta.get(key)
            if rest[1] and template is not None:
                out.append(released_event(key[0], _delta_like(template), rest, framing))
        for call in calls:
            if call.window is None:
                continue
            rest = call.window.close()
            call.window = None
            call.record("", rest)
            if rest[1] and call.template is not None:
                out.append(released_event(call.delta_kind, _delta_like(call.template), rest, framing))
        return out

    def _final(self, name: str, payload: dict[str, Any], block: bytes, holders: list[CallHolder]) -> Pair:
        """The event for each copy: the call texts each got, and the output texts as relayed (the
        span's with the values an output policy redacted replaced again; the client's restored)."""
        client_calls: dict[Where, dict[str, str]] = {}
        stored_calls: dict[Where, dict[str, str]] = {}
        for holder in holders:
            client_text, stored_text = self._final_text(holder)
            client_calls.setdefault(holder.where, {})[holder.text_field] = client_text
            stored_calls.setdefault(holder.where, {})[holder.text_field] = stored_text
        stored: Any = _with_call_texts(payload, stored_calls)
        if self.guard.placeholders and (b'"text"' in block or b'"refusal"' in block):
            stored = _replace_strings(stored, self.guard.placeholders.replace_known)
        to_span = block if stored == payload else sse_event(name or None, stored)
        client: Any = stored
        if self.guard.restorer is not None and b"<" in block:
            client = _restore_output_texts(client, self.guard.restorer)
        client = _with_call_texts(client, client_calls)  # after the span's: restored values stay restored
        return (to_span if client is stored else sse_event(name or None, client)), to_span

    def _final_text(self, holder: CallHolder) -> tuple[str, str]:
        """(the client's, the span's) text of a call a final event repeats: what its deltas
        released; a text no delta brought is read here, whole, once."""
        original = holder.text
        key = (holder.item_id, holder.text_field)
        call = self.calls.get(key)
        if call is not None and call.window is None:
            seen, client, stored = call.texts()
            if seen == original:
                return client, stored
        if not original:
            return original, original
        window = self._window(holder.text_field, holder.output_index)
        first, rest = window.push(original), window.close()
        call = self.calls[key] = _Call(holder.text_field, "", None)
        call.record(original, (first[0] + rest[0], first[1] + rest[1]))
        return call.texts()[1:]

    def _call_holders(self, kind: str, payload: dict[str, Any], block: bytes) -> list[CallHolder]:
        """Where this event holds tool call texts: a `….done` event's own, its `item`'s, or
        its `response.output` items'."""
        found: list[CallHolder] = []
        text_field = _CALL_DONES.get(kind)
        if text_field and isinstance(payload.get(text_field), str):
            index = _index(payload.get("output_index"))
            item_id = self._item_id(payload.get("item_id"), index)
            found.append(CallHolder(("event",), text_field, payload[text_field], item_id, index))
        if not any(marker in block for marker in _CALL_MARKERS):
            return found
        items: list[tuple[Where, object, int]] = [(("item",), payload.get("item"), _index(payload.get("output_index")))]
        response = payload.get("response")
        output = response.get("output") if isinstance(response, dict) else None
        items += [
            (("output", index), item, index) for index, item in enumerate(output if isinstance(output, list) else [])
        ]
        for where, item, index in items:
            if not isinstance(item, dict):
                continue
            for text_field in _CALL_ITEMS.get(str(item.get("type")), ()):
                if isinstance(item.get(text_field), str):
                    item_id = self._item_id(item.get("id"), index)
                    found.append(CallHolder(where, text_field, item[text_field], item_id, index))
        return found

    def _item_id(self, given: object, output_index: int) -> str:
        """A call's item id; for one sent without (a gateway's), the call streamed at its index."""
        if isinstance(given, str):
            return given
        return self.call_at.get(output_index, f"output[{output_index}]")


def _index(value: object) -> int:
    return value if isinstance(value, int) else 0


def _delta_like(template: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
    return lambda text: {**template, "delta": text}


def _with_call_texts(payload: dict[str, Any], texts: Mapping[Where, Mapping[str, str]]) -> dict[str, Any]:
    """`payload` with the call texts at each place in `texts` set ({field: text}): new dicts
    where it changes, the same objects everywhere else (the same payload when nothing does)."""
    if not texts:
        return payload
    changed: dict[str, Any] = {}
    for text_field, text in texts.get(("event",), {}).items():
        if payload.get(text_field) != text:
            changed[text_field] = text
    item = payload.get("item")
    if isinstance(item, dict) and ("item",) in texts and (new_item := _with_text(item, texts[("item",)])) is not item:
        changed["item"] = new_item
    response = payload.get("response")
    output = response.get("output") if isinstance(response, dict) else None
    if isinstance(response, dict) and isinstance(output, list):
        items = [
            _with_text(entry, texts[("output", at)]) if ("output", at) in texts else entry
            for at, entry in enumerate(output)
        ]
        if any(new is not old for new, old in zip(items, output, strict=True)):
            changed["response"] = {**response, "output": items}
    return {**payload, **changed} if changed else payload


def _with_text(item: dict[str, Any], field_texts: Mapping[str, str]) -> dict[str, Any]:
    changed = {text_field: text for text_field, text in field_texts.items() if item.get(text_field) != text}
    return {**item, **changed} if changed else item


def _replace_strings(value: Any, replace: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return replace(value)
    if isinstance(value, dict):
        return {key: _replace_strings(item, replace) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_strings(item, replace) for item in value]
    return value


def _restore_output_texts(value: Any, restorer: Restorer) -> Any:
    """`value` with this call's placeholders restored in the text of each part the deltas wrote
    (output text, refusal, reasoning: the channels the deltas restored), and nowhere else; the
    same object when nothing changes."""
    if isinstance(value, dict):
        changed: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, str) and key == _OUTPUT_TEXTS.get(str(value.get("type"))):
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
