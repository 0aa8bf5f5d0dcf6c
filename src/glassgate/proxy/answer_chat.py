"""OpenAI and Azure Chat Completions (and legacy Completions) answer streams, guarded.

Each piece of text a choice writes is a channel of its own: its answer (`delta.content`;
legacy: `choices[i].text`), a refusal (`delta.refusal`) and reasoning where a model streams it
as plain text (`delta.reasoning_content`: DeepSeek, Azure AI; `delta.reasoning`: gpt-oss).
Unlike Anthropic's thinking, that reasoning is not signed, so redacting it breaks nothing, and
the non-streamed answer's `message` has the same fields redacted. So are each tool call's
arguments (`delta.tool_calls[j].function.arguments`, JSON text in fragments, keyed by the
call's `index`; the older `delta.function_call.arguments`). A choice's channels end with its
`finish_reason` (its reasoning already with the first piece of its answer), the stream with
`[DONE]`: what they held goes out just before, in a chunk of the same shape.

Bedrock's Mistral chat-form chunks write each piece in `choices[i].message` rather than
`delta`, and end a choice with `stop_reason`: read the same way, answered in the same shape.
"""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

from glassgate.guardrails.answers import AnswerGuard
from glassgate.proxy.answer_events import (
    ChannelReader,
    Edit,
    Emit,
    Framing,
    Path,
    edited,
    loads,
    pushed,
    released_event,
)
from glassgate.proxy.answer_sse import Dialect, SseFraming, sse_event
from glassgate.proxy.vendors.bedrock_common import METRICS_KEY

_FRAMING = SseFraming(None, named=False)  # chat streams write `data:` lines only
_LEGACY_CALL = "function_call"  # the key of a choice's one legacy function call, among tool call indexes
_CHAT_TEXTS = ("content", "refusal", "reasoning_content", "reasoning")  # a delta's text channels
_LEGACY_TEXTS = ("text",)
_REASONING = ("reasoning_content", "reasoning")
ChannelKey = tuple[int, str]  # (choice index, the field its text is in)


