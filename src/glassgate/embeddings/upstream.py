"""The `upstream` embedder: an OpenAI-format embeddings model, called through Glassgate itself.

The calls go to Glassgate's own proxy port on loopback, not to the vendor directly, so they
take the same path as any client's: the upstream's credentials and allow-list, guardrails,
and a span of their own, tagged `glassgate-internal,embeddings` (the worker never embeds
those spans, or each batch would make the next). The wire format is OpenAI's:

    openai   POST /{upstream}/v1/embeddings                                    {"model", "input": [...], "dimensions"}
    azure    POST /{upstream}/openai/deployments/{model}/embeddings?api-version=...  {"input": [...], "dimensions"}

`api_key` authenticates the call to Glassgate the way a client would: a Glassgate key for an
upstream that holds its own credential, or the vendor's key for a passthrough upstream.
429 and 5xx answers and broken connections are retried with exponential backoff (honouring
Retry-After); 400, 413 and 422 mean the texts themselves were refused (a guardrail block,
a text too long) and raise EmbeddingRejected, so the caller can set those texts aside.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from yarl import URL

from glassgate.embeddings.base import EmbeddingRejected, fit_dimensions
from glassgate.errors import UpstreamError

if TYPE_CHECKING:
    import aiohttp

    from glassgate.config import Settings

INTERNAL_TAGS = "glassgate-internal,embeddings"
_RETRIED = frozenset({429, 500, 502, 503, 504})
_REFUSED = frozenset({400, 413, 422})
MAX_RETRY_AFTER_S = 30.0


def loopback_host(host: str) -> str:
    """Where this process's own server answers, given the address it listens on."""
    if host in ("", "0.0.0.0", "localhost"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


class UpstreamEmbedder:
    def __init__(
        self,
        *,
        proxy_url: str,
        upstream: str,
        vendor: str,
        model: str,
        dimensions: int | None,
        api_key: str | None,
        api_version: str = "2024-10-21",
        batch_size: int = 64,
        timeout_s: float = 30.0,
        max_retries: int = 4,
        backoff_s: float = 0.5,
    ) -> None:
        self.name = f"upstream/{upstream}/{model}/{dimensions or 'full'}"
        base = URL(proxy_url)
        if vendor == "azure":
            self._url = (base / upstream / "openai" / "deployments" / model / "embeddings").with_query(
                {"api-version": api_version}
            )
        else:
            self._url = base / upstream / "v1" / "embeddings"
        self._fields: dict[str, Any] = {} if vendor == "azure" else {"model": model}  # Azure: the deployment
        if dimensions is not None:
            self._fields["dimensions"] = dimensions
        self._headers = {"content-type": "application/json", "x-glassgate-tags": INTERNAL_TAGS}
        if api_key:
            self._headers["api-key" if vendor == "azure" else "authorization"] = (
                api_key if vendor == "azure" else f"Bearer {api_key}"
            )
        self._batch_size = batch_size
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> UpstreamEmbedder:
        config = settings.embeddings
        if config.upstream is None or config.upstream not in settings.upstreams:
            raise KeyError(f"embeddings.upstream {config.upstream!r} is not a configured upstream")
        scheme = "https" if settings.tls_cert else "http"
        return cls(
            proxy_url=str(URL.build(scheme=scheme, host=loopback_host(settings.host), port=settings.port)),
            upstream=config.upstream,
            vendor=settings.upstreams[config.upstream].vendor,
            model=config.model,
            dimensions=config.dimensions,
            api_key=config.api_key.get_secret_value() if config.api_key else None,
            api_version=config.api_version,
            batch_size=config.batch_size,
            timeout_s=config.timeout_s,
        )

    @property
    def url(self) -> str:
        return str(self._url)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors.extend(await self._call(texts[start : start + self._batch_size]))
        return vectors

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, texts: Sequence[str]) -> list[list[float]]:
        import aiohttp  # here, not at the top: a server that never uses this embedder keeps its ~7 MB

        if self._session is None:
            # Our own server on loopback, whose certificate (if it serves HTTPS) names a public host.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=4, ssl=False), timeout=aiohttp.ClientTimeout(total=self._timeout_s)
            )
        body = orjson.dumps({**self._fields, "input": list(texts), "encoding_format": "float"})
        for attempt in range(self._max_retries + 1):
            delay = self._backoff_s * 2**attempt * (0.5 + random.random() / 2)
            try:
                async with self._session.post(self._url, data=body, headers=self._headers) as response:
                    status, payload = response.status, await response.read()
                    retry_after = response.headers.get("retry-after", "")
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"{type(exc).__name__}: {exc}".rstrip(": ")
            else:
                if status == 200:
                    return _vectors(payload, len(texts))
                problem = f"HTTP {status}: {_error_message(payload)}"
                if status in _REFUSED:
                    raise EmbeddingRejected(f"embeddings call to {self._url} refused ({problem})")
                if status not in _RETRIED:
                    raise UpstreamError(f"embeddings call to {self._url} failed ({problem})")
                if retry_after.replace(".", "", 1).isdigit():
                    delay = max(delay, min(float(retry_after), MAX_RETRY_AFTER_S))
            if attempt == self._max_retries:
                raise UpstreamError(f"embeddings call to {self._url} failed {attempt + 1} times (last: {problem})")
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")


def _vectors(payload: bytes, expected: int) -> list[list[float]]:
    try:
        items = orjson.loads(payload)["data"]
        ordered = sorted(items, key=lambda item: item["index"])
        vectors = [fit_dimensions(item["embedding"]) for item in ordered]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UpstreamError(f"the embeddings answer is not in OpenAI's format ({type(exc).__name__}: {exc})") from None
    if len(vectors) != expected:
        raise UpstreamError(f"the embeddings answer has {len(vectors)} vectors for {expected} texts")
    return vectors


def _error_message(payload: bytes) -> str:
    try:
        error = orjson.loads(payload)["error"]
        return str(error["message"] if isinstance(error, dict) else error)[:300]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return payload[:300].decode("utf-8", "replace")
