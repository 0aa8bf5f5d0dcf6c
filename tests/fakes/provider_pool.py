"""A fake connection pool for the guardrail providers' transport seam (no sockets).

`FakePool(answer)` records every request and answers with `answer(request)`: a
`(status, body)` pair, a `(status, body, headers)` triple, or an exception to raise (as the
real pool raises UpstreamTimeout or UpstreamUnavailable). `opener()` gives the factory a
`ProviderContext(open_pool=...)` expects, remembering each pool it opened.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

Reply = tuple[int, bytes] | tuple[int, bytes, dict[str, str]] | BaseException


@dataclass
class Sent:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)


class FakeResponse:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status = status
        self.raw_headers = [(key.encode(), value.encode()) for key, value in headers.items()]
        self._body = body
        self.released = False

    async def _chunks(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._body), 7):  # in pieces, as a socket delivers them
            yield self._body[start : start + 7]

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    def release(self) -> None:
        self.released = True


@dataclass
class FakePool:
    answer: Callable[[Sent], Reply]
    sent: list[Sent] = field(default_factory=list)
    closed: bool = False
    origin: tuple[str, str, int] = ("https", "example.invalid", 443)

    async def request(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> FakeResponse:
        request = Sent(method, target, headers, body)
        self.sent.append(request)
        reply = self.answer(request)
        if isinstance(reply, BaseException):
            raise reply
        status, data, *rest = reply
        return FakeResponse(status, data, {"content-type": "application/json", **(rest[0] if rest else {})})

    async def close(self) -> None:
        self.closed = True


def json_reply(value: Any, status: int = 200) -> tuple[int, bytes]:
    return status, json.dumps(value).encode()


@dataclass
class Opener:
    """A `PoolFactory` whose pools all answer with `answer`."""

    answer: Callable[[Sent], Reply]
    pools: list[FakePool] = field(default_factory=list)

    def __call__(self, scheme: str, host: str, port: int, timeout_s: float) -> FakePool:
        pool = FakePool(self.answer, origin=(scheme, host, port))
        self.pools.append(pool)
        return pool

    @property
    def sent(self) -> list[Sent]:
        return [request for pool in self.pools for request in pool.sent]
