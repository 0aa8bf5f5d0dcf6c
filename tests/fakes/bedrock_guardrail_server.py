"""A fake Bedrock `ApplyGuardrail`, checking SigV4 like the fake Bedrock Runtime it extends.

    POST /guardrail/{id}/version/{version}/apply          (signed: service "bedrock")
    {"source": "INPUT" | "OUTPUT", "content": [{"text": {"text": "..."}}, …]}
    → 200 {"action": "GUARDRAIL_INTERVENED" | "NONE", "assessments": [{…}], "outputs": [{"text": …}], "usage": {…}}

What the guardrail "finds", by content: an e-mail address → sensitiveInformationPolicy EMAIL
(ANONYMIZED, with the match); `attack-plan` → contentPolicy VIOLENCE, confidence HIGH,
BLOCKED; `investment tip` → topicPolicy "Investment advice" (DENY, BLOCKED). Guardrail ids
choose behaviours: `slow` answers after 2 s, `broken` with a 500. Other paths are the fake
Bedrock Runtime's (tests/fakes/bedrock_server.py), unchanged.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp import web

from tests.fakes.bedrock_server import FakeBedrock

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PATH = re.compile(r"^/guardrail/([^/]+)/version/([^/]+)/apply$")


class FakeBedrockGuardrail(FakeBedrock):
    def applied(self) -> list[dict[str, Any]]:
        """The ApplyGuardrail bodies received so far."""
        with self.lock:
            return [json.loads(r.body) for r in self.received if r.raw_path.startswith("/guardrail/")]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = _PATH.match(request.raw_path.split("?", 1)[0])
        if path is None:
            return await super().handle(request)
        record = await self.record(request)
        problem = self.signature_problem(request, record.body)
        if problem is not None:
            return self._error(record, 403, "InvalidSignatureException", f"The request signature is wrong ({problem})")
        guardrail_id = path.group(1)
        if guardrail_id == "slow":
            await asyncio.sleep(2)
        if guardrail_id == "broken":
            return self._error(record, 500, "InternalServerException", "The guardrail failed.")
        payload: dict[str, Any] = json.loads(record.body)
        if payload.get("source") not in ("INPUT", "OUTPUT") or not isinstance(payload.get("content"), list):
            return self._error(record, 400, "ValidationException", "source and content are required.")
        texts = [str(block["text"]["text"]) for block in payload["content"]]
        return self._json(record, 200, assess(texts))


def assess(texts: list[str]) -> dict[str, Any]:
    assessment: dict[str, Any] = {}
    joined = "\n".join(texts)
    emails = sorted({match.group() for text in texts for match in _EMAIL.finditer(text)})
    if emails:
        entities = [{"match": email, "type": "EMAIL", "action": "ANONYMIZED", "detected": True} for email in emails]
        assessment["sensitiveInformationPolicy"] = {"piiEntities": entities, "regexes": []}
    if "attack-plan" in joined:
        violence = {"type": "VIOLENCE", "confidence": "HIGH", "filterStrength": "HIGH", "action": "BLOCKED"}
        assessment["contentPolicy"] = {"filters": [violence]}
    if "investment tip" in joined:
        topic = {"name": "Investment advice", "type": "DENY", "action": "BLOCKED", "detected": True}
        assessment["topicPolicy"] = {"topics": [topic]}
    intervened = bool(assessment)
    outputs = [{"text": "Sorry, the model cannot answer this question."}] if intervened else []
    return {
        "action": "GUARDRAIL_INTERVENED" if intervened else "NONE",
        "actionReason": "Guardrail blocked." if intervened else "No action.",
        "assessments": [assessment] if intervened else [],
        "outputs": outputs,
        "usage": {"contentPolicyUnits": 1, "topicPolicyUnits": 1, "sensitiveInformationPolicyUnits": 1},
    }
