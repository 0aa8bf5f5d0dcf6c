"""GET /api/v1/sessions over real PostgreSQL: grouping, order by last activity, keyset pages, the prefix filter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from glassgate.storage import sessions as session_store
from glassgate.storage.spans import insert_spans
from glassgate.tracing.span import Span
from tests.integration.api.accounts import Api, running_api
from tests.integration.storage.test_spans import T0, make_span


def call(number: int, session: str | None, **fields: object) -> Span:
    return make_span(number, session_id=session, **fields)


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    async with running_api(database_url) as running:
        yield running


async def listed(http: httpx.AsyncClient, **query: str | int) -> dict[str, object]:
    response = await http.get("/api/v1/sessions", params=query)
    assert response.status_code == 200, response.text
    page: dict[str, object] = response.json()
    return page


async def every_page(http: httpx.AsyncClient, limit: int, **query: str) -> list[str]:
    seen: list[str] = []
    cursor: object = None
    while True:
        page = await listed(http, limit=limit, **({"cursor": str(cursor)} if cursor else {}), **query)
        seen += [row["session_id"] for row in page["data"]]  # type: ignore[attr-defined]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_sessions_sum_up_their_calls_latest_activity_first(api: Api) -> None:
    await insert_spans(
        api.pool,
        [
            call(1, "chat-1", user_id="alice", input_tokens=10, output_tokens=5, cost_usd=0.25, cost_status="priced"),
            call(2, "chat-2", user_id="bob", model="claude", input_tokens=7, output_tokens=3),
            call(3, None),
            call(4, "chat-1", user_id="carol", status="error", response_model="gpt-4o-mini-2024", cost_usd=0.5),
            call(5, "chat-1", cost_status="unpriced", model="mystery"),
            call(6, None),
        ],
    )
    async with api.client(bearer=True) as http:
        page = await listed(http)
    rows = page["data"]
    assert isinstance(rows, list)
    assert [row["session_id"] for row in rows] == ["chat-1", "chat-2"]
    chat = rows[0]
    assert (chat["calls"], chat["errors"], chat["unpriced_calls"]) == (3, 1, 1)
    assert (chat["input_tokens"], chat["output_tokens"], chat["cost_usd"]) == (10, 5, 0.75)
    assert chat["first_at"] == (T0 + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    assert chat["last_at"] == (T0 + timedelta(seconds=5)).isoformat().replace("+00:00", "Z")
    assert chat["last_span_id"] == f"{5:016x}"
    assert chat["users"] == ["alice", "carol"]
    assert chat["models"] == ["gpt-4o-mini", "gpt-4o-mini-2024", "mystery"]
    assert rows[1]["cost_usd"] is None and rows[1]["models"] == ["claude"]
    assert page["next_cursor"] is None


async def test_pages_cover_every_session_once_in_order_of_last_activity(api: Api) -> None:
    # 40 sessions whose calls interleave: session k calls at k, k + 40, and, for even k, k + 80.
    spans = [call(k + offset, f"s-{k:02d}") for k in range(40) for offset in (0, 40, 80) if offset < 80 or k % 2 == 0]
    await insert_spans(api.pool, spans)
    expected_last = {f"s-{k:02d}": k + (80 if k % 2 == 0 else 40) for k in range(40)}
    expected = sorted(expected_last, key=lambda session: -expected_last[session])
    async with api.client(bearer=True) as http:
        for limit in (1, 7, 40, 200):
            assert await every_page(http, limit) == expected, limit


async def test_a_walk_longer_than_one_step_still_pages_correctly(api: Api) -> None:
    # One busy session holds the newest spans: the walk reads several steps before it meets the others.
    busy = [call(1000 + number, "busy") for number in range(session_store._FIRST_WALK * 3)]
    quiet = [call(number, f"quiet-{number}") for number in range(5)]
    await insert_spans(api.pool, [*busy, *quiet])
    async with api.client(bearer=True) as http:
        assert await every_page(http, 2) == ["busy", "quiet-4", "quiet-3", "quiet-2", "quiet-1", "quiet-0"]
        page = await listed(http, limit=1)
        assert page["data"][0]["calls"] == len(busy)  # type: ignore[index]


@pytest.mark.parametrize("probe_limit", [session_store.PREFIX_PROBE_LIMIT, 1])
@pytest.mark.parametrize("code_point_order", [True, False])
async def test_the_prefix_filter_every_way(
    api: Api, monkeypatch: pytest.MonkeyPatch, probe_limit: int, code_point_order: bool
) -> None:
    # probe_limit 1 makes every prefix look common, so the walk answers instead of the grouping;
    # without code point order (a language's collation), the index range is not used.
    monkeypatch.setattr(session_store, "PREFIX_PROBE_LIMIT", probe_limit)
    if not code_point_order:
        monkeypatch.setattr(session_store, "_CODE_POINT_ORDER", "SELECT false")
    await insert_spans(
        api.pool,
        [call(1, "team-a/1"), call(2, "team-b/1"), call(3, "team-a/2"), call(4, "team_x"), call(5, "team-a/1")],
    )
    async with api.client(bearer=True) as http:
        assert await every_page(http, 1, q="team-a/") == ["team-a/1", "team-a/2"]
        assert await every_page(http, 5, q="team_") == ["team_x"]  # `_` is a character, not a wildcard
        assert await every_page(http, 5, q="team%") == []
        assert await every_page(http, 5, q="") == ["team-a/1", "team_x", "team-a/2", "team-b/1"]
        assert await every_page(http, 5, q="team-a/1") == ["team-a/1"]


async def test_a_bad_cursor_and_bounds_are_refused(api: Api) -> None:
    async with api.client(bearer=True) as http:
        bad = await http.get("/api/v1/sessions", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
        assert (await http.get("/api/v1/sessions", params={"limit": 201})).status_code == 422
    async with api.client() as anonymous:
        assert (await anonymous.get("/api/v1/sessions")).status_code == 401
