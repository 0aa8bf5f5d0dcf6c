"""A fake Azure AI Content Safety `text:analyze` (api-version 2024-09-01), in the service's wire format.

    POST /contentsafety/text:analyze?api-version=2024-09-01
    Ocp-Apim-Subscription-Key: <key>
    {"text": "...", "categories": [...], "outputType": "FourSeverityLevels"}
    → 200 {"blocklistsMatch": [], "categoriesAnalysis": [{"category": "Hate", "severity": 0}, …]}

Severities come from marker words in the text (the real service is a model; tests need
certainty): `violent-threat` Violence 6, `hateful-slur` Hate 4, `self-harm-plan` SelfHarm 4,
`mild-insult` Hate 2 (under the default threshold). Behaviours, also by marker:
`[[acs:slow=S]]` answers after S seconds, `[[acs:error]]` a 500, `[[acs:garbage]]` a 200 that
is not JSON. A wrong key gets the service's 401, a text over 10,000 characters its 400.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp import web

from tests.fakes.vendor_server import RecordingFake

API_VERSION = "2024-09-01"
MAX_TEXT_CHARS = 10_000
MARKERS = {
    "violent-threat": ("Violence", 6),
    "hateful-slur": ("Hate", 4),
    "self-harm-plan": ("SelfHarm", 4),
    "mild-insult": ("Hate", 2),
}
_SLOW = re.compile(r"\[\[acs:slow=([0-9.]+)\]\]")


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class FakeContentSafety(RecordingFake):
    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def texts(self) -> list[str]:
        """The texts analysed so far, in order."""
        with self.lock:
            return [json.loads(received.body)["text"] for received in self.received if received.body]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        record = await self.record(request)
        if request.headers.get("Ocp-Apim-Subscription-Key") != self.key:
            return _error(401, "401", "Access denied due to invalid subscription key or wrong API endpoint.")
        if request.method != "POST" or request.path != "/contentsafety/text:analyze":
            return _error(404, "NotFound", "Resource not found.")
        if request.query.get("api-version") != API_VERSION:
            return _error(400, "InvalidRequest", "The api-version query parameter is missing or unsupported.")
        try:
            payload: dict[str, Any] = json.loads(record.body)
        except ValueError:
            return _error(400, "InvalidRequestBody", "The request body is not valid JSON.")
        text = payload.get("text")
        if not isinstance(text, str) or not text or len(text) > MAX_TEXT_CHARS:
            return _error(400, "InvalidRequestBody", "The text must be 1 to 10000 characters long.")
        if payload.get("outputType") != "FourSeverityLevels":
            return _error(400, "InvalidRequestBody", "outputType must be FourSeverityLevels here.")
        slow = _SLOW.search(text)
        if slow:
            await asyncio.sleep(float(slow.group(1)))
        if "[[acs:error]]" in text:
            return _error(500, "InternalServerError", "An internal error occurred.")
        if "[[acs:garbage]]" in text:
            return web.Response(status=200, text="<html>gateway page</html>", content_type="text/html")
        categories = payload.get("categories") or ["Hate", "SelfHarm", "Sexual", "Violence"]
        severities = dict.fromkeys(categories, 0)
        for marker, (category, severity) in MARKERS.items():
            if marker in text and category in severities:
                severities[category] = max(severities[category], severity)
        analysis = [{"category": category, "severity": severity} for category, severity in severities.items()]
        return web.json_response({"blocklistsMatch": [], "categoriesAnalysis": analysis})
