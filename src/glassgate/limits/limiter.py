"""The limiter: reserve before a call is forwarded, settle after, release when nothing was sent.

    check(exchange)   before forwarding: every counter of every rule the call matches is checked
                      and takes the call's worst case (1 request, prompt estimate + max tokens,
                      their price) in one atomic script; a counter without room refuses the call
    finish(exchange)  when the relay ends: a call that got no answer (refused by a guardrail,
                      upstream unreachable) gives its whole reservation back
    settle(call)      when the call's span is built: tokens and USD are corrected to the real usage

Reservations waiting for their span are kept in memory by span id (a replica settles only its
own calls); one whose span never comes (the trace queue dropped it) keeps its worst case and is
forgotten after an hour.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from glassgate.config import LimitSettings
from glassgate.guardrails.engine import requested_model
from glassgate.limits.estimate import output_tokens, prompt_tokens
from glassgate.limits.refusals import Exceeded, LimitRefusal, limits_unavailable, rate_limited
from glassgate.limits.rules import NANO_USD, NO_KEY, Call, Cap, CapKind, CompiledRule
from glassgate.limits.store import LimitsUnavailable, RedisCounters
from glassgate.limits.windows import DAY_S, MINUTE_S, fixed_wait_s, sliding_use, sliding_wait_s, window_at
from glassgate.proxy.exchange import Exchange

log = logging.getLogger(__name__)

Pricer = Callable[[str, str | None, int, int], float | None]
"""(vendor, requested model, input tokens, output tokens) → USD, or None for a model without a price."""

_PENDING_MAX_AGE_S = 3600.0


class FinishedCall(Protocol):
    """What settling reads from a finished call's span (`glassgate.tracing.span.Span` has it)."""

    span_id: str
    http_status: int | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None


@dataclass
class LimitCounters:
    """Decisions since start, for /metrics."""

    allowed: int = 0  # checked and admitted
    unchecked: int = 0  # forwarded without a check: Redis unavailable, on_redis_error open
    unavailable: int = 0  # refused with 503: Redis unavailable, on_redis_error closed
    refused: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, cap kind) → 429s
    adjust_failures: int = 0  # settlements and releases Redis did not take
    unsettled: int = 0  # reservations whose span never came


@dataclass(frozen=True, slots=True)
class _Counter:
    rule: CompiledRule
    cap: Cap
    key: str
    amount: int


@dataclass(frozen=True, slots=True)
class _Reservation:
    at: float  # monotonic
    tokens: int
    nano_usd: int
    counters: tuple[tuple[str, CapKind, int], ...]  # (Redis key, kind, amount taken)


