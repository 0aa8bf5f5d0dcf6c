"""Calls from evaluation to models, through Glassgate's own proxy: the judges, and experiment targets.

This module owns the evaluation's network. Calls go to the proxy port on loopback (or
`evals.proxy_url`), not to the vendor, so they take the path any client's call takes: the
upstream's credentials and allow-list, guardrails, and a span of their own, tagged
`glassgate-eval` (judges) or `glassgate-experiment` (targets) and named by
`x-glassgate-metadata-*` headers, so evaluation traffic is traced and recognisable (online
rules never score it). What each call presents to the proxy (a key, or a SigV4 signature for
Bedrock) is `proxy_auth`'s; the requests and answers in each vendor's format are `chat_wire`'s.

An answer is read as it arrives, chunk by chunk, so a streamed one gives its time to first
token. 429, 5xx (and Anthropic's 529) answers, broken connections and streams that end with
a vendor's "busy" error are retried with exponential backoff, honouring Retry-After; other 4xx
answers and stream errors raise `CallRefused` at once (a wrong model, a guardrail block: trying
again cannot help). A proxy that refuses connections to the end raises `ProxyUnreachable` (the
server is starting or stopping): the job, not the item, failed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
from yarl import URL

from glassgate.errors import UpstreamError
from glassgate.evals import chat_wire
from glassgate.evals.chat_wire import Endpoint
from glassgate.evals.proxy_auth import AwsKeyPair, MissingCredential, ProxyCredentials
from glassgate.proxy.vendors import CallSummary

if TYPE_CHECKING:
    import aiohttp

    from glassgate.config import EvalAwsKey, Settings

JUDGE_TAG = "glassgate-eval"
EXPERIMENT_TAG = "glassgate-experiment"
_RETRIED = frozenset({429, 500, 502, 503, 504, 529})
MAX_RETRY_AFTER_S = 30.0
_HEADER_SAFE = " !\"#$&'()*+,-./:;<=>?@[]^_`{|}~"


class CallRefused(UpstreamError):
    """The model's upstream refused the call itself (a 4xx other than 429): retrying cannot help."""


class ProxyUnreachable(UpstreamError):
    """Glassgate's own proxy did not take the connection (it is starting or stopping): not the item's fault."""


@dataclass(frozen=True)
class Answer:
    """A 2xx answer, read: the vendor adapter's summary (a stream assembled) and its timing."""

    summary: CallSummary
    span_id: str | None  # the proxy's span of the call (x-glassgate-span-id)
    latency_ms: float  # of the last try, to the answer's last byte
    ttft_ms: float | None = None  # a streamed answer: to the chunk that carried the first content


@dataclass
class ProxyClient:
    """One HTTP session to Glassgate's proxy, shared by every judge and target of a worker."""

    proxy_url: str
    credentials: ProxyCredentials = field(default_factory=ProxyCredentials)
    timeout_s: float = 120.0
    backoff_s: float = 0.5
    connections: int = 64
    _session: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ProxyClient:
        evals = settings.evals

        def pair(key: EvalAwsKey) -> AwsKeyPair:
            return AwsKeyPair(key.access_key_id, key.secret_access_key.get_secret_value())

        credentials = ProxyCredentials(
            api_keys={name: key.get_secret_value() for name, key in evals.api_keys.items()},
            default_key=evals.api_key.get_secret_value() if evals.api_key else None,
            aws_keys={name: pair(key) for name, key in evals.aws_keys.items()},
            default_aws_key=pair(evals.aws_key) if evals.aws_key else None,
            passthrough_bedrock=frozenset(
                name
                for name, upstream in settings.upstreams.items()
                if upstream.vendor == "bedrock" and upstream.auth.type == "passthrough"
            ),
        )
        return cls(
            proxy_url=evals.proxy_url or own_url(settings),
            credentials=credentials,
            timeout_s=evals.timeout_s,
            connections=max(evals.concurrency * 2, 8),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def url(self, endpoint: Endpoint) -> URL:
        query = endpoint.query()
        return URL(
            f"{self.proxy_url.rstrip('/')}/{endpoint.upstream}{endpoint.path()}" + (f"?{query}" if query else ""),
            encoded=True,  # the model id's percent-encoding is what Bedrock routes and SigV4 signs
        )

    async def post(
        self, endpoint: Endpoint, body: Mapping[str, Any], headers: Mapping[str, str], max_retries: int
    ) -> Answer:
        """The first 2xx answer; CallRefused for a 4xx, UpstreamError once the retries are spent."""
        import aiohttp  # here, not at the top: a server that runs no evaluator keeps its ~7 MB

        if self._session is None:
            # Our own server on loopback, whose certificate (if it serves HTTPS) names a public host.
            connector = aiohttp.TCPConnector(limit=self.connections, ssl=False)
            self._session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(self.timeout_s))
        url, data = self.url(endpoint), orjson.dumps(dict(body))
        extra = {name: header_text(value) for name, value in headers.items()}
        for attempt in range(max_retries + 1):
            delay = self.backoff_s * 2**attempt * (0.5 + random.random() / 2)  # jitter, not secrecy
            try:
                sent = self.credentials.headers(endpoint, url, data, extra)
            except MissingCredential as exc:
                raise CallRefused(str(exc)) from None
            started = time.perf_counter()
            chunks: list[bytes] = []
            arrivals: list[float] = []
            try:
                async with self._session.post(url, data=data, headers=sent) as response:
                    status = response.status
                    async for chunk in response.content.iter_any():
                        arrivals.append(time.perf_counter())
                        chunks.append(chunk)
                    received = {name.lower(): value for name, value in response.headers.items()}
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"{type(exc).__name__}: {exc}".rstrip(": ")
                if isinstance(exc, aiohttp.ClientConnectorError) and attempt == max_retries:
                    raise ProxyUnreachable(
                        f"Glassgate's proxy at {self.proxy_url} is unreachable ({problem})"
                    ) from None
            else:
                latency_ms = (time.perf_counter() - started) * 1000
                if 200 <= status < 300:
                    summary = chat_wire.summarize(
                        endpoint, data, status, received.get("content-type", ""), chunks, received
                    )
                    first = summary.first_content_chunk
                    if summary.error is None:
                        ttft_ms = None
                        if endpoint.stream and first is not None and first < len(arrivals):
                            ttft_ms = (arrivals[first] - started) * 1000
                        return Answer(summary, received.get("x-glassgate-span-id"), latency_ms, ttft_ms)
                    problem = f"the answer's stream ended with an error ({summary.error_type}: {summary.error})"
                    if summary.error_type not in chat_wire.TRANSIENT_STREAM_ERRORS:
                        raise CallRefused(f"{endpoint.upstream}/{endpoint.model}: {problem}")
                else:
                    problem = f"HTTP {status}: {chat_wire.error_message(b''.join(chunks))}"
                    if status not in _RETRIED:
                        raise CallRefused(f"{endpoint.upstream}/{endpoint.model} refused the call ({problem})")
                    retry_after = received.get("retry-after", "")
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
        parameters = chat_wire.judge_parameters(self.endpoint.vendor, self._max_tokens)
        body = chat_wire.chat_body(self.endpoint, messages, parameters)
        answer = await self._client.post(self.endpoint, body, self._headers, self._max_retries)
        text = chat_wire.answer_text(self.endpoint.vendor, answer.summary.response_json)
        if text is None:
            raise UpstreamError(f"the answer of {self.endpoint.upstream}/{self.endpoint.model} is not a chat answer")
        return text
