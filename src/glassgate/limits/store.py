"""The counters in Redis: one Lua script call per check (EVALSHA, one round trip), fail fast.

The commands are mostly encoded once (plans) and go out through an endpoint (endpoints): one
Redis, or the node of a Redis Cluster that serves their slot. A check whose counters fall in
several slots of a cluster is one script call per slot, all sent at once (see the limiter).

Every Redis problem (refused, reset, slower than the timeout, a script error, a cluster without
a node for a slot) becomes one `LimitsUnavailable`, here at the boundary. After a failure, Redis
is left alone for a second: the calls meanwhile are decided by `on_redis_error` at once, instead
of each waiting out a timeout against a server that is down. The outage is logged when it starts
and when it ends, never per call. A cluster slot caught in the middle of a move (TRYAGAIN, while
resharding) is no outage: that one call is decided by `on_redis_error`, the others go on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any

from redis.crc import key_slot
from redis.exceptions import MovedError, NoScriptError, RedisClusterException, RedisError, TryAgainError

from glassgate.errors import GlassgateError
from glassgate.limits.endpoints import connect
from glassgate.limits.plans import Batch
from glassgate.limits.resp import array_header, bulk, command

log = logging.getLogger(__name__)

_PAUSE_AFTER_FAILURE_S = 1.0
_MAX_CONNECTIONS = 64
_FAILURES = (RedisError, RedisClusterException, OSError, TimeoutError)

# KEYS: each counter's current window and the previous minute (a day's counter names its day twice).
# ARGV[1]: the previous minute's weight; ARGV[2], ARGV[3]: the tokens and nano-USD the call takes;
# then each counter's kind (r, t or u: requests, tokens, USD) and its limit.
# Every counter must have room, then every counter takes its amount: all or nothing, atomically.
# Returns {0} when admitted, else {i, current, previous} of the first counter without room.
CHECK = """
local weight = tonumber(ARGV[1])
local amounts = {r = 1, t = tonumber(ARGV[2]), u = tonumber(ARGV[3])}
local values = redis.call('MGET', unpack(KEYS))
for i = 1, #KEYS / 2 do
  local kind = ARGV[2 + 2 * i]
  local limit = tonumber(ARGV[3 + 2 * i])
  local current = tonumber(values[2 * i - 1]) or 0
  local previous = 0
  if kind ~= 'u' then
    previous = tonumber(values[2 * i]) or 0
  end
  local used = previous * weight + current
  if used >= limit or used + amounts[kind] > limit then
    return {i, current, previous}
  end
end
for i = 1, #KEYS / 2 do
  local kind = ARGV[2 + 2 * i]
  local amount = amounts[kind]
  -- A window's first amount gives it its lifetime: two minutes, or two days for a UTC day.
  if amount > 0 and redis.call('INCRBY', KEYS[2 * i - 1], amount) == amount then
    redis.call('PEXPIRE', KEYS[2 * i - 1], kind == 'u' and 172800000 or 120000)
  end
end
return {0}
"""

# Settle or release reservations: add each delta to its counter if the counter still exists (a
# window that has expired is not brought back), never below zero; the key keeps its lifetime.
ADJUST = """
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    if redis.call('INCRBY', KEYS[i], ARGV[i]) < 0 then
      redis.call('SET', KEYS[i], 0, 'KEEPTTL')
    end
  end
