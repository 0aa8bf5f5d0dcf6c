"""An Amazon Bedrock guardrail, applied on its own (`ApplyGuardrail`), signed with Glassgate's AWS credentials.

    POST https://bedrock-runtime.{region}.amazonaws.com/guardrail/{id}/version/{version}/apply   (SigV4, "bedrock")
    {"source": "INPUT" | "OUTPUT", "content": [{"text": {"text": "..."}}, …]}
    → {"action": "GUARDRAIL_INTERVENED" | "NONE", "assessments": [{"topicPolicy": …, "contentPolicy": …,
       "wordPolicy": …, "sensitiveInformationPolicy": …, "contextualGroundingPolicy": …}], "outputs": […]}

One call per check, one content block per text field. Every assessment entry the guardrail
acted on (an `action` other than NONE, or `detected: true`) becomes a finding:

    topicPolicy.topics                  TOPIC_{NAME}                         score 1
    contentPolicy.filters               its type: HATE, INSULTS, SEXUAL,     score by confidence:
                                        VIOLENCE, MISCONDUCT, PROMPT_ATTACK  LOW .5, MEDIUM .75, HIGH 1
    wordPolicy.customWords              DENIED_WORD                          score 1, located
    wordPolicy.managedWordLists         its type (PROFANITY)                 score 1, located
    sensitiveInformationPolicy          the PII type (EMAIL, US_SOCIAL_…) or score 1, located
                                        the regex's name
    contextualGroundingPolicy.filters   CONTEXTUAL_{type}                    1 - its score

"Located": the entry names the matched text, which is looked for in the fields, so `redact`
can replace it; the other findings concern the texts as a whole. An intervention with no
entry this module knows still becomes one finding, BEDROCK_GUARDRAIL, so none is lost.
Credentials come from the default AWS chain (environment, profile, ECS or EKS role), loaded
on the first check.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

import orjson

from glassgate.config import AwsAuth, GuardrailProvider
from glassgate.errors import UpstreamError
from glassgate.guard_providers.base import (
    Assessment,
    Phase,
    ProviderContext,
    ProviderError,
    ProviderSpec,
    RemoteFinding,
)
from glassgate.guard_providers.transport import Service, post
from glassgate.guardrails.text import TextField
from glassgate.proxy.aws_signer import AwsSigner, SigningTarget

NAME = "bedrock_guardrail"
CONFIDENCE = {"NONE": 0.25, "LOW": 0.5, "MEDIUM": 0.75, "HIGH": 1.0}
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_VERSION = re.compile(r"[1-9][0-9]{0,7}|DRAFT")
_RELOAD_AFTER_S = 60.0  # credentials that could not be loaded are looked for again after this
_IDENTIFIER = re.compile(r"[a-z0-9]+|arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+")


class BedrockGuardrail:
    name = NAME

    def __init__(self, options: GuardrailProvider, context: ProviderContext) -> None:
        region = options.region or ""
        endpoint = options.endpoint or f"https://bedrock-runtime.{region}.amazonaws.com"
        self._service = Service(endpoint, options.timeout_ms / 1000, context.open_pool)
        identifier = quote(options.guardrail_id or "", safe="")
        version = quote(options.guardrail_version or "", safe="")
        self._path = f"{self._service.base_path}/guardrail/{identifier}/version/{version}/apply"
        self._signer = AwsSigner(AwsAuth(), region)
        self._ready = False  # the credential chain was loaded
        self._tried_at: float | None = None  # monotonic time of the last attempt
        self._loading = asyncio.Lock()

    async def check(self, texts: Sequence[TextField], phase: Phase) -> Assessment:
        body = orjson.dumps(
            {
                "source": "INPUT" if phase == "input" else "OUTPUT",
                "content": [{"text": {"text": text.text}} for text in texts],
            }
        )
        headers = await self._signed(body)
        answer = await post(self._service.pool, self._path, headers, body, NAME)
        payload = answer.json(NAME)
        if answer.status != 200:
            kind = (answer.header("x-amzn-errortype") or "").split(":", 1)[0] or "no error type"
            raise ProviderError(f"{NAME} answered HTTP {answer.status} ({kind[:80]})")
        return Assessment(findings_of(payload, [text.text for text in texts]))

    async def _signed(self, body: bytes) -> list[tuple[str, str]]:
        if not self._ready and (self._tried_at is None or time.monotonic() - self._tried_at > _RELOAD_AFTER_S):
            await self._load()
        target = SigningTarget(self._service.host_header, self._path, "")
        headers = [("Content-Type", "application/json"), ("Accept", "application/json")]
        try:
            return await self._signer.sign("POST", target, headers, body)
        except UpstreamError as exc:  # no credentials, or their refresh failed
            raise ProviderError(f"{NAME}: {exc}") from None

    async def _load(self) -> None:
        async with self._loading:
            if self._ready:
                return  # another check loaded them while this one waited
            self._tried_at = time.monotonic()
            try:
                # Reads the environment and profile files, may call STS, ECS or IMDS: not on the loop.
                await asyncio.to_thread(self._signer.load)
            except Exception as exc:  # botocore raises many unrelated types; converted here, once
                raise ProviderError(f"{NAME}: AWS credentials could not be loaded ({type(exc).__name__})") from exc
            self._ready = True

    async def close(self) -> None:
        await self._service.close()


def findings_of(payload: object, texts: Sequence[str]) -> list[RemoteFinding]:
    """The findings of an ApplyGuardrail answer; ProviderError for an answer of another shape."""
    if not isinstance(payload, dict) or payload.get("action") not in ("GUARDRAIL_INTERVENED", "NONE"):
        raise ProviderError(f"{NAME} answered without an action")
    assessments = payload.get("assessments") or []
    if not isinstance(assessments, list):
        raise ProviderError(f"{NAME} answered with malformed assessments")
    findings: list[RemoteFinding] = []
    for assessment in assessments:
        if isinstance(assessment, dict):
            for category, score, matched in _entries(assessment):
                findings += _located(category, score, matched, texts)
    if payload["action"] == "GUARDRAIL_INTERVENED" and not findings:
        findings.append(RemoteFinding(None, "BEDROCK_GUARDRAIL", 1.0))
    return findings


def _entries(assessment: dict[str, Any]) -> Iterator[tuple[str, float, str | None]]:
    """(category, score, matched text or None) for each entry the guardrail acted on."""
    for topic in _acted(assessment, "topicPolicy", "topics"):
        yield f"TOPIC_{_upper_snake(str(topic.get('name') or 'DENIED'))}", 1.0, None
    for content in _acted(assessment, "contentPolicy", "filters"):
        score = CONFIDENCE.get(str(content.get("confidence")), 1.0)
        yield _upper_snake(str(content.get("type") or "CONTENT")), score, None
    for word in _acted(assessment, "wordPolicy", "customWords"):
        yield "DENIED_WORD", 1.0, _text(word.get("match"))
    for word in _acted(assessment, "wordPolicy", "managedWordLists"):
        yield _upper_snake(str(word.get("type") or "PROFANITY")), 1.0, _text(word.get("match"))
    for entity in _acted(assessment, "sensitiveInformationPolicy", "piiEntities"):
        yield _upper_snake(str(entity.get("type") or "PII")), 1.0, _text(entity.get("match"))
    for regex in _acted(assessment, "sensitiveInformationPolicy", "regexes"):
        yield _upper_snake(str(regex.get("name") or "REGEX")), 1.0, _text(regex.get("match"))
    for grounding in _acted(assessment, "contextualGroundingPolicy", "filters"):
        grounded = grounding.get("score")
        low = 1.0 - float(grounded) if isinstance(grounded, int | float) and 0 <= grounded <= 1 else 1.0
        yield f"CONTEXTUAL_{_upper_snake(str(grounding.get('type') or 'GROUNDING'))}", low, None


def _acted(assessment: dict[str, Any], policy: str, kind: str) -> Iterator[dict[str, Any]]:
    section = assessment.get(policy)
    entries = section.get(kind) if isinstance(section, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        if entry.get("detected") is True or entry.get("action") not in (None, "NONE"):
            yield entry


def _located(category: str, score: float, matched: str | None, texts: Sequence[str]) -> list[RemoteFinding]:
    """A finding for each place `matched` occurs in the texts, or one for the texts as a whole."""
    found = []
    if matched:
        for index, text in enumerate(texts):
            start = text.find(matched)
            while start >= 0:
                found.append(RemoteFinding(index, category, score, start, start + len(matched)))
                start = text.find(matched, start + len(matched))
    return found or [RemoteFinding(None, category, score)]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _upper_snake(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")[:60] or "UNNAMED"


def _check(options: GuardrailProvider) -> None:
    if not _REGION.fullmatch(options.region or ""):
        raise ValueError(f"provider.region {options.region!r} is not an AWS region name")
    if not _IDENTIFIER.fullmatch(options.guardrail_id or ""):
        raise ValueError(f"provider.guardrail_id {options.guardrail_id!r} is not a guardrail id or ARN")
    if not _VERSION.fullmatch(options.guardrail_version or ""):
        raise ValueError(f"provider.guardrail_version {options.guardrail_version!r} must be a number or DRAFT")
    if options.endpoint is not None:
        try:
            Service(options.endpoint, 1.0)
        except ValueError as exc:
            raise ValueError(f"provider.endpoint: {exc}") from None


SPEC = ProviderSpec(
    name=NAME,
    required=frozenset({"region", "guardrail_id", "guardrail_version"}),
    optional=frozenset({"endpoint"}),
    locates=True,
    factory=BedrockGuardrail,
    check=_check,
)
