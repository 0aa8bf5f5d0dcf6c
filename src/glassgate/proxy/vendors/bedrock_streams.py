"""Assemble InvokeModelWithResponseStream chunks, per model family, into the non-stream shape.

Each assembler takes the decoded model chunks as (chunk index, JSON) and sets the response,
the chunk that carried the first content (TTFT) and any error the model reported inline.
Token counts are read afterwards from the assembled value by the family's usage function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from glassgate.proxy.vendors.anthropic_stream import settled_usage
from glassgate.proxy.vendors.base import JSONValue, as_int, dig, loads_or_none
from glassgate.proxy.vendors.bedrock_common import Parsed, append_to, text_of
from glassgate.proxy.vendors.bedrock_converse import ConverseAssembler

ModelChunk = tuple[int, dict[str, Any]]
Assembler = Callable[[Sequence[ModelChunk], Parsed], None]


def _mark_content(parsed: Parsed, chunk_index: int) -> None:
    if parsed.first_content_chunk is None:
        parsed.first_content_chunk = chunk_index


def _parsed_input(pieces: list[str], fallback: JSONValue) -> JSONValue:
    """A tool's input object from its streamed JSON pieces; the raw text if it does not parse."""
    joined = "".join(pieces)
    if not joined:
        return fallback if fallback is not None else {}
    value = loads_or_none(joined)
    return value if value is not None else joined


# --- Anthropic: the Messages stream events, one per chunk -----------------------------------------

_ANTHROPIC_DELTAS = {"text_delta": "text", "thinking_delta": "thinking"}


def _anthropic_delta(block: dict[str, Any], pieces: list[str], delta: dict[str, Any]) -> bool:
    """Fold one content_block_delta into its block; True when it carried output."""
    kind = delta.get("type")
    if isinstance(kind, str) and kind in _ANTHROPIC_DELTAS:
        key = _ANTHROPIC_DELTAS[kind]
        piece = delta.get(key)
        if isinstance(piece, str):
            block[key] = str(block.get(key) or "") + piece
            return bool(piece)
    elif kind == "input_json_delta" and isinstance(delta.get("partial_json"), str):
        pieces.append(delta["partial_json"])
        return bool(delta["partial_json"])
    elif kind == "signature_delta" and isinstance(delta.get("signature"), str):
        block["signature"] = delta["signature"]
    elif kind == "citations_delta" and "citation" in delta:
        append_to(block, "citations", delta["citation"])
    return False


def _anthropic_message_delta(message: dict[str, Any], chunk: dict[str, Any]) -> None:
    delta = chunk.get("delta")
    if isinstance(delta, dict):
        message.update({key: delta[key] for key in ("stop_reason", "stop_sequence") if key in delta})
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        # message_delta counts are cumulative: they replace message_start's.
        current = message.get("usage")
        message["usage"] = {**(current if isinstance(current, dict) else {}), **usage}


def assemble_anthropic(chunks: Sequence[ModelChunk], parsed: Parsed) -> None:
    message: dict[str, Any] = {"type": "message", "role": "assistant"}
    blocks: dict[int, dict[str, Any]] = {}
    inputs: dict[int, list[str]] = {}
    final_usage = False  # a message_delta brought the usage: the count of the whole answer
    for chunk_index, chunk in chunks:
        kind = chunk.get("type")
        index = as_int(chunk.get("index")) or 0
        if kind == "message_start" and isinstance(chunk.get("message"), dict):
            message.update({key: value for key, value in chunk["message"].items() if key != "content"})
        elif kind == "content_block_start" and isinstance(chunk.get("content_block"), dict):
            blocks[index] = dict(chunk["content_block"])
        elif kind == "content_block_delta" and isinstance(chunk.get("delta"), dict):
            block = blocks.setdefault(index, {"type": "text", "text": ""})
            if _anthropic_delta(block, inputs.setdefault(index, []), chunk["delta"]):
                _mark_content(parsed, chunk_index)
        elif kind == "message_delta":
            _anthropic_message_delta(message, chunk)
            final_usage = final_usage or isinstance(chunk.get("usage"), dict)
        elif kind == "error":
            error = chunk.get("error")
            parsed.fail(text_of(dig(error, "message")) or "error in stream", text_of(dig(error, "type")))
    for index, block in blocks.items():
        if block.get("type") in ("tool_use", "server_tool_use") or inputs.get(index):
            block["input"] = _parsed_input(inputs.get(index, []), block.get("input"))
    message["content"] = [blocks[index] for index in sorted(blocks)]
    if isinstance(message.get("usage"), dict):
        message["usage"] = settled_usage(message["usage"], final=final_usage)
    parsed.response = message


