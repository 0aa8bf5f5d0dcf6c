"""The providers' one HTTP call: failures become ProviderError; parallel calls stop at the first failure."""

from __future__ import annotations

import asyncio

import pytest

from glassgate.errors import UpstreamTimeout, UpstreamUnavailable
from glassgate.guard_providers import ProviderError
from glassgate.guard_providers.transport import MAX_ANSWER_BYTES, Service, all_or_first_error, post
from glassgate.proxy.http1 import ConnectionPool
from tests.fakes.provider_pool import FakePool, Reply


async def posted(reply: Reply) -> bytes:
    return (await post(FakePool(lambda request: reply), "/x", [], b"{}", "svc")).body


async def test_the_whole_answer_is_read_and_the_connection_released() -> None:
    pool = FakePool(lambda request: (200, b'{"ok": true, "padding": "0123456789"}'))
    answer = await post(pool, "/x", [("a", "b")], b"{}", "svc")
    assert answer.status == 200 and answer.json("svc") == {"ok": True, "padding": "0123456789"}
    assert answer.header("Content-Type") == "application/json"


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (UpstreamTimeout("read"), "svc did not answer in time"),
        (UpstreamUnavailable("connection refused"), "svc could not be reached: connection refused"),
        (ValueError("CR/LF"), "svc: the request cannot be sent as configured"),
        ((200, b"x" * (MAX_ANSWER_BYTES + 1)), "more than"),
    ],
)
async def test_failures_become_provider_errors(reply: Reply, message: str) -> None:
    with pytest.raises(ProviderError, match=message):
        await posted(reply)


def test_a_service_url_is_checked_and_its_pool_opened_on_first_use() -> None:
    with pytest.raises(ValueError, match="not an absolute"):
        Service("ftp://x", 1.0)
    service = Service("https://contoso.example:8443/base/", 1.5)
    assert (service.host_header, service.base_path) == ("contoso.example:8443", "/base")
    assert isinstance(service.pool, ConnectionPool) and service.pool is service.pool


async def test_all_or_first_error_cancels_the_rest_at_the_first_failure() -> None:
    cancelled = asyncio.Event()

    async def slow() -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 1

    async def failing() -> int:
        raise ProviderError("boom")

    with pytest.raises(ProviderError, match="boom"):
        await all_or_first_error([slow(), failing()])
    await asyncio.wait_for(cancelled.wait(), 1)

    async def value(number: int) -> int:
        await asyncio.sleep(0)
        return number

    assert await all_or_first_error([value(1), value(2)]) == [1, 2]
