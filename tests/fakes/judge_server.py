"""A fake chat model for evaluation tests: an echoing target and a judge with deterministic answers.

Speaks OpenAI chat completions (`.../chat/completions`) and Anthropic messages
(`.../v1/messages`). What it answers depends on the request's model:

    judge*        a judge: reads the labels (or range) it was asked for from the system
                  message and answers in the requested format with the first label (the high
                  bound), or with X when the prompt holds the marker `[[judge:X]]`;
                  `[[judge:garbage]]` gets an answer that names no label
    echo*         a target: answers with the last user message
    slow*         as echo, after SLOW_S (so items are in flight when a worker is killed)
    flaky*        as echo, but the first request with a given prompt gets a 503
    rate-limited  always 429 with Retry-After: 0
    refuse        always 400

Answers carry the usage and the served model of the OpenAI fixtures, so they are priced.
With `span_ids=True` it also plays Glassgate's proxy for tests that run without one: each
answer gets an `x-glassgate-span-id`. It counts the calls in flight (for concurrency limits).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from typing import Any

from aiohttp import web

from tests.fakes import openai_fixtures as fx
from tests.fakes.vendor_server import Received, RecordingFake

SLOW_S = 0.3
_LABELS = re.compile(r"LABEL: <exactly one of: (?P<labels>[^>]*)>")
_RANGE = re.compile(r"SCORE: <a number from (?P<low>\S+) to (?P<high>\S+)>")
_MARKER = re.compile(r"\[\[judge:(?P<choice>[^\]]+)\]\]")


def judge_answer(system: str, prompt: str) -> str:
    marker = _MARKER.search(prompt)
    if marker and marker.group("choice") == "garbage":
        return "I would rather not say which it is."
    labels = _LABELS.search(system)
    if labels:
        choice = marker.group("choice") if marker else labels.group("labels").split(",")[0].strip()
        return f"The answer was read carefully.\nEXPLANATION: deterministic verdict ({choice}).\nLABEL: {choice}"
    bounds = _RANGE.search(system)
    score = marker.group("choice") if marker else (bounds.group("high") if bounds else "1")
    return f"EXPLANATION: deterministic score.\nSCORE: {score}"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


class FakeJudge(RecordingFake):
    def __init__(self, *, span_ids: bool = False) -> None:
        super().__init__()
        self.span_ids = span_ids
        self.url = ""  # set by whoever starts it
        self.in_flight = 0
        self.max_in_flight = 0
        self._seen: set[str] = set()
        self._counter = threading.Lock()

    def requests_for(self, model_prefix: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if json.loads(r.body or b"{}").get("model", "").startswith(model_prefix)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        record = await self.record(request)
        payload: dict[str, Any] = json.loads(record.body or b"{}")
        model = str(payload.get("model") or "")
        anthropic = request.path.endswith("/v1/messages")
        with self._counter:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(payload, model, anthropic)
        finally:
            with self._counter:
                self.in_flight -= 1

    async def _answer(self, payload: dict[str, Any], model: str, anthropic: bool) -> web.StreamResponse:
        messages = payload.get("messages") or []
        system = _text(payload.get("system")) if anthropic else ""
        system += "".join(_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
        users = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
        prompt = users[-1] if users else ""
        if model == "rate-limited":
            return self._json(
                429, fx.error(429, "Rate limit reached", "requests", "rate_limit_exceeded"), {"retry-after": "0"}
            )
        if model == "refuse":
            return self._json(400, fx.error(400, "This model refuses everything.", "invalid_request_error", None))
        if model.startswith("slow"):
            await asyncio.sleep(SLOW_S)
        if model.startswith("flaky"):
            with self._counter:
                first = prompt not in self._seen
                self._seen.add(prompt)
            if first:
                return self._json(503, fx.error(503, "Try again.", "server_error", None))
        text = judge_answer(system, prompt) if model.startswith("judge") else prompt
        if anthropic:
            body: dict[str, Any] = {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 12, "output_tokens": 6},
            }
        else:
            body = fx.chat_completion({}, azure=False)
            body["choices"][0]["message"]["content"] = text
        return self._json(200, body)

    def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> web.Response:
        all_headers = {"content-type": "application/json", **(headers or {})}
        if self.span_ids:
            all_headers["x-glassgate-span-id"] = os.urandom(8).hex()
        return web.Response(status=status, body=json.dumps(value).encode(), headers=all_headers)