# --- Amazon Nova: Converse events as JSON keys ---------------------------------------------------


def assemble_nova(chunks: Sequence[ModelChunk], parsed: Parsed) -> None:
    assembler = ConverseAssembler()
    for chunk_index, chunk in chunks:
        assembler.feed_nova_chunk(chunk_index, chunk)
    parsed.response = assembler.response()
    parsed.first_content_chunk = assembler.first_content_chunk


# --- Titan Text, Llama: one text piece per chunk, counts alongside -----------------------------


def _last(chunks: Sequence[ModelChunk], key: str) -> JSONValue:
    """The last non-null value of a key: stop reasons and cumulative counts arrive at the end."""
    values = [chunk[key] for _, chunk in chunks if chunk.get(key) is not None]
    return values[-1] if values else None


def _first(chunks: Sequence[ModelChunk], key: str) -> JSONValue:
    return next((chunk[key] for _, chunk in chunks if chunk.get(key) is not None), None)


def _join_text(chunks: Sequence[ModelChunk], parsed: Parsed, read: Callable[[dict[str, Any]], JSONValue]) -> str:
    pieces: list[str] = []
    for chunk_index, chunk in chunks:
        piece = read(chunk)
        if isinstance(piece, str) and piece:
            pieces.append(piece)
            _mark_content(parsed, chunk_index)
    return "".join(pieces)


def assemble_titan(chunks: Sequence[ModelChunk], parsed: Parsed) -> None:
    result = {
        "tokenCount": _last(chunks, "totalOutputTextTokenCount"),
        "outputText": _join_text(chunks, parsed, lambda chunk: chunk.get("outputText")),
        "completionReason": _last(chunks, "completionReason"),
    }
    parsed.response = {"inputTextTokenCount": _first(chunks, "inputTextTokenCount"), "results": [result]}


def assemble_llama(chunks: Sequence[ModelChunk], parsed: Parsed) -> None:
    parsed.response = {
        "generation": _join_text(chunks, parsed, lambda chunk: chunk.get("generation")),
        "prompt_token_count": _first(chunks, "prompt_token_count"),
        "generation_token_count": _last(chunks, "generation_token_count"),  # cumulative per chunk
        "stop_reason": _last(chunks, "stop_reason"),
    }


# --- Mistral and OpenAI-style models: `outputs[]` or `choices[]` per chunk ------------------------


def _output_choice(choice: dict[str, Any], piece: dict[str, Any]) -> bool:
    """Fold a chunk's choice into the assembled one; True when it carried output.

    OpenAI-style chunks put the piece in `delta`, Mistral's chat form in `message`, and the old
    prompt form (and DeepSeek) in `text`; the finish arrives as `finish_reason` or `stop_reason`.
    """
    for key in ("finish_reason", "stop_reason"):  # kept under the key the model used
        if piece.get(key) is not None:
            choice[key] = piece[key]
    carried = False
    if isinstance(piece.get("text"), str) and piece["text"]:
        choice["text"] = str(choice.get("text") or "") + piece["text"]
        carried = True
    delta = piece.get("delta") if isinstance(piece.get("delta"), dict) else piece.get("message")
    if isinstance(delta, dict):
        message = choice.setdefault("message", {"role": "assistant", "content": None})
        message["role"] = text_of(delta.get("role")) or message["role"]
        for key in ("content", "reasoning_content", "reasoning"):
            if isinstance(delta.get(key), str) and delta[key]:
                message[key] = str(message.get(key) or "") + delta[key]
                carried = True
        calls = delta.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict):
                _merge_tool_call(choice.setdefault("_tools", {}), call)
                carried = True
    return carried