end
return #KEYS
"""


class LimitsUnavailable(GlassgateError):
    """Redis could not be asked (down, slow, or paused after a failure): `on_redis_error` decides."""


class _Script:
    """A Lua script: EVALSHA, and EVAL (which caches it) when the server does not know it yet."""

    def __init__(self, source: str) -> None:
        self.source = source.encode()
        sha = hashlib.sha1(self.source).hexdigest().encode()
        self.evalsha = bulk(b"EVALSHA") + bulk(sha)  # a command's verb and script, encoded once
        self.eval = bulk(b"EVAL") + bulk(self.source)


class RedisCounters:
    """Lifecycle: build, `check` and `adjust`, `close`. Connects lazily; `open` only warms up."""

    def __init__(self, url: str, timeout_s: float, *, cluster: bool) -> None:
        # No retries inside redis-py: one failure is an answer (open or closed), not a reason to
        # make the client wait longer. Each call runs under one asyncio timeout (waiting for a
        # connection included), so the connections need no socket timeout of their own.
        self._endpoint = connect(url, cluster=cluster, connect_timeout_s=timeout_s, max_connections=_MAX_CONNECTIONS)
        self._cluster = cluster
        self._check = _Script(CHECK)
        self._adjust = _Script(ADJUST)
        self._timeout_s = timeout_s
        self._paused_until = 0.0
        self._down_since: float | None = None
        self.errors = 0  # failed calls to Redis since start
        self._outage_errors = self._outage_skipped = 0

    async def open(self) -> None:
        """Connect and load the scripts now, not at the first call; a Redis that is down is only logged."""
        try:
            async with asyncio.timeout(max(self._timeout_s, 1.0)):
                for script in (self._check, self._adjust):
                    await self._endpoint.send_to_primaries([command(b"SCRIPT", b"LOAD", script.source)])
        except _FAILURES as exc:
            self._failed(exc)

    async def close(self) -> None:
        await self._endpoint.aclose()

    async def check(self, batch: Batch, amounts: bytes) -> list[int]:
        """The check script on one batch of counters (see CHECK); `amounts` from plans.encode_amounts."""
        result: list[int] = await self._run(self._check, batch.slot, batch.header, batch.keys, amounts, batch.limits)
        return result

    async def adjust(self, deltas: dict[bytes, int]) -> int:
        """Add the deltas to their counters; how many of them Redis did not take."""
        if not self._cluster:
            return await self._adjust_slot(0, list(deltas.items()))
        by_slot: dict[int, list[tuple[bytes, int]]] = {}
        for key, delta in deltas.items():
            by_slot.setdefault(key_slot(key), []).append((key, delta))
        lost = await asyncio.gather(*(self._adjust_slot(slot, items) for slot, items in by_slot.items()))
        return sum(lost)

    async def _adjust_slot(self, slot: int, items: list[tuple[bytes, int]]) -> int:
        keys = b"".join([bulk(key) for key, _ in items])
        deltas = b"".join([bulk(b"%d" % delta) for _, delta in items])
        header = array_header(3 + 2 * len(items))
        try:
            await self._run(self._adjust, slot, header, bulk(b"%d" % len(items)), keys, deltas)
        except LimitsUnavailable:
            return len(items)
        return 0

    async def _run(self, script: _Script, slot: int, header: bytes, *body: bytes) -> Any:
        if self._down_since is not None and time.monotonic() < self._paused_until:
            self._outage_skipped += 1
            raise LimitsUnavailable("Redis failed a moment ago; not asked again yet")
        try:
            async with asyncio.timeout(self._timeout_s):
                try:
                    result = await self._endpoint.send(slot, (header, script.evalsha, *body))
                except NoScriptError:  # a Redis restarted (or failed over) since the scripts were loaded
                    result = await self._endpoint.send(slot, (header, script.eval, *body))
        except TryAgainError as exc:
            # A slot in the middle of a move (resharding): this call only, Redis is not down.
            self.errors += 1
            raise LimitsUnavailable(self._describe(exc)) from exc
        except _FAILURES as exc:
            self._failed(exc)
            raise LimitsUnavailable(self._describe(exc)) from exc
        if self._down_since is not None:
            log.warning(
                "limits: Redis answers again after %.1f s (%d calls to it failed, %d more were not tried)",
                time.monotonic() - self._down_since,
                self._outage_errors,
                self._outage_skipped,
            )
            self._down_since = None
        return result

    def _failed(self, exc: BaseException) -> None:
        self.errors += 1
        now = time.monotonic()
        self._paused_until = now + _PAUSE_AFTER_FAILURE_S
        if self._down_since is None:
            self._down_since = now
            self._outage_errors = self._outage_skipped = 0
            log.warning("limits: Redis unreachable (%s); on_redis_error decides until it answers", self._describe(exc))
        self._outage_errors += 1

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError) and not str(exc):
            return "no answer within the timeout"
        text = f"{type(exc).__name__}: {exc}"[:300]
        if isinstance(exc, MovedError) and not self._cluster:
            text += " (this Redis is a cluster: set limits.redis_cluster: true)"
        return text