class Limiter:
    """Rate limits and budgets shared by every replica through one Redis."""

    def __init__(
        self,
        settings: LimitSettings,
        redis_url: str,
        price: Pricer,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rules = tuple(CompiledRule.of(rule) for rule in settings.rules)
        self._needs_body = any(rule.needs_model or rule.needs_usage for rule in self._rules)
        self._price = price
        self._clock = clock
        self._closed = settings.on_redis_error == "closed"
        self._default_max_tokens = settings.default_max_tokens
        self._prefix = settings.key_prefix
        self._store = RedisCounters(redis_url, settings.redis_timeout_ms / 1000.0)
        self._pending: dict[str, _Reservation] = {}
        self._adjustments: dict[str, int] = {}
        self._flush: asyncio.Task[None] | None = None
        self.counters = LimitCounters()

    @property
    def redis_errors(self) -> int:
        return self._store.errors

    async def open(self) -> None:
        await self._store.open()

    async def flush(self) -> None:
        """Wait until the settlements and releases queued so far have reached Redis (or failed)."""
        while self._flush is not None and not self._flush.done():
            await self._flush

    async def close(self) -> None:
        """Send the settlements still waiting, then close the connections (at shutdown)."""
        await self.flush()
        await self._store.close()

    async def check(self, exchange: Exchange) -> LimitRefusal | None:
        """None to forward the call (its reservation taken), or the refusal to answer with."""
        body: Any = None
        if self._needs_body and exchange.request_body:
            try:
                body = orjson.loads(exchange.request_body)
            except orjson.JSONDecodeError:
                body = None
        # The model as the span records it: the body's `model`, Azure's deployment, Bedrock's model id.
        model = requested_model(exchange.vendor, exchange.path, body) if self._needs_body else None
        call = Call(key=exchange.key_id or NO_KEY, project=exchange.project, upstream=exchange.upstream, model=model)
        rules = [rule for rule in self._rules if rule.applies_to(call)]
        if not rules:
            return None
        tokens = nano_usd = 0
        if any(rule.needs_usage for rule in rules):
            prompt = prompt_tokens(body)
            answer = output_tokens(body, exchange.path, self._default_max_tokens)
            tokens = prompt + answer
            usd = self._price(exchange.vendor, model, prompt, answer)
            nano_usd = math.ceil(usd * NANO_USD) if usd is not None else 0
        now = self._clock()
        counters, keys, args = self._counters(rules, call, now, tokens, nano_usd)
        try:
            result = await self._store.check(keys, args)
        except LimitsUnavailable:
            if self._closed:
                self.counters.unavailable += 1
                return limits_unavailable()
            self.counters.unchecked += 1
            return None
        if result[0] == 0:
            self.counters.allowed += 1
            self._remember(exchange.span_id, tokens, nano_usd, counters)
            return None
        refused = counters[int(result[0]) - 1]
        exceeded = _exceeded(refused, call, float(result[1]), float(result[2]), now)
        kind = (refused.rule.name, refused.cap.kind)
        self.counters.refused[kind] = self.counters.refused.get(kind, 0) + 1
        return rate_limited(exchange.vendor, exceeded, now)

    def _counters(
        self, rules: list[CompiledRule], call: Call, now: float, tokens: int, nano_usd: int
    ) -> tuple[list[_Counter], list[str], list[bytes]]:
        """The counters a call goes into, and the script's KEYS and ARGV (see store.CHECK)."""
        counters: list[_Counter] = []
        keys: list[str] = []
        args: list[bytes] = []
        minute, day = window_at(now, MINUTE_S), window_at(now, DAY_S)
        # The previous minute's weight, never 0 (0 marks a fixed day); encoded once per check.
        weight = f"{max(1.0 - minute.elapsed, 1e-6):.6f}".encode()
        amounts = {"requests": b"1", "tokens": str(tokens).encode(), "usd": str(nano_usd).encode()}
        for rule in rules:
            base = f"{self._prefix}:{rule.name}:{rule.group(call)}"
            for cap in rule.caps:
                if cap.kind == "usd":
                    current = previous = f"{base}:u:{day.index}"
                    args += (cap.arg, amounts["usd"], b"0")
                else:
                    current, previous = f"{base}:{cap.code}:{minute.index}", f"{base}:{cap.code}:{minute.index - 1}"
                    args += (cap.arg, amounts[cap.kind], weight)
                amount = 1 if cap.kind == "requests" else tokens if cap.kind == "tokens" else nano_usd
                counters.append(_Counter(rule, cap, current, amount))
                keys += (current, previous)
        return counters, keys, args

    def _remember(self, span_id: str, tokens: int, nano_usd: int, counters: list[_Counter]) -> None:
        taken = tuple((counter.key, counter.cap.kind, counter.amount) for counter in counters if counter.amount > 0)
        now = time.monotonic()
        self._pending[span_id] = _Reservation(now, tokens, nano_usd, taken)
        # Oldest first (insertion order): forget the reservations whose span never came.
        while self._pending:
            oldest = next(iter(self._pending))
            if now - self._pending[oldest].at < _PENDING_MAX_AGE_S:
                break
            del self._pending[oldest]
            self.counters.unsettled += 1

    def finish(self, exchange: Exchange) -> None:
        """The relay is over: a call that got no answer from upstream gives its reservation back."""
        if exchange.headers_at is not None:
            return  # answered: settled when its span is built
        reservation = self._pending.pop(exchange.span_id, None)
        if reservation is not None:
            self._queue({key: -amount for key, _, amount in reservation.counters})

    def settle(self, call: FinishedCall) -> None:
        """Correct a call's reservation to what it really used (called with each built span)."""
        reservation = self._pending.pop(call.span_id, None)
        if reservation is None:
            return
        answered = call.http_status is not None and 200 <= call.http_status < 300
        if call.input_tokens is not None or call.output_tokens is not None:
            tokens = (call.input_tokens or 0) + (call.output_tokens or 0)
        else:
            tokens = reservation.tokens if answered else 0  # an answer without usage keeps its worst case
        if call.cost_usd is not None:
            nano_usd = round(call.cost_usd * NANO_USD)
        else:
            nano_usd = reservation.nano_usd if answered else 0
        deltas: dict[str, int] = {}
        for key, kind, amount in reservation.counters:
            if kind == "tokens":
                deltas[key] = tokens - amount
            elif kind == "usd":
                deltas[key] = nano_usd - amount
        self._queue(deltas)

    def _queue(self, deltas: dict[str, int]) -> None:
        """Batch adjustments: the spans of one writer batch settle in one Redis call."""
        for key, delta in deltas.items():
            if delta:
                self._adjustments[key] = self._adjustments.get(key, 0) + delta
        if self._adjustments and (self._flush is None or self._flush.done()):
            self._flush = asyncio.get_running_loop().create_task(self._send_adjustments())

    async def _send_adjustments(self) -> None:
        while self._adjustments:
            batch, self._adjustments = self._adjustments, {}
            try:
                await self._store.adjust({key: delta for key, delta in batch.items() if delta})
            except LimitsUnavailable:
                # The counters stay at the reservation (the worst case) until their window ends.
                self.counters.adjust_failures += len(batch)


def _exceeded(counter: _Counter, call: Call, current: float, previous: float, now: float) -> Exceeded:
    cap = counter.cap
    if cap.kind == "usd":
        elapsed = window_at(now, DAY_S).elapsed
        used = current
        wait = fixed_wait_s(cap.limit, counter.amount, elapsed, DAY_S)
    else:
        elapsed = window_at(now, MINUTE_S).elapsed
        used = sliding_use(current, previous, elapsed)
        wait = sliding_wait_s(cap.limit, counter.amount, current, previous, elapsed, MINUTE_S)
    return Exceeded(
        rule=counter.rule.name,
        counter=counter.rule.describe(call),
        kind=cap.kind,
        limit=cap.limit,
        used=used,
        amount=counter.amount,
        wait_s=wait,
    )
