"""A fake vendor whose models write the user's text back in the channels guardrails must not skip.

The text comes back in 7-character stream pieces (a value always arrives cut across events), in
the exact wire format of each (wire-formats.md §1.4, §1.5, §3.2):

    /model/{id}/invoke-with-response-stream   Bedrock invoke stream of the model's family: Titan
                                              Text, Llama, Mistral (prompt and chat forms), Cohere
                                              Command R and command-text
    /model/{id}/invoke                        the same families, not streamed
    …/chat/completions                        model `reasoner`: the text as `delta.reasoning_content`,
                                              then the answer "Done."; `refuser`: as `delta.refusal`
    …/responses                               model `refuser`: a refusal; `mcp`: an MCP call whose
                                              `output` is the text, then the answer "Done."

Requests are recorded (what the upstream saw); SigV4 signatures are not checked here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tests.fakes import eventstream as es
from tests.fakes.openai_fixtures import sse
from tests.fakes.vendor_server import RecordingFake

PIECE = 7
METRICS_KEY = "amazon-bedrock-invocationMetrics"
METRICS = {"inputTokenCount": 12, "outputTokenCount": 6, "invocationLatency": 21, "firstByteLatency": 7}
HEADERS = {"X-Amzn-Bedrock-Input-Token-Count": "12", "X-Amzn-Bedrock-Output-Token-Count": "6"}
ANSWER = "Done."


def pieces(text: str) -> list[str]:
    return [text[at : at + PIECE] for at in range(0, len(text), PIECE)]


def said_in(request: dict[str, Any]) -> str:
    """The user's text in any of the request shapes above."""
    for key in ("inputText", "prompt", "message"):
        if isinstance(request.get(key), str):
            return str(request[key])
    if isinstance(request.get("input"), str):
        return str(request["input"])
    users = [m for m in request.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    content = users[-1].get("content") if users else ""
    return content if isinstance(content, str) else "".join(str(part.get("text", "")) for part in content or [])


# --- Bedrock InvokeModel, per family: (stream chunks, whole body) -------------------------------------


def _titan(said: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    chunks: list[dict[str, Any]] = [
        {"outputText": p, "index": 0, "totalOutputTextTokenCount": n + 1, "completionReason": None}
        for n, p in enumerate(pieces(said))
    ]
    chunks[0]["inputTextTokenCount"] = 12
    last = {"outputText": "", "index": 0, "totalOutputTextTokenCount": 6, "completionReason": "FINISH"}
    whole = {
        "inputTextTokenCount": 12,
        "results": [{"tokenCount": 6, "outputText": said, "completionReason": "FINISH"}],
    }
    return [*chunks, last], whole


def _llama(said: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    chunks = [
        {
            "generation": p,
            "prompt_token_count": 12 if n == 0 else None,
            "generation_token_count": n + 1,
            "stop_reason": None,
        }
        for n, p in enumerate(pieces(said))
    ]
    last = {"generation": "", "prompt_token_count": None, "generation_token_count": 6, "stop_reason": "stop"}
    whole = {"generation": said, "prompt_token_count": 12, "generation_token_count": 6, "stop_reason": "stop"}
    return [*chunks, last], whole


def _mistral(said: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    chunks: list[dict[str, Any]] = [{"outputs": [{"text": p, "stop_reason": None}]} for p in pieces(said)]
    whole = {"outputs": [{"text": said, "stop_reason": "stop"}]}
    return [*chunks, {"outputs": [{"text": "", "stop_reason": "stop"}]}], whole


def _mistral_chat(said: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    def chunk(text: str, stop: str | None) -> dict[str, Any]:
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "stop_reason": stop}]}

    whole = {"choices": [{"index": 0, "message": {"role": "assistant", "content": said}, "finish_reason": "stop"}]}
    return [*(chunk(p, None) for p in pieces(said)), chunk("", "stop")], whole


def _cohere(said: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    history = [{"role": "USER", "message": "(the question)"}, {"role": "CHATBOT", "message": said}]
    whole = {
        "response_id": "r-1",
        "text": said,
        "generation_id": "g-1",
        "chat_history": history,
        "finish_reason": "COMPLETE",
    }
    chunks: list[dict[str, Any]] = [
        {"is_finished": False, "event_type": "stream-start", "generation_id": "g-1"},
        *({"is_finished": False, "event_type": "text-generation", "text": p} for p in pieces(said)),
        {"is_finished": True, "event_type": "stream-end", "finish_reason": "COMPLETE", "response": whole},
    ]
    return chunks, whole


def _cohere_text(said: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    chunks: list[dict[str, Any]] = [{"generations": [{"text": p}], "is_finished": False} for p in pieces(said)]
    last = {"generations": [{"text": "", "finish_reason": "COMPLETE"}], "is_finished": True}
    return [*chunks, last], {"id": "c", "generations": [{"id": "g", "text": said, "finish_reason": "COMPLETE"}]}


FAMILIES: dict[str, Callable[[str], tuple[list[dict[str, Any]], dict[str, Any]]]] = {
    "amazon.titan-text": _titan,
    "meta.llama": _llama,
    "mistral.mistral-large": _mistral_chat,
    "mistral.": _mistral,
    "cohere.command-r": _cohere,
    "cohere.command-text": _cohere_text,
}


def invoke_answer(model_id: str, said: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    family = next(make for prefix, make in FAMILIES.items() if model_id.startswith(prefix))
    chunks, whole = family(said)
    chunks[-1] = {**chunks[-1], METRICS_KEY: METRICS}
    return chunks, whole


# --- OpenAI: chat refusals and reasoning, Responses refusals and MCP output ---------------------------


def chat_stream(model: str, said: str) -> list[bytes]:
    base = {"id": "chatcmpl-ch1", "object": "chat.completion.chunk", "created": 1735689600, "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

    field = "refusal" if model == "refuser" else "reasoning_content"
    answer = [] if model == "refuser" else [chunk({"content": ANSWER})]
    return [
        chunk({"role": "assistant", "content": "", "refusal": None}),
        *(chunk({field: piece}) for piece in pieces(said)),
        *answer,
        chunk({}, "stop"),
        b"data: [DONE]\n\n",
    ]


def chat_whole(model: str, said: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": said}
    if model != "refuser":
        message = {"role": "assistant", "content": ANSWER, "refusal": None, "reasoning_content": said}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
    usage = {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18}
    return {
        "id": "chatcmpl-ch1",
        "object": "chat.completion",
        "created": 1735689600,
        "model": model,
        "choices": [choice],
        "usage": usage,
    }


def responses_stream(model: str, said: str) -> list[bytes]:
    response = {"id": "resp_ch1", "object": "response", "created_at": 1735689600, "model": model}
    usage = {"input_tokens": 12, "output_tokens": 6, "total_tokens": 18}
    steps: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": {**response, "status": "in_progress", "output": []}})
    ]
    output: list[dict[str, Any]] = []
    if model == "mcp":
        call = {"id": "mcp_1", "type": "mcp_call", "server_label": "crm", "name": "lookup", "arguments": "{}"}
        done = {**call, "status": "completed", "output": said, "error": None}
        where = {"item_id": "mcp_1", "output_index": 0}
        steps += [
            (
                "response.output_item.added",
                {"output_index": 0, "item": {**call, "status": "in_progress", "output": None}},
            ),
            ("response.mcp_call_arguments.delta", {**where, "delta": "{}"}),
            ("response.mcp_call_arguments.done", {**where, "arguments": "{}"}),
            ("response.mcp_call.completed", where),
            ("response.output_item.done", {"output_index": 0, "item": done}),
        ]
        output.append(done)
        steps += _message_steps(1, "output_text", [ANSWER], output)
    else:
        steps += _message_steps(0, "refusal", pieces(said), output)
    steps.append(
        ("response.completed", {"response": {**response, "status": "completed", "output": output, "usage": usage}})
    )
    return [sse({"type": kind, "sequence_number": n, **fields}, kind) for n, (kind, fields) in enumerate(steps)]


def _message_steps(
    index: int, kind: str, texts: list[str], output: list[dict[str, Any]]
) -> list[tuple[str, dict[str, Any]]]:
    """A message item whose one part (`output_text` or `refusal`) streams `texts`."""
    field = "text" if kind == "output_text" else "refusal"
    item_id = f"msg_{index}"
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    part = {"type": kind, field: "".join(texts), **({"annotations": []} if kind == "output_text" else {})}
    item = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    done = {**item, "status": "completed", "content": [part]}
    output.append(done)
    return [
        ("response.output_item.added", {"output_index": index, "item": item}),
        ("response.content_part.added", {**where, "part": {**part, field: ""}}),
        *((f"response.{kind.removeprefix('output_')}.delta", {**where, "delta": text}) for text in texts),
        (f"response.{kind.removeprefix('output_')}.done", {**where, field: part[field]}),
        ("response.content_part.done", {**where, "part": part}),
        ("response.output_item.done", {"output_index": index, "item": done}),
    ]


class FakeTextChannels(RecordingFake):
    async def handle(self, request: web.Request) -> web.StreamResponse:
        record = await self.record(request)
        body = json.loads(record.body or b"{}")
        said = said_in(body if isinstance(body, dict) else {})
        path = request.raw_path.split("?", 1)[0]
        if path.startswith("/model/"):
            model_id, operation = unquote(path.split("/")[2]), path.split("/")[3]
            chunks, whole = invoke_answer(model_id, said)
            if operation == "invoke":
                return web.json_response(whole, headers={**HEADERS, "x-amzn-RequestId": "req-ch1"})
            return await self._stream(request, [es.chunk(chunk) for chunk in chunks], eventstream=True)
        model = str(body.get("model", ""))
        if path.endswith("/chat/completions"):
            if not body.get("stream"):
                return web.json_response(chat_whole(model, said), headers={"x-request-id": "req_ch1"})
            return await self._stream(request, chat_stream(model, said))
        if path.endswith("/responses"):
            return await self._stream(request, responses_stream(model, said))
        return web.json_response({"message": f"no fake for {path}"}, status=404)

    @staticmethod
    async def _stream(request: web.Request, events: list[bytes], *, eventstream: bool = False) -> web.StreamResponse:
        content_type = "application/vnd.amazon.eventstream" if eventstream else "text/event-stream; charset=utf-8"
        headers = {"content-type": content_type, "x-request-id": "req_ch1", "x-amzn-requestid": "req-ch1"}
        if eventstream:
            headers["x-amzn-bedrock-content-type"] = "application/json"
        response = web.StreamResponse(status=200, headers=headers)
        await response.prepare(request)
        for event in events:
            await response.write(event)
        await response.write_eof()
        return response
