"""A fake vendor whose model always answers with one streamed tool call, in every format.

The call's arguments carry the user's last text back, twice (`{"to": <text>, "lines": [<text>,
"done"], "count": 2}`), as JSON text cut into 7-character pieces: values, escapes and
placeholders arrive cut across events, as a real model's would. Formats, by path:

    …/chat/completions                OpenAI and Azure Chat Completions (`data:` chunks, [DONE])
    …/responses                       OpenAI Responses (function_call_arguments.delta/.done, …)
    /v1/messages                      Anthropic Messages (input_json_delta, content_block_stop)
    /model/{id}/converse-stream       Bedrock ConverseStream (toolUse.input pieces)
    /model/{id}/invoke-with-response-stream   Bedrock invoke stream of an Anthropic model

Requests are recorded (what the upstream saw); SigV4 signatures are not checked here.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.fakes import eventstream as es
from tests.fakes.openai_fixtures import sse
from tests.fakes.vendor_server import RecordingFake

TOOL = "send_message"
PIECE = 7
METRICS = {"inputTokenCount": 12, "outputTokenCount": 6, "invocationLatency": 21, "firstByteLatency": 7}


def arguments_of(said: str) -> str:
    """The tool call's arguments (JSON text) for the user's text."""
    return json.dumps({"to": said, "lines": [said, "done"], "count": 2})


def pieces(text: str) -> list[str]:
    return [text[at : at + PIECE] for at in range(0, len(text), PIECE)]


def _last_text(content: object) -> str:
    """The text of a message's content: a string, or its text parts/blocks joined."""
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else []
    return "".join(str(part.get("text", "")) for part in parts if isinstance(part, dict))


def user_text(request: dict[str, Any]) -> str:
    """The last user text of a request in any of the formats above."""
    if isinstance(request.get("input"), str):
        return str(request["input"])
    messages = request.get("messages") or request.get("input") or []
    users = [message for message in messages if isinstance(message, dict) and message.get("role") == "user"]
    return _last_text(users[-1].get("content")) if users else ""


def chat_stream(said: str) -> list[bytes]:
    base = {"id": "chatcmpl-tool1", "object": "chat.completion.chunk", "created": 1735689600, "model": "gpt-4o-mini"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

    opening = {"index": 0, "id": "call_1", "type": "function", "function": {"name": TOOL, "arguments": ""}}
    return [
        chunk({"role": "assistant", "content": None, "refusal": None}),
        chunk({"tool_calls": [opening]}),
        *[
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            for piece in pieces(arguments_of(said))
        ],
        chunk({}, "tool_calls"),
        b"data: [DONE]\n\n",
    ]


def responses_stream(said: str) -> list[bytes]:
    arguments = arguments_of(said)
    item = {"id": "fc_1", "type": "function_call", "status": "in_progress", "call_id": "call_1", "name": TOOL}
    done_item = {**item, "status": "completed", "arguments": arguments}
    response = {"id": "resp_tool1", "object": "response", "created_at": 1735689600, "model": "gpt-4.1-mini"}
    usage = {"input_tokens": 12, "output_tokens": 6, "total_tokens": 18}
    where = {"item_id": "fc_1", "output_index": 0}
    steps: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": {**response, "status": "in_progress", "output": []}}),
        ("response.output_item.added", {"output_index": 0, "item": {**item, "arguments": ""}}),
        *[("response.function_call_arguments.delta", {**where, "delta": piece}) for piece in pieces(arguments)],
        ("response.function_call_arguments.done", {**where, "arguments": arguments}),
        ("response.output_item.done", {"output_index": 0, "item": done_item}),
        (
            "response.completed",
            {"response": {**response, "status": "completed", "output": [done_item], "usage": usage}},
        ),
    ]
    return [sse({"type": kind, "sequence_number": n, **fields}, kind) for n, (kind, fields) in enumerate(steps)]


def anthropic_events(said: str) -> list[dict[str, Any]]:
    """The Messages stream events of the tool call (Anthropic's API and Bedrock's invoke chunks)."""
    usage = {"input_tokens": 12, "output_tokens": 1}
    block = {"type": "tool_use", "id": "toolu_1", "name": TOOL, "input": {}}
    deltas = [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": piece}}
        for piece in ["", *pieces(arguments_of(said))]  # Anthropic opens with an empty piece
    ]
    message = {"id": "msg_tool1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": []}
    return [
        {"type": "message_start", "message": {**message, "stop_reason": None, "usage": usage}},
        {"type": "content_block_start", "index": 0, "content_block": block},
        *deltas,
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 6},
        },
        {"type": "message_stop"},
    ]


def converse_stream(said: str) -> list[bytes]:
    start = {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "tooluse_1", "name": TOOL}}}
    deltas = [
        es.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}})
        for piece in pieces(arguments_of(said))
    ]
    return [
        es.event("messageStart", {"role": "assistant"}),
        es.event("contentBlockStart", start),
        *deltas,
        es.event("contentBlockStop", {"contentBlockIndex": 0}),
        es.event("messageStop", {"stopReason": "tool_use"}),
        es.event(
            "metadata",
            {"usage": {"inputTokens": 12, "outputTokens": 6, "totalTokens": 18}, "metrics": {"latencyMs": 21}},
        ),
    ]


def invoke_stream(said: str) -> list[bytes]:
    events = anthropic_events(said)
    events[-1] = {**events[-1], "amazon-bedrock-invocationMetrics": METRICS}
    return [es.chunk(event) for event in events]


class FakeToolCaller(RecordingFake):
    async def handle(self, request: web.Request) -> web.StreamResponse:
        record = await self.record(request)
        body = json.loads(record.body or b"{}")
        said = user_text(body if isinstance(body, dict) else {})
        path = request.path
        if path.endswith("/chat/completions"):
            return await self._stream(request, chat_stream(said))
        if path.endswith("/responses"):
            return await self._stream(request, responses_stream(said))
        if path.endswith("/messages"):
            return await self._stream(request, [sse(event, str(event["type"])) for event in anthropic_events(said)])
        if path.endswith("/converse-stream"):
            return await self._stream(request, converse_stream(said), eventstream=True)
        if path.endswith("/invoke-with-response-stream"):
            return await self._stream(request, invoke_stream(said), eventstream=True)
        return web.json_response({"message": f"no fake for {path}"}, status=404)

    @staticmethod
    async def _stream(request: web.Request, events: list[bytes], *, eventstream: bool = False) -> web.StreamResponse:
        content_type = "application/vnd.amazon.eventstream" if eventstream else "text/event-stream; charset=utf-8"
        headers = {"content-type": content_type, "x-request-id": "req_tool1", "x-amzn-requestid": "req-tool1"}
        if eventstream:
            headers["x-amzn-bedrock-content-type"] = "application/json"
        response = web.StreamResponse(status=200, headers=headers)
        await response.prepare(request)
        for event in events:
            await response.write(event)
        await response.write_eof()
        return response