def _merge_tool_call(tools: dict[int, dict[str, Any]], call: dict[str, Any]) -> None:
    index = as_int(call.get("index"))
    index = index if index is not None else len(tools)
    tool = tools.setdefault(index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
    if isinstance(call.get("id"), str):
        tool["id"] = call["id"]
    function = call.get("function")
    for key in ("name", "arguments"):
        piece = dig(function, key)
        if isinstance(piece, str):
            tool["function"][key] += piece


def _finish_choice(choice: dict[str, Any]) -> dict[str, Any]:
    tools = choice.pop("_tools", None)
    if tools:
        choice.setdefault("message", {"role": "assistant", "content": None})["tool_calls"] = [
            tools[index] for index in sorted(tools)
        ]
    return choice


def assemble_choices(chunks: Sequence[ModelChunk], parsed: Parsed) -> None:
    """Mistral (`outputs` or `choices`) and OpenAI-style models, joined per choice index."""
    top: dict[str, Any] = {}
    lists: dict[str, dict[int, dict[str, Any]]] = {}
    for chunk_index, chunk in chunks:
        for key in ("id", "created", "model", "usage"):  # not `object`: it names the chunk type
            if chunk.get(key) is not None:
                top[key] = chunk[key]
        for list_key in ("outputs", "choices"):
            pieces = chunk.get(list_key)
            for position, piece in enumerate(pieces if isinstance(pieces, list) else []):
                if not isinstance(piece, dict):
                    continue
                index = as_int(piece.get("index"))
                index = index if index is not None else position
                # Mistral's `outputs[]` items carry no index in the non-stream body; `choices[]` do.
                fresh: dict[str, Any] = {"index": index} if list_key == "choices" else {}
                choice = lists.setdefault(list_key, {}).setdefault(index, fresh)
                if _output_choice(choice, piece):
                    _mark_content(parsed, chunk_index)
    for list_key, choices in lists.items():
        top[list_key] = [_finish_choice(choices[index]) for index in sorted(choices)]
    parsed.response = top


# --- Cohere Command R: text-generation events, then stream-end with the whole response -----------


def assemble_cohere(chunks: Sequence[ModelChunk], parsed: Parsed) -> None:
    text = _join_text(chunks, parsed, _cohere_text)
    for chunk_index, chunk in chunks:
        if chunk.get("tool_calls") or chunk.get("tool_call_delta"):
            _mark_content(parsed, chunk_index)
    final = next((chunk["response"] for _, chunk in reversed(chunks) if isinstance(chunk.get("response"), dict)), None)
    finish = _last(chunks, "finish_reason")
    if final is not None:  # Command R's stream-end repeats the whole non-stream response
        parsed.response = {"text": text, "finish_reason": finish, **final}
    elif any("generations" in chunk for _, chunk in chunks):  # the older command-text models
        parsed.response = {"generations": [{"text": text, "finish_reason": finish or _cohere_old_finish(chunks)}]}
    else:
        parsed.response = {"text": text, "finish_reason": finish}


def _cohere_text(chunk: dict[str, Any]) -> JSONValue:
    if chunk.get("event_type") in (None, "text-generation") and "text" in chunk:
        return chunk["text"]
    return _first_generation(chunk, "text")


def _first_generation(chunk: dict[str, Any], key: str) -> JSONValue:
    generations = chunk.get("generations")
    first = generations[0] if isinstance(generations, list) and generations else None
    return first.get(key) if isinstance(first, dict) else None


def _cohere_old_finish(chunks: Sequence[ModelChunk]) -> JSONValue:
    reasons = [_first_generation(chunk, "finish_reason") for _, chunk in chunks]
    return next((reason for reason in reversed(reasons) if reason is not None), None)


# --- Anything else: keep the chunks, so nothing is lost ---------------------------------------


def assemble_unknown(chunks: Sequence[ModelChunk], parsed: Parsed) -> None:
    parsed.response = {"chunks": [chunk for _, chunk in chunks]}
    if chunks:
        _mark_content(parsed, chunks[0][0])
