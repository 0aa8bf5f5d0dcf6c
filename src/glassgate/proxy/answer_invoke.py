"""Bedrock InvokeModel answer streams of the model families that write plain text pieces, guarded.

Inside an invoke `chunk` frame (answer_eventstream) each of these models writes its own JSON
(wire-formats.md §3.2):

- Amazon Titan Text: `{"outputText", "index", …, "completionReason"}`, the text of result
  `index`, ended by a completion reason;
- Meta Llama: `{"generation", …, "stop_reason"}`, one text, ended by a stop reason;
- Mistral, prompt form: `{"outputs": [{"text", "stop_reason"}]}`, one text per output (the chat
  form, `choices[].message`, is read as OpenAI chat chunks: answer_chat);
- Cohere Command R: `{"event_type": "text-generation", "text"}` pieces, then `stream-end`, whose
  `response` repeats the whole answer (`text`, and the model's turn in `chat_history`); the
  older command-text models: `{"generations": [{"text", "finish_reason"}], "is_finished"}`.

Each text is a channel (a `TextWindow`); the chunk that ends it carries what it still held (its
text key added when it had none), and a stream cut short sends what was held in a chunk of the
family's own shape. Cohere's `stream-end` gives each copy the answer as that copy received it,
its search queries (the model's own words) are read whole, and citations (which quote the
answer) have the values an output policy redacted replaced again. Cohere's tool-call events and
retrieved documents are relayed as they came, and the span says so.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from functools import partial
from typing import Any

from glassgate.guardrails.answers import AnswerGuard, Released
from glassgate.proxy.answer_events import ChannelReader, Edit, Emit, Framing, Path, edited, released_event

# Cohere events that carry text Glassgate does not rewrite: tool calls (their arguments also come
# back as objects in later events and in stream-end's response) and retrieved documents.
_COHERE_UNREAD = ("tool-calls-chunk", "tool-calls-generation", "search-results")
_COHERE_ANSWER = "text"  # the key of Command R's one text channel


@dataclass(frozen=True, slots=True)
class Piece:
    """Where a chunk may hold a piece of one text channel: `holder[field]`, and whether the
    chunk ends the channel. `path` is where the assembled answer keeps the text (findings)."""

    key: Hashable
    holder: dict[str, Any]
    field: str
    path: Path
    ends: bool


class PieceReader(ChannelReader):
    """A family whose chunks hold pieces of text (`pieces`); what a channel held when the stream
    was cut short goes out in a chunk made by `held_chunk`."""

    def pieces(self, chunk: dict[str, Any]) -> list[Piece]:
        raise NotImplementedError

    def held_chunk(self, key: Any, text: str) -> dict[str, Any]:
        raise NotImplementedError

    def relayed(self, key: Hashable, original: str, released: Released) -> None:
        """What a channel's piece came as, and what each copy got of it (kept where a later
        event repeats the whole text)."""

    def event(self, chunk: dict[str, Any], raw: bytes, framing: Framing) -> Emit:
        edits: list[Edit] = []
        for piece in self.pieces(chunk):
            self.read(piece, edits)
        if self.guard.blocked_by is not None:
            return []
        return [edited(raw, chunk, edits, framing)]

    def read(self, piece: Piece, edits: list[Edit]) -> None:
        original = piece.holder.get(piece.field)
        if isinstance(original, str):
            window = self.text(piece.key, piece.path)
            client, stored = window.push(original)
            if piece.ends:
                rest_client, rest_stored = self.texts.pop(piece.key).close()
                client, stored = client + rest_client, stored + rest_stored
            self.relayed(piece.key, original, (client, stored))
            if client != original or stored != original:
                edits.append((piece.holder, piece.field, original, client, stored))
        elif piece.ends and piece.key in self.texts:
            client, stored = self.texts.pop(piece.key).close()
            self.relayed(piece.key, "", (client, stored))
            if client or stored:
                edits.append((piece.holder, piece.field, None, client, stored))

    def finish(self, framing: Framing) -> Emit:
        """What the channels still hold (the stream ended before they did), in chunks of their own."""
        out: Emit = []
        for key, window in self.texts.items():
            rest = window.close()
            self.relayed(key, "", rest)
            if rest[1]:
                out.append(released_event("", partial(self.held_chunk, key), rest, framing))
        self.texts.clear()
        return out


class TitanPieces(PieceReader):
    def pieces(self, chunk: dict[str, Any]) -> list[Piece]:
        index = chunk["index"] if isinstance(chunk.get("index"), int) else 0
        ends = chunk.get("completionReason") is not None
        return [Piece(index, chunk, "outputText", ("results", index, "outputText"), ends)]

    def held_chunk(self, key: Any, text: str) -> dict[str, Any]:
        return {"outputText": text, "index": key, "completionReason": None}


class LlamaPieces(PieceReader):
    def pieces(self, chunk: dict[str, Any]) -> list[Piece]:
        return [Piece(0, chunk, "generation", ("generation",), chunk.get("stop_reason") is not None)]

    def held_chunk(self, key: Any, text: str) -> dict[str, Any]:
        return {"generation": text, "stop_reason": None}


class MistralPieces(PieceReader):
    """The prompt form's `outputs`, one channel per output (by `index`, else by position)."""

    def pieces(self, chunk: dict[str, Any]) -> list[Piece]:
        found = []
        for position, output in enumerate(chunk["outputs"]):
            if isinstance(output, dict):
                index = output["index"] if isinstance(output.get("index"), int) else position
                ends = output.get("stop_reason") is not None
                found.append(Piece(index, output, "text", ("outputs", index, "text"), ends))
        return found

    def held_chunk(self, key: Any, text: str) -> dict[str, Any]:
        return {"outputs": [*({"text": ""} for _ in range(key)), {"text": text, "stop_reason": None}]}


