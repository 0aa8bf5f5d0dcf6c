"""A fake OpenAI chat model playing Glassgate's guardrail judge (`llm_judge`), with deterministic verdicts.

Speaks `POST /v1/chat/completions` and checks the key it is given. It reads the text the judge
prompt shows between <content> tags and answers, by marker:

    [[judge:flag]]      ```json {"flagged": true, "category": "prompt injection", "score": 0.92} ``` (in a fence)
    [[judge:low]]       {"flagged": true, "category": "toxicity", "score": 0.2} (under the default threshold)
    [[judge:garbage]]   prose with no JSON object
    [[judge:slow]]      a clean verdict after 2 s
    otherwise           Verdict: {"flagged": false, "category": "NONE", "score": 0.03} (prose around it)
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from tests.fakes import openai_fixtures as fx
from tests.fakes.vendor_server import RecordingFake

ANSWERS = {
    "[[judge:flag]]": '```json\n{"flagged": true, "category": "prompt injection", "score": 0.92}\n```',
    "[[judge:low]]": '{"flagged": true, "category": "toxicity", "score": 0.2}',
    "[[judge:garbage]]": "I would rather not classify this text.",
}
CLEAN = 'Verdict: {"flagged": false, "category": "NONE", "score": 0.03} — nothing harmful.'


class FakeGuardJudge(RecordingFake):
    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def judged(self) -> list[str]:
        """The <content> of each judge prompt received, in order."""
        with self.lock:
            bodies = [json.loads(r.body) for r in self.received if r.body]
        return [_content(body) for body in bodies]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        record = await self.record(request)
        if request.headers.get("authorization") != f"Bearer {self.key}":
            error = fx.error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
            return web.json_response(error, status=401)
        payload: dict[str, Any] = json.loads(record.body or b"{}")
        content = _content(payload)
        if "[[judge:slow]]" in content:
            await asyncio.sleep(2)
        text = next((answer for marker, answer in ANSWERS.items() if marker in content), CLEAN)
        body = fx.chat_completion({}, azure=False)
        body["model"] = payload.get("model", "")
        body["choices"][0]["message"]["content"] = text
        return web.json_response(body)


def _content(payload: dict[str, Any]) -> str:
    users = [m.get("content") for m in payload.get("messages") or [] if m.get("role") == "user"]
    text = str(users[-1]) if users else ""
    return text.split("<content>", 1)[-1].rsplit("</content>", 1)[0]