class ChatChoices(ChannelReader):
    """The channels of Chat Completions chunks, read one parsed chunk at a time."""

    def __init__(self, guard: AnswerGuard, *, legacy: bool) -> None:
        super().__init__(guard)
        self.legacy = legacy
        self.template: dict[str, Any] | None = None  # the last chunk: the shape of one that sends what was held
        self.holder = "delta"  # where a choice's pieces are: `delta`, or `message` (Bedrock's Mistral)

    def event(self, payload: dict[str, Any], raw: bytes, framing: Framing) -> Emit:
        """`payload` has a list of `choices`."""
        self.template = payload
        edits: list[Edit] = []
        for choice in payload["choices"]:
            if isinstance(choice, dict):
                self._choice(choice, edits)
        if self.guard.blocked_by is not None:
            return []
        return [edited(raw, payload, edits, framing)]

    def finish(self, framing: Framing) -> Emit:
        """At the end of the stream: what the channels still hold, in chunks of their own."""
        out: Emit = []
        if self.template is not None:
            for key, window in self.texts.items():
                rest = window.close()
                if rest[1]:
                    out.append(released_event("", partial(self._held_text, key), rest, framing))
            for key, call in self.calls.items():
                rest = call.close()
                if rest[1]:
                    out.append(released_event("", partial(self._held_call, key), rest, framing))
        self.texts.clear()
        self.calls.clear()
        return out

    def _choice(self, choice: dict[str, Any], edits: list[Edit]) -> None:
        index = choice["index"] if isinstance(choice.get("index"), int) else 0
        finished = choice.get("finish_reason") is not None or choice.get("stop_reason") is not None
        if not self.legacy and "delta" not in choice and isinstance(choice.get("message"), dict):
            self.holder = "message"
        holder = choice if self.legacy else choice.get(self.holder)
        # Models reason first, then answer: the answer's first piece ends the reasoning, so its
        # held tail goes out now, not after the whole answer.
        answering = isinstance(holder, dict) and bool(holder.get("content")) and isinstance(holder["content"], str)
        for key in _LEGACY_TEXTS if self.legacy else _CHAT_TEXTS:
            ends = finished or (answering and key in _REASONING)
            self._text((index, key), choice, holder, edits, ends)
        if not self.legacy and isinstance(holder, dict):
            self._calls(index, holder, edits, finished)
        if finished:
            self._end_calls(index, choice, edits)

    def _text(self, key: ChannelKey, choice: dict[str, Any], holder: object, edits: list[Edit], finished: bool) -> None:
        """One text channel of a choice: its piece in this chunk, and all it held if it ends here."""
        field = key[1]
        if isinstance(holder, dict) and isinstance(holder.get(field), str):
            path = ("choices", key[0], "text") if self.legacy else ("choices", key[0], "message", field)
            pushed(self.text(key, path), holder, field, edits, closing=finished)
            if finished:
                del self.texts[key]
        elif finished and key in self.texts:
            rest_client, rest_stored = self.texts.pop(key).close()
            if rest_client or rest_stored:
                edits.append((self._holder_of(choice), field, None, rest_client, rest_stored))

    def _holder_of(self, choice: dict[str, Any]) -> dict[str, Any]:
        """The dict a choice's pieces go in, made when the chunk has none (a bare finish)."""
        if self.legacy:
            return choice
        holder = choice.get(self.holder)
        if not isinstance(holder, dict):
            holder = choice[self.holder] = {}
        return holder

    def _calls(self, index: int, delta: dict[str, Any], edits: list[Edit], finished: bool) -> None:
        """Each tool call's fragment of arguments in this delta."""
        calls = delta.get("tool_calls")
        for position, call in enumerate(calls if isinstance(calls, list) else []):
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                number = call["index"] if isinstance(call.get("index"), int) else position
                path: Path = ("choices", index, "message", "tool_calls", number, "function", "arguments")
                self._push_call((index, number), path, function, edits, finished)
        legacy = delta.get(_LEGACY_CALL)
        if isinstance(legacy, dict) and isinstance(legacy.get("arguments"), str):
            path = ("choices", index, "message", _LEGACY_CALL, "arguments")
            self._push_call((index, _LEGACY_CALL), path, legacy, edits, finished)

    def _push_call(
        self,
        key: tuple[int, int | str],
        path: Path,
        holder: dict[str, Any],
        edits: list[Edit],
        end: bool,
    ) -> None:
        pushed(self.call(key, path, json_text=True), holder, "arguments", edits, closing=end)
        if end:
            del self.calls[key]

    def _end_calls(self, index: int, choice: dict[str, Any], edits: list[Edit]) -> None:
        """The choice finished: its calls not in this chunk send what they held in it."""
        for key in [key for key in self.calls if key[0] == index]:
            rest_client, rest_stored = self.calls.pop(key).close()
            if rest_client or rest_stored:
                function = self._call_entry(self._holder_of(choice), key[1])
                edits.append((function, "arguments", None, rest_client, rest_stored))

    @staticmethod
    def _call_entry(delta: dict[str, Any], number: int | str) -> dict[str, Any]:
        """A new (empty) entry for call `number` in `delta`: the holder of its arguments."""
        function: dict[str, Any] = {}
        if number == _LEGACY_CALL:
            delta[_LEGACY_CALL] = function
        else:
            calls = delta.get("tool_calls")
            if not isinstance(calls, list):
                calls = delta["tool_calls"] = []
            calls.append({"index": number, "function": function})
        return function

    def _held_chunk(self, index: int, choice: dict[str, Any]) -> dict[str, Any]:
        assert self.template is not None
        payload = copy.deepcopy(self.template)
        payload["choices"] = [{"index": index, **choice, "finish_reason": None}]
        payload.pop("usage", None)
        payload.pop(METRICS_KEY, None)  # Bedrock's counts belong to the chunk that carried them
        return payload

    def _held_text(self, key: ChannelKey, text: str) -> dict[str, Any]:
        index, field = key
        return self._held_chunk(index, {"text": text} if self.legacy else {self.holder: {field: text}})

    def _held_call(self, key: tuple[int, int | str], text: str) -> dict[str, Any]:
        delta: dict[str, Any] = {}
        self._call_entry(delta, key[1])["arguments"] = text
        return self._held_chunk(key[0], {self.holder: delta})


class ChatDialect(Dialect):
    marker = b"choices"

    def __init__(self, guard: AnswerGuard, *, legacy: bool) -> None:
        super().__init__(guard)
        self.choices = ChatChoices(guard, legacy=legacy)

    def handle(self, name: str, data: bytes, block: bytes) -> Emit:
        if data.strip() == b"[DONE]":
            return [*self.finish(), (block, block)]
        payload = _loads_chunk(data)
        if payload is None:
            return [(block, block)]
        return self.choices.event(payload, block, _FRAMING)

    def finish(self) -> Emit:
        return self.choices.finish(_FRAMING)

    def error_event(self, message: str) -> bytes:
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": "guardrail_blocked"}
        return sse_event(None, {"error": error})


def _loads_chunk(data: bytes) -> dict[str, Any] | None:
    """A chunk with a list of choices (a usage-only chunk has an empty one); None for anything else."""
    payload = loads(data)
    return payload if isinstance(payload, dict) and isinstance(payload.get("choices"), list) else None