class CoherePieces(PieceReader):
    """Command R's text-generation events (one channel) and command-text's generations."""

    def __init__(self, guard: AnswerGuard) -> None:
        super().__init__(guard)
        self.answer = ["", "", ""]  # the answer channel: as the model wrote it, the client's, the span's
        self.read_whole: dict[str, Released] = {}  # repeated texts no piece brought, read once each

    def pieces(self, chunk: dict[str, Any]) -> list[Piece]:
        generations = chunk.get("generations")
        if isinstance(generations, list):
            found = []
            for position, generation in enumerate(generations):
                if isinstance(generation, dict):
                    index = generation["index"] if isinstance(generation.get("index"), int) else position
                    ends = chunk.get("is_finished") is True or generation.get("is_finished") is True
                    ends = ends or generation.get("finish_reason") is not None
                    path = ("generations", index, "text")
                    found.append(Piece(("generations", index), generation, "text", path, ends))
            return found
        if chunk.get("event_type") in (None, "text-generation"):
            return [Piece(_COHERE_ANSWER, chunk, "text", ("text",), False)]
        return []

    def held_chunk(self, key: Any, text: str) -> dict[str, Any]:
        if key == _COHERE_ANSWER:
            return {"is_finished": False, "event_type": "text-generation", "text": text}
        generations: list[dict[str, Any]] = [{"text": ""} for _ in range(key[1])]
        return {"generations": [*generations, {"text": text}], "is_finished": False}

    def relayed(self, key: Hashable, original: str, released: Released) -> None:
        if key == _COHERE_ANSWER:
            self.answer = [self.answer[0] + original, self.answer[1] + released[0], self.answer[2] + released[1]]

    def event(self, chunk: dict[str, Any], raw: bytes, framing: Framing) -> Emit:
        kind = chunk.get("event_type")
        if kind == "stream-end":
            return self._stream_end(chunk, raw, framing)
        if kind in ("citation-generation", "search-queries-generation"):
            edits: list[Edit] = []
            self._citations(chunk.get("citations"), edits)
            self._queries(chunk.get("search_queries"), edits)
            return [] if self.guard.blocked_by is not None else [edited(raw, chunk, edits, framing)]
        if kind in _COHERE_UNREAD:
            self._note(f"not blocked or redacted: Cohere {kind} events")
        return super().event(chunk, raw, framing)

    def _stream_end(self, chunk: dict[str, Any], raw: bytes, framing: Framing) -> Emit:
        """What the answer still held, then stream-end with the answer it repeats as each copy got it."""
        held = self.finish(framing)
        if self.guard.blocked_by is not None:
            return []
        response = chunk.get("response")
        edits: list[Edit] = []
        if isinstance(response, dict):
            answer = response.get("text")
            if isinstance(answer, str):
                self._repeat(response, "text", answer, edits)
                history = response.get("chat_history")
                for turn in history if isinstance(history, list) else []:
                    if isinstance(turn, dict) and turn.get("role") == "CHATBOT" and turn.get("message") == answer:
                        self._repeat(turn, "message", answer, edits)
            self._citations(response.get("citations"), edits)
            self._queries(response.get("search_queries"), edits)
            for key in ("tool_calls", "documents"):
                if response.get(key):
                    self._note(f"not blocked or redacted: Cohere {key} in stream-end")
        if self.guard.blocked_by is not None:
            return []
        return [*held, edited(raw, chunk, edits, framing)]

    def _repeat(self, holder: dict[str, Any], field: str, text: str, edits: list[Edit]) -> None:
        """The whole answer, repeated: as each copy received it in pieces; read here, once, when
        no piece brought it."""
        client, stored = (self.answer[1], self.answer[2]) if text == self.answer[0] else self._whole(text, ("text",))
        if client != text or stored != text:
            edits.append((holder, field, text, client, stored))

    def _whole(self, text: str, path: Path) -> Released:
        """A text no piece brought, read at once: once, however many events repeat it."""
        found = self.read_whole.get(text)
        if found is None:
            window = self.guard.window(path)
            first, rest = window.push(text), window.close()
            found = self.read_whole[text] = (first[0] + rest[0], first[1] + rest[1])
        return found

    def _queries(self, queries: object, edits: list[Edit]) -> None:
        """The model's own search queries (Command R with connectors), each read whole."""
        for index, query in enumerate(queries if isinstance(queries, list) else []):
            text = query.get("text") if isinstance(query, dict) else None
            if isinstance(text, str) and text:
                client, stored = self._whole(text, ("search_queries", index, "text"))
                if client != text or stored != text:
                    edits.append((query, "text", text, client, stored))

    def _citations(self, citations: object, edits: list[Edit]) -> None:
        """A citation quotes the answer: a value an output policy redacted is replaced again."""
        placeholders = self.guard.placeholders
        if not placeholders:
            return
        for citation in citations if isinstance(citations, list) else []:
            quoted = citation.get("text") if isinstance(citation, dict) else None
            if isinstance(quoted, str) and (replaced := placeholders.replace_known(quoted)) != quoted:
                edits.append((citation, "text", quoted, replaced, replaced))

    def _note(self, note: str) -> None:
        if note not in self.guard.notes:
            self.guard.notes.append(note)


def family_of(chunk: dict[str, Any]) -> str | None:
    """The family of a model chunk read here, by its own keys (an ARN can hide the model id)."""
    if "outputText" in chunk:
        return "titan"
    if "generation" in chunk:
        return "llama"
    if isinstance(chunk.get("outputs"), list):
        return "mistral"
    if "event_type" in chunk or "is_finished" in chunk or isinstance(chunk.get("generations"), list):
        return "cohere"
    return None


READERS: dict[str, type[PieceReader]] = {
    "titan": TitanPieces,
    "llama": LlamaPieces,
    "mistral": MistralPieces,
    "cohere": CoherePieces,
}
