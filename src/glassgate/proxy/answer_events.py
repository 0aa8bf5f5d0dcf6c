"""Rewriting one event of a guarded answer stream, whatever its framing (SSE, AWS event stream).

A reader (one per vendor format) finds the channels in an event's parsed payload — a piece of
generated text, a fragment of a tool call's arguments — and pushes each through its window
(`TextWindow`, `ArgumentsWindow`). An event whose channels came out as they went in is relayed
as the bytes it arrived as; one whose text changed is re-serialised by its `Framing`, once per
copy: (to the client, to the span), different only where this call restores its request's
placeholders (guardrails.answers).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

import orjson

from glassgate.guardrails.answers import AnswerGuard, Released, TextWindow
from glassgate.guardrails.arguments import ArgumentsWindow

Pair = tuple[bytes, bytes]  # one event as the client receives it, and as the span keeps it
Emit = list[Pair]
# A string a reader changes in a parsed event: (the dict holding it, its key, the string as it
# came (None: not there), the client's string, the span's string).
Edit = tuple[dict[str, Any], str, str | None, str, str]
Path = tuple[str | int, ...]


class Window(Protocol):
    """A text channel (`TextWindow`) or a tool call's arguments (`ArgumentsWindow`)."""

    def push(self, text: str) -> Released: ...

    def close(self) -> Released: ...


class Framing(Protocol):
    """How one stream writes its events: the event being read again around a new payload, or a
    new event (what a channel held, sent before the event that ends it)."""

    def again(self, payload: Any) -> bytes: ...

    def new(self, kind: str, payload: Any) -> bytes: ...


def loads(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def pushed(window: Window, holder: dict[str, Any], key: str, edits: list[Edit], *, closing: bool = False) -> None:
    """Push the string `holder[key]` through `window` (and close it: the channel ends with this
    event); an edit when what comes out differs from what went in."""
    original = holder[key]
    client, stored = window.push(original)
    if closing:
        rest_client, rest_stored = window.close()
        client, stored = client + rest_client, stored + rest_stored
    if client != original or stored != original:
        edits.append((holder, key, original, client, stored))


def edited(raw: bytes, payload: Any, edits: list[Edit], framing: Framing) -> Pair:
    """The event for the client and for the span: the raw bytes for a copy whose strings are as
    they came, else `payload` re-serialised with that copy's strings (set in place)."""
    if not edits:
        return raw, raw
    pair: list[bytes] = []
    for side in (3, 4):
        if all(edit[side] == edit[2] for edit in edits):
            pair.append(raw)
            continue
        if side == 4 and all(edit[3] == edit[4] for edit in edits):
            pair.append(pair[0])
            continue
        for edit in edits:
            edit[0][edit[1]] = edit[side]
        pair.append(framing.again(payload))
    return pair[0], pair[1]


def released_event(kind: str, make: Callable[[str], Any], released: Released, framing: Framing) -> Pair:
    """A new event carrying released text, once per copy (once only when both are the same)."""
    client = framing.new(kind, make(released[0]))
    return client, client if released[1] == released[0] else framing.new(kind, make(released[1]))


class ChannelReader:
    """The windows of one answer stream's channels, by a key the vendor format gives them."""

    def __init__(self, guard: AnswerGuard) -> None:
        self.guard = guard
        self.texts: dict[Any, TextWindow] = {}
        self.calls: dict[Any, ArgumentsWindow] = {}

    def text(self, key: Any, path: Path) -> TextWindow:
        found = self.texts.get(key)
        if found is None:
            found = self.texts[key] = self.guard.window(path)
        return found

    def call(self, key: Any, path: Path, *, json_text: bool) -> ArgumentsWindow:
        found = self.calls.get(key)
        if found is None:
            found = self.calls[key] = ArgumentsWindow(self.guard, path, json_text=json_text)
        return found


class BlockReader(ChannelReader):
    """Channels that are content blocks, by index (Anthropic, Converse): a block's text or its
    tool call's input, ended by a stop event. What a block held goes out as a new `delta_kind`
    event in the framing of the block's last delta."""

    delta_kind = ""

    def __init__(self, guard: AnswerGuard) -> None:
        super().__init__(guard)
        self.framings: dict[int, Framing] = {}

    @staticmethod
    def text_delta(index: int, text: str) -> Any:
        """The payload of a delta carrying text for block `index`."""
        raise NotImplementedError

    @staticmethod
    def call_delta(index: int, text: str) -> Any:
        """The payload of a delta carrying tool-call input for block `index`."""
        raise NotImplementedError

    def delta(self, index: int, edits: list[Edit], raw: bytes, payload: Any, framing: Framing) -> Emit:
        """The event of a delta of block `index`, its channel pushed (`edits`)."""
        self.framings[index] = framing
        if self.guard.blocked_by is not None:
            return []
        return [edited(raw, payload, edits, framing)]

    def stop(self, index: int, raw: bytes) -> Emit:
        """Block `index` stopped: what it held, then the stop event as it came."""
        held = self.held(index)
        return [] if self.guard.blocked_by is not None else [*held, (raw, raw)]

    def finish(self) -> Emit:
        """At the end of a stream cut short: what the blocks never stopped still hold."""
        return [pair for index in list(self.framings) for pair in self.held(index)]

    def held(self, index: int) -> Emit:
        out: Emit = []
        framing = self.framings.pop(index, None)
        held: list[tuple[Window | None, Callable[[int, str], Any]]] = [
            (self.texts.pop(index, None), self.text_delta),
            (self.calls.pop(index, None), self.call_delta),
        ]
        for window, make in held:
            rest = window.close() if window is not None else ("", "")
            if rest[1] and framing is not None:
                out.append(released_event(self.delta_kind, partial(make, index), rest, framing))
        return out
