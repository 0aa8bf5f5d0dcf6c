"""Calls from evaluation to models, through Glassgate's own proxy: the judges, and experiment targets.

This module owns the evaluation's network. Calls go to the proxy port on loopback (or
`evals.proxy_url`), not to the vendor, so they take the path any client's call takes: the
upstream's credentials and allow-list, guardrails, and a span of their own, tagged
`glassgate-eval` (judges) or `glassgate-experiment` (targets) and named by
`x-glassgate-metadata-*` headers, so evaluation traffic is traced and recognisable (online
rules never score it). The key sent is `evals.api_keys[upstream]` or `evals.api_key`: a
Glassgate key for an upstream that holds its own credential, the vendor's for passthrough.

429, 5xx (and Anthropic's 529) answers and broken connections are retried with exponential
backoff, honouring Retry-After; other 4xx answers raise `CallRefused` at once (a wrong model,
a guardrail block: trying again cannot help). A proxy that refuses connections to the end
raises `ProxyUnreachable` (the server is starting or stopping): the job, not the item, failed.

    openai     POST /{upstream}/v1/chat/completions
    azure      POST /{upstream}/openai/deployments/{model}/chat/completions?api-version=...
    anthropic  POST /{upstream}/v1/messages
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

from glassgate.errors import UpstreamError

if TYPE_CHECKING:
    from glassgate.config import Settings

JUDGE_TAG = "glassgate-eval"
EXPERIMENT_TAG = "glassgate-experiment"
_RETRIED = frozenset({429, 500, 502, 503, 504, 529})
MAX_RETRY_AFTER_S = 30.0
ANTHROPIC_VERSION = "2023-06-01"
_HEADER_SAFE = " !\"#$&'()*+,-./:;<=>?@[]^_`{|}~"


class CallRefused(UpstreamError):
    """The model's upstream refused the call itself (a 4xx other than 429): retrying cannot help."""


class ProxyUnreachable(UpstreamError):
    """Glassgate's own proxy did not take the connection (it is starting or stopping): not the item's fault."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    span_id: str | None  # the proxy's span of the call (x-glassgate-span-id)
    latency_ms: float  # of the last try


@dataclass(frozen=True)
class Endpoint:
    """One model behind one upstream, in that vendor's wire format."""

    upstream: str
    vendor: str  # openai | azure | anthropic
    model: str
    api_version: str = "2024-10-21"

    def path(self) -> tuple[tuple[str, ...], dict[str, str]]:
        if self.vendor == "azure":
            return ("openai", "deployments", self.model, "chat", "completions"), {"api-version": self.api_version}
        if self.vendor == "anthropic":
            return ("v1", "messages"), {}
        return ("v1", "chat", "completions"), {}


def check_vendor(vendor: str, what: str) -> None:
    if vendor not in ("openai", "azure", "anthropic"):
        raise ValueError(f"{what} calls speak the openai, azure or anthropic format; {vendor} is not supported")


@dataclass
class ProxyClient:
    """One HTTP session to Glassgate's proxy, shared by every judge and target of a worker."""

    proxy_url: str
    api_keys: Mapping[str, str] = field(default_factory=dict)
    default_key: str | None = None
    timeout_s: float = 120.0
    backoff_s: float = 0.5
    connections: int = 64
    _session: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ProxyClient:
        evals = settings.evals
        return cls(
            proxy_url=evals.proxy_url or own_url(settings),
            api_keys={name: key.get_secret_value() for name, key in evals.api_keys.items()},
            default_key=evals.api_key.get_secret_value() if evals.api_key else None,
            timeout_s=evals.timeout_s,
            connections=max(evals.concurrency * 2, 8),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _headers(self, endpoint: Endpoint, extra: Mapping[str, str]) -> dict[str, str]:
        headers = {"content-type": "application/json", **{name: header_text(value) for name, value in extra.items()}}
        key = self.api_keys.get(endpoint.upstream, self.default_key)
        if endpoint.vendor == "anthropic":
            headers["anthropic-version"] = ANTHROPIC_VERSION
            if key:
                headers["x-api-key"] = key
        elif key:
            headers.update({"api-key": key} if endpoint.vendor == "azure" else {"authorization": f"Bearer {key}"})
        return headers

    async def post(
        self, endpoint: Endpoint, body: Mapping[str, Any], headers: Mapping[str, str], max_retries: int
    ) -> Answer:
        """The first 2xx answer; CallRefused for a 4xx, UpstreamError once the retries are spent."""
        if self._session is None:
            # Our own server on loopback, whose certificate (if it serves HTTPS) names a public host.
            connector = aiohttp.TCPConnector(limit=self.connections, ssl=False)
            self._session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(self.timeout_s))
        segments, query = endpoint.path()
        url = URL(self.proxy_url).joinpath(endpoint.upstream, *segments).with_query(query)
        data = orjson.dumps(dict(body))
        sent = self._headers(endpoint, headers)
        for attempt in range(max_retries + 1):
            delay = self.backoff_s * 2**attempt * (0.5 + random.random() / 2)  # jitter, not secrecy
            started = time.perf_counter()
            try:
                async with self._session.post(url, data=data, headers=sent) as response:
                    status, payload = response.status, await response.read()
                    span_id = response.headers.get("x-glassgate-span-id")
                    retry_after = response.headers.get("retry-after", "")
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"{type(exc).__name__}: {exc}".rstrip(": ")
                if isinstance(exc, aiohttp.ClientConnectorError) and attempt == max_retries:
                    raise ProxyUnreachable(
                        f"Glassgate's proxy at {self.proxy_url} is unreachable ({problem})"
                    ) from None
            else:
                latency_ms = (time.perf_counter() - started) * 1000
                if 200 <= status < 300:
                    return Answer(status, payload, span_id, latency_ms)
                problem = f"HTTP {status}: {error_message(payload)}"
                if status not in _RETRIED:
                    raise CallRefused(f"{endpoint.upstream}/{endpoint.model} refused the call ({problem})")
                if retry_after.replace(".", "", 1).isdigit():
                    delay = max(delay, min(float(retry_after), MAX_RETRY_AFTER_S))
            if attempt == max_retries:
                raise UpstreamError(
                    f"{endpoint.upstream}/{endpoint.model} failed {attempt + 1} time(s) (last: {problem})"
                )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")


