"""The counters in Redis: one Lua script call per check (EVALSHA, one round trip), fail fast.

redis-py provides the connections (pool, connect, parse, disconnect on any error or
cancellation); the command is packed here once and sent on a pooled connection directly, which
cuts the CPU of a check by ~40% against `Redis.evalsha` (its per-command retry and
observability layers and a second timeout per read: ~120 µs → ~70 µs measured here).

Every Redis problem (refused, reset, slower than the timeout, a script error) becomes one
`LimitsUnavailable`, here at the boundary. After a failure, Redis is left alone for a second:
the calls meanwhile are decided by `on_redis_error` at once, instead of each waiting out a
timeout against a server that is down. The outage is logged when it starts and when it ends,
never per call.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from glassgate.errors import GlassgateError

log = logging.getLogger(__name__)

_PAUSE_AFTER_FAILURE_S = 1.0
_MAX_CONNECTIONS = 64

# KEYS[2i-1], KEYS[2i]: counter i's current and previous window.
# ARGV[3i-2 .. 3i]: its limit, the amount this call takes, and the previous window's weight: > 0
# for a sliding minute (whose key then lives two minutes), 0 for a fixed UTC day (two days).
# Every counter must have room, then every counter takes its amount: all or nothing, atomically.
# Returns {0} when admitted, else {i, current, previous} of the first counter without room.
CHECK = """
local n = #KEYS / 2
for i = 1, n do
  local limit = tonumber(ARGV[3 * i - 2])
  local amount = tonumber(ARGV[3 * i - 1])
  local weight = tonumber(ARGV[3 * i])
  local current = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local previous = 0
  if weight > 0 then
    previous = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  end
  local used = previous * weight + current
  if used >= limit or used + amount > limit then
    return {i, current, previous}
  end
end
for i = 1, n do
  local amount = tonumber(ARGV[3 * i - 1])
  if amount > 0 then
    redis.call('INCRBY', KEYS[2 * i - 1], amount)
    if tonumber(ARGV[3 * i]) > 0 then
      redis.call('PEXPIRE', KEYS[2 * i - 1], 120000)
    else
      redis.call('PEXPIRE', KEYS[2 * i - 1], 172800000)
    end
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
        self.sha = hashlib.sha1(self.source).hexdigest().encode()


class RedisCounters:
    """Lifecycle: build, `check` and `adjust`, `close`. Connects lazily; `open` only warms up."""

    def __init__(self, url: str, timeout_s: float) -> None:
        # No retries inside redis-py: one failure is an answer (open or closed), not a reason
        # to make the client wait longer. Each call runs under one asyncio timeout (waiting for
        # a pooled connection included), so the connections need no socket timeout of their own.
        self._pool = BlockingConnectionPool.from_url(
            url,
            max_connections=_MAX_CONNECTIONS,
            timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
        )
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
                    await self._send(_command(b"SCRIPT", b"LOAD", script.source))
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)

    async def close(self) -> None:
        await self._pool.aclose()

    async def check(self, keys: Sequence[str], args: Sequence[bytes]) -> list[int]:
        result: list[int] = await self._run(self._check, keys, args)
        return result

    async def adjust(self, deltas: dict[str, int]) -> None:
        if deltas:
            await self._run(self._adjust, list(deltas), [str(delta).encode() for delta in deltas.values()])

    async def _run(self, script: _Script, keys: Sequence[str], args: Sequence[bytes]) -> Any:
        if self._down_since is not None and time.monotonic() < self._paused_until:
            self._outage_skipped += 1
            raise LimitsUnavailable("Redis failed a moment ago; not asked again yet")
        try:
            async with asyncio.timeout(self._timeout_s):
                try:
                    result = await self._send(_pack(b"EVALSHA", script.sha, keys, args))
                except NoScriptError:  # a Redis restarted (or failed over) since the scripts were loaded
                    result = await self._send(_pack(b"EVAL", script.source, keys, args))
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            raise LimitsUnavailable(_describe(exc)) from exc
        if self._down_since is not None:
            log.warning(
                "limits: Redis answers again after %.1f s (%d calls to it failed, %d more were not tried)",
                time.monotonic() - self._down_since,
                self._outage_errors,
                self._outage_skipped,
            )
            self._down_since = None
        return result

    async def _send(self, command: bytes) -> Any:
        """One command on a pooled connection; redis-py drops the connection on any error or cancellation."""
        connection = await self._pool.get_connection()  # type: ignore[no-untyped-call]  # unannotated in redis-py
        try:
            await connection.send_packed_command(command, check_health=False)
            return await connection.read_response()
        finally:
            await self._pool.release(connection)

    def _failed(self, exc: BaseException) -> None:
        self.errors += 1
        now = time.monotonic()
        self._paused_until = now + _PAUSE_AFTER_FAILURE_S
        if self._down_since is None:
            self._down_since = now
            self._outage_errors = self._outage_skipped = 0
            log.warning("limits: Redis unreachable (%s); on_redis_error decides until it answers", _describe(exc))
        self._outage_errors += 1


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return "no answer within the timeout"
    return f"{type(exc).__name__}: {exc}"[:300]


def _pack(verb: bytes, script: bytes, keys: Sequence[str], args: Sequence[bytes]) -> bytes:
    """EVAL/EVALSHA in RESP, built in one pass (this is most of a check's own CPU)."""
    encoded = [key.encode("utf-8", "surrogatepass") for key in keys]
    return _command(verb, script, str(len(keys)).encode(), *encoded, *args)


def _command(*parts: bytes) -> bytes:
    """A command in RESP: an array of bulk strings."""
    return b"*%d\r\n" % len(parts) + b"".join([b"$%d\r\n%s\r\n" % (len(part), part) for part in parts])
