"""Azure AI Content Safety: harm categories and severities for each text (`text:analyze`).

    POST {endpoint}/contentsafety/text:analyze?api-version=2024-09-01
    Ocp-Apim-Subscription-Key: {key}
    {"text": "...", "categories": ["Hate", "SelfHarm", "Sexual", "Violence"], "outputType": "FourSeverityLevels"}
    → {"blocklistsMatch": [], "categoriesAnalysis": [{"category": "Hate", "severity": 2}, …]}

One call per text field (the service takes one text of at most 10,000 characters; longer
fields are cut at a space into several calls), all at once. A category with severity above
0 becomes a finding for that field with score severity / 6 (severities 2, 4, 6: 0.33, 0.67,
1.0; the policy's threshold, 0.5 by default, lets medium and high through). The service
says nothing about where in the text, so its findings cover the whole field: fine for
`block` and `flag`, not for `redact` (refused at start).
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from yarl import URL

from glassgate.config import GuardrailProvider
from glassgate.guard_providers.base import (
    Assessment,
    Phase,
    ProviderContext,
    ProviderError,
    ProviderSpec,
    RemoteFinding,
)
from glassgate.guard_providers.transport import Service, all_or_first_error, post
from glassgate.guardrails.text import TextField

NAME = "azure_content_safety"
API_VERSION = "2024-09-01"
MAX_TEXT_CHARS = 10_000
MAX_SEVERITY = 6  # FourSeverityLevels: 0, 2, 4, 6
CATEGORIES = {"Hate": "HATE", "SelfHarm": "SELF_HARM", "Sexual": "SEXUAL", "Violence": "VIOLENCE"}
_SPLIT_WINDOW = 500  # look this far back from a cut for a space to cut at


class AzureContentSafety:
    name = NAME

    def __init__(self, options: GuardrailProvider, context: ProviderContext) -> None:
        assert options.endpoint is not None and options.key is not None  # checked at start
        self._service = Service(options.endpoint, options.timeout_ms / 1000, context.open_pool)
        self._target = f"{self._service.base_path}/contentsafety/text:analyze?api-version={API_VERSION}"
        self._key = options.key

    async def check(self, texts: Sequence[TextField], phase: Phase) -> Assessment:
        pieces = [(index, piece) for index, text in enumerate(texts) for piece in split_text(text.text)]
        answers = await all_or_first_error([self._analyze(piece) for _, piece in pieces])
        worst: dict[tuple[int, str], int] = {}
        for (index, _), severities in zip(pieces, answers, strict=True):
            for category, severity in severities.items():
                worst[(index, category)] = max(severity, worst.get((index, category), 0))
        findings = [
            RemoteFinding(index, category, min(1.0, severity / MAX_SEVERITY))
            for (index, category), severity in sorted(worst.items())
            if severity > 0
        ]
        cut = f"{len(pieces)} calls for {len(texts)} text fields (texts over {MAX_TEXT_CHARS} characters cut in pieces)"
        notes = [cut] if len(pieces) > len(texts) else []
        return Assessment(findings, notes)

    async def _analyze(self, text: str) -> dict[str, int]:
        body = orjson.dumps({"text": text, "categories": list(CATEGORIES), "outputType": "FourSeverityLevels"})
        headers = [
            ("Ocp-Apim-Subscription-Key", self._key.get_secret_value()),
            ("Content-Type", "application/json"),
        ]
        answer = await post(self._service.pool, self._target, headers, body, NAME)
        payload = answer.json(NAME)
        if answer.status != 200:
            raise ProviderError(f"{NAME} answered HTTP {answer.status} ({_error_code(payload)})")
        return parse_analysis(payload)

    async def close(self) -> None:
        await self._service.close()


def parse_analysis(payload: object) -> dict[str, int]:
    """{HATE: severity, …} from a `text:analyze` answer; ProviderError for any other shape."""
    analysis = payload.get("categoriesAnalysis") if isinstance(payload, dict) else None
    if not isinstance(analysis, list):
        raise ProviderError(f"{NAME} answered without categoriesAnalysis")
    severities: dict[str, int] = {}
    for item in analysis:
        category = item.get("category") if isinstance(item, dict) else None
        severity = item.get("severity") if isinstance(item, dict) else None
        if not isinstance(category, str) or isinstance(severity, bool) or not isinstance(severity, int):
            raise ProviderError(f"{NAME} answered with a malformed categoriesAnalysis entry")
        severities[CATEGORIES.get(category, _snake(category))] = severity
    return severities


def split_text(text: str, limit: int = MAX_TEXT_CHARS) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut after a space where one is near."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind(" ", limit - _SPLIT_WINDOW, limit) + 1 or limit
        pieces.append(text[:cut])
        text = text[cut:]
    pieces.append(text)
    return pieces


def _snake(name: str) -> str:
    return "".join(f"_{char}" if char.isupper() and index else char for index, char in enumerate(name)).upper()


def _error_code(payload: object) -> str:
    error = payload.get("error") if isinstance(payload, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return str(code)[:80] if code else "no error code"


def _check(options: GuardrailProvider) -> None:
    url = URL(options.endpoint or "")
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"provider.endpoint must be an absolute http(s) URL, got {options.endpoint!r}")
    if url.user or url.password or url.query_string or url.fragment:
        raise ValueError("provider.endpoint must not carry credentials, a query or a fragment")


SPEC = ProviderSpec(
    name=NAME,
    required=frozenset({"endpoint", "key"}),
    optional=frozenset(),
    locates=False,
    factory=AzureContentSafety,
    check=_check,
)
