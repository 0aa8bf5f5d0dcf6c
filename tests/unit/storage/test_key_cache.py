"""KeyCache: which answers it trusts, for how long, and what a change announcement does."""

from __future__ import annotations

import asyncio

import asyncpg

from glassgate.storage.key_cache import KeyCache, KeyEvents


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Lookups:
    """A lookup that answers from a dict and counts its calls (the database stand-in)."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.calls = 0
        self.fail = False

    async def __call__(self, ident: str) -> str | None:
        self.calls += 1
        if self.fail:
            raise ConnectionRefusedError("database down")
        return self.answers.get(ident)


def listening(clock: Clock, since: float | None) -> KeyEvents:
    events = KeyEvents("postgresql://unused/db", clock=clock)
    events.listening_since = since
    return events


def cache_for(clock: Clock, events: KeyEvents | None) -> KeyCache[str]:
    cache = KeyCache[str]("key", fallback_ttl_s=30, listening_ttl_s=300, negative_ttl_s=5, clock=clock)
    if events is not None:
        cache.listen(events)
    return cache


async def test_without_a_listener_an_answer_is_trusted_for_the_fallback_ttl() -> None:
    clock, lookups = Clock(), Lookups({"k": "team-a"})
    cache = cache_for(clock, None)
    assert await cache.get("k", lookups) == "team-a"
    clock.now += 29
    assert await cache.get("k", lookups) == "team-a" and lookups.calls == 1
    clock.now += 2
    lookups.answers.clear()  # revoked
    assert await cache.get("k", lookups) is None and lookups.calls == 2


async def test_while_listening_an_answer_is_trusted_until_a_change_is_announced() -> None:
    clock, lookups = Clock(), Lookups({"k": "team-a"})
    events = listening(clock, since=clock.now - 1)
    cache = cache_for(clock, events)
    assert await cache.get("k", lookups) == "team-a"
    clock.now += 200
    assert await cache.get("k", lookups) == "team-a" and lookups.calls == 1
    lookups.answers.clear()
    events._on_notification(None, 1, "glassgate_keys", "key:k")
    assert await cache.get("k", lookups) is None and lookups.calls == 2


async def test_announcements_of_another_kind_or_key_leave_the_entry() -> None:
    clock, lookups = Clock(), Lookups({"k": "team-a"})
    events = listening(clock, since=clock.now - 1)
    cache = cache_for(clock, events)
    await cache.get("k", lookups)
    events._on_notification(None, 1, "glassgate_keys", "aws:k")
    events._on_notification(None, 1, "glassgate_keys", "key:other")
    await cache.get("k", lookups)
    assert lookups.calls == 1


async def test_losing_the_listener_falls_back_to_the_short_ttl_at_once() -> None:
    clock, lookups = Clock(), Lookups({"k": "team-a"})
    events = listening(clock, since=clock.now - 1)
    cache = cache_for(clock, events)
    await cache.get("k", lookups)
    clock.now += 60
    events.listening_since = None  # lost: a NOTIFY may have been missed
    lookups.answers.clear()
    assert await cache.get("k", lookups) is None


async def test_answers_from_before_a_reconnect_keep_only_the_short_ttl() -> None:
    clock, lookups = Clock(), Lookups({"k": "team-a"})
    events = listening(clock, since=clock.now - 1)
    cache = cache_for(clock, events)
    await cache.get("k", lookups)
    clock.now += 10
    events.listening_since = clock.now  # reconnected: what happened in between was not heard
    clock.now += 15
    assert await cache.get("k", lookups) == "team-a" and lookups.calls == 1
    clock.now += 6
    await cache.get("k", lookups)
    assert lookups.calls == 2


async def test_unknown_keys_are_cached_briefly_even_while_listening() -> None:
    clock, lookups = Clock(), Lookups({})
    cache = cache_for(clock, listening(clock, since=clock.now - 1))
    assert await cache.get("new", lookups) is None
    lookups.answers["new"] = "team-a"  # inserted without a NOTIFY
    clock.now += 4
    assert await cache.get("new", lookups) is None
    clock.now += 2
    assert await cache.get("new", lookups) == "team-a"


async def test_an_answer_read_while_a_change_was_announced_is_used_once_not_kept() -> None:
    clock = Clock()
    events = listening(clock, since=clock.now - 1)
    cache = cache_for(clock, events)
    release = asyncio.Event()
    calls = 0

    async def slow_lookup(ident: str) -> str | None:
        nonlocal calls
        calls += 1
        await release.wait()
        return "team-a"  # read before the revocation committed

    pending = asyncio.ensure_future(cache.get("k", slow_lookup))
    await asyncio.sleep(0)
    clock.now += 0.01
    events._on_notification(None, 1, "glassgate_keys", "key:k")  # the revocation, heard mid-lookup
    release.set()
    assert await pending == "team-a"
    assert await cache.get("k", slow_lookup) == "team-a" and calls == 2, "looked up again, not served from cache"


async def test_a_database_outage_keeps_the_last_answer() -> None:
    clock, lookups = Clock(), Lookups({"k": "team-a"})
    cache = cache_for(clock, None)
    await cache.get("k", lookups)
    clock.now += 3600
    lookups.fail = True
    assert await cache.get("k", lookups) == "team-a"
    assert await cache.get("never-seen", lookups) is None


async def test_postgres_errors_count_as_an_outage() -> None:
    clock = Clock()
    cache = cache_for(clock, None)

    async def broken(ident: str) -> str | None:
        raise asyncpg.CannotConnectNowError("starting up")

    assert await cache.get("k", broken) is None