def header_text(value: str) -> str:
    """A header value as ASCII: names in other scripts (an evaluator's, an experiment's) are percent-encoded."""
    return value if value.isascii() and value.isprintable() else quote(value, safe=_HEADER_SAFE)


def own_url(settings: Settings) -> str:
    """This process's own proxy, on loopback."""
    host = settings.host
    host = "127.0.0.1" if host in ("", "0.0.0.0", "localhost") else "::1" if host == "::" else host
    return str(URL.build(scheme="https" if settings.tls_cert else "http", host=host, port=settings.port))


def error_message(payload: bytes) -> str:
    try:
        error = orjson.loads(payload)["error"]
        return str(error["message"] if isinstance(error, dict) else error)[:300]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return payload[:300].decode("utf-8", "replace")


def chat_body(endpoint: Endpoint, messages: list[dict[str, Any]], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A chat request in the endpoint's format; `messages` are OpenAI-style {role, content} with text content."""
    if endpoint.vendor != "anthropic":
        body: dict[str, Any] = {} if endpoint.vendor == "azure" else {"model": endpoint.model}
        return {**body, "messages": messages, **parameters}
    system = "\n\n".join(str(message["content"]) for message in messages if message["role"] == "system")
    turns = [message for message in messages if message["role"] != "system"]
    body = {"model": endpoint.model, "max_tokens": 1024, "messages": turns, **parameters}
    if system:
        body["system"] = system
    return body


def answer_text(endpoint: Endpoint, payload: bytes) -> str:
    """The text of a chat answer (OpenAI's first choice, or Anthropic's text blocks)."""
    try:
        body = orjson.loads(payload)
        if endpoint.vendor == "anthropic":
            return "".join(block.get("text", "") for block in body["content"] if block.get("type") == "text")
        content = body["choices"][0]["message"]["content"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise UpstreamError(
            f"the answer of {endpoint.upstream}/{endpoint.model} is not a chat answer ({exc!r})"
        ) from None
    return content if isinstance(content, str) else ""


class ProxyJudge:
    """A `JudgeClient`: one judge model, asked on behalf of one evaluator (named on each call)."""

    def __init__(
        self,
        client: ProxyClient,
        endpoint: Endpoint,
        evaluator: str,
        *,
        max_tokens: int = 1024,
        max_retries: int = 4,
        metadata: Mapping[str, str] | None = None,
        traceparent: str | None = None,
    ) -> None:
        self._client, self.endpoint = client, endpoint
        self._max_tokens, self._max_retries = max_tokens, max_retries
        self._headers = {"x-glassgate-tags": JUDGE_TAG, "x-glassgate-metadata-evaluator": evaluator}
        self._headers.update({f"x-glassgate-metadata-{name}": value for name, value in (metadata or {}).items()})
        if traceparent:
            self._headers["traceparent"] = traceparent

    def bound(self, metadata: Mapping[str, str], traceparent: str | None = None) -> ProxyJudge:
        """The same judge, its calls also naming `metadata` (run, item, rule) and joining a trace."""
        judge = ProxyJudge(
            self._client,
            self.endpoint,
            self._headers["x-glassgate-metadata-evaluator"],
            max_tokens=self._max_tokens,
            max_retries=self._max_retries,
            traceparent=traceparent,
        )
        judge._headers.update({f"x-glassgate-metadata-{name}": value for name, value in metadata.items()})
        return judge

    async def complete(self, prompt: str, *, system: str | None = None) -> str:
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        parameters: dict[str, Any] = {"temperature": 0, "max_tokens": self._max_tokens}
        body = chat_body(self.endpoint, messages, parameters)
        answer = await self._client.post(self.endpoint, body, self._headers, self._max_retries)
        return answer_text(self.endpoint, answer.body)
