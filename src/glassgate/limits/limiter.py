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

The work that depends only on who calls what (the rules that apply, the counters' keys, most of
the command's bytes) is done once per kind of call and minute (plans). In a Redis Cluster, a check
whose counters fall in several hash slots is one script per slot (`_check_slots`).
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
from glassgate.limits.plans import Counter, Plan, Plans, encode_amounts
from glassgate.limits.refusals import Exceeded, LimitRefusal, limits_unavailable, rate_limited
from glassgate.limits.rules import NANO_USD, NO_KEY, Call, CapKind, CompiledRule
from glassgate.limits.store import LimitsUnavailable, RedisCounters
from glassgate.limits.windows import DAY_S, MINUTE_S, fixed_wait_s, sliding_use, sliding_wait_s, window_at
from glassgate.proxy.exchange import Exchange

log = logging.getLogger(__name__)

Pricer = Callable[[str, str | None, int, int], float | None]
"""(vendor, requested model, input tokens, output tokens) → USD, or None for a model without a price."""

_PENDING_MAX_AGE_S = 3600.0
_Refused = tuple[int, int, int]  # a counter without room (its index in the plan), its current and previous window


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
class _Reservation:
    at: float  # monotonic
    tokens: int
    nano_usd: int
    taken: tuple[tuple[bytes, CapKind], ...]  # each counter's Redis key and kind (the plan's for its minute)

    def amount(self, kind: CapKind) -> int:
        return 1 if kind == "requests" else self.tokens if kind == "tokens" else self.nano_usd

    def given_back(self) -> dict[bytes, int]:
        return {key: -amount for key, kind in self.taken if (amount := self.amount(kind))}


class Limiter:
    """Rate limits and budgets shared by every replica through one Redis (or one Redis Cluster)."""

    def __init__(
        self,
        settings: LimitSettings,
        redis_url: str,
        price: Pricer,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        rules = tuple(CompiledRule.of(rule) for rule in settings.rules)
        self._needs_body = any(rule.needs_model or rule.needs_usage for rule in rules)
        self._price = price
        self._clock = clock
        self._closed = settings.on_redis_error == "closed"
        self._default_max_tokens = settings.default_max_tokens
        self._plans = Plans(rules, settings.key_prefix, cluster=settings.redis_cluster)
        self._store = RedisCounters(redis_url, settings.redis_timeout_ms / 1000.0, cluster=settings.redis_cluster)
        self._pending: dict[str, _Reservation] = {}
        self._adjustments: dict[bytes, int] = {}
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
        now = self._clock()
        minute, into_minute = divmod(now, MINUTE_S)
        plan = self._plans.plan(call, int(minute), int(now // DAY_S))
        if not plan.batches:
            return None  # no rule covers this call
        tokens = nano_usd = 0
        if plan.needs_usage:
            prompt = prompt_tokens(body)
            answer = output_tokens(body, exchange.path, self._default_max_tokens)
            tokens = prompt + answer
            usd = self._price(exchange.vendor, model, prompt, answer)
            nano_usd = math.ceil(usd * NANO_USD) if usd is not None else 0
        # The previous minute's weight in the sliding window, never 0.
        amounts = encode_amounts(max(1.0 - into_minute / MINUTE_S, 1e-6), tokens, nano_usd)
        reservation = _Reservation(time.monotonic(), tokens, nano_usd, plan.taken)
        try:
            if len(plan.batches) == 1:
                batch = plan.batches[0]
                result = await self._store.check(batch, amounts)
                refused = None if result[0] == 0 else (batch.counters[result[0] - 1], result[1], result[2])
            else:
                refused = await self._check_slots(plan, amounts, reservation)
        except LimitsUnavailable:
            if self._closed:
                self.counters.unavailable += 1
                return limits_unavailable()
            self.counters.unchecked += 1
            return None
        if refused is None:
            self.counters.allowed += 1
            self._remember(exchange.span_id, reservation)
            return None
        index, current, previous = refused
        counter = plan.counters[index]
        exceeded = _exceeded(counter, call, reservation.amount(counter.cap.kind), current, previous, now)
        kind = (counter.rule.name, counter.cap.kind)
        self.counters.refused[kind] = self.counters.refused.get(kind, 0) + 1
        return rate_limited(exchange.vendor, exceeded, now)

    async def _check_slots(self, plan: Plan, amounts: bytes, reservation: _Reservation) -> _Refused | None:
        """A Redis Cluster check whose counters fall in several hash slots: one script per slot, at once.

        All or nothing still: if a slot refuses the call or cannot be asked, the slots that took it
        give it back. Meanwhile another call may see that amount and be refused (a refusal one
        script would not have made), never admitted over a limit.
        """
        batches = plan.batches
        results = await asyncio.gather(
            *(self._store.check(batch, amounts) for batch in batches), return_exceptions=True
        )
        refused: _Refused | None = None
        unavailable: LimitsUnavailable | None = None
        took: list[int] = []
        for batch, result in zip(batches, results, strict=True):
            if isinstance(result, LimitsUnavailable):
                unavailable = result
            elif isinstance(result, BaseException):
                raise result
            elif result[0] == 0:
                took += batch.counters
            else:
                first = (batch.counters[result[0] - 1], result[1], result[2])
                refused = first if refused is None or first[0] < refused[0] else refused
        if refused is None and unavailable is None:
            return None
        taken = [reservation.taken[index] for index in took]
        self._queue({key: -amount for key, kind in taken if (amount := reservation.amount(kind))})
        if refused is None and unavailable is not None:
            raise unavailable
        return refused

    def _remember(self, span_id: str, reservation: _Reservation) -> None:
        now = reservation.at
        self._pending[span_id] = reservation
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
            self._queue(reservation.given_back())

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
        deltas: dict[bytes, int] = {}
        for key, kind in reservation.taken:
            # A counter the check gave nothing (an unpriced model's budget) was not touched: left alone.
            if kind == "tokens" and reservation.tokens:
                deltas[key] = tokens - reservation.tokens
            elif kind == "usd" and reservation.nano_usd:
                deltas[key] = nano_usd - reservation.nano_usd
        self._queue(deltas)

    def _queue(self, deltas: dict[bytes, int]) -> None:
        """Batch adjustments: the spans of one writer batch settle in one Redis call (one per slot in a cluster)."""
        for key, delta in deltas.items():
            if delta:
                self._adjustments[key] = self._adjustments.get(key, 0) + delta
        if self._adjustments and (self._flush is None or self._flush.done()):
            self._flush = asyncio.get_running_loop().create_task(self._send_adjustments())

    async def _send_adjustments(self) -> None:
        while self._adjustments:
            batch, self._adjustments = self._adjustments, {}
            # Keys whose deltas cancelled out are not sent. Those Redis did not take stay at the
            # reservation (the worst case) until their window ends.
            self.counters.adjust_failures += await self._store.adjust(
                {key: delta for key, delta in batch.items() if delta}
            )


def _exceeded(counter: Counter, call: Call, amount: int, current: float, previous: float, now: float) -> Exceeded:
    cap = counter.cap
    if cap.kind == "usd":
        elapsed = window_at(now, DAY_S).elapsed
        used = current
        wait = fixed_wait_s(cap.limit, amount, elapsed, DAY_S)
    else:
        elapsed = window_at(now, MINUTE_S).elapsed
        used = sliding_use(current, previous, elapsed)
        wait = sliding_wait_s(cap.limit, amount, current, previous, elapsed, MINUTE_S)
    return Exceeded(
        rule=counter.rule.name,
        counter=counter.rule.describe(call),
        kind=cap.kind,
        limit=cap.limit,
        used=used,
        amount=amount,
        wait_s=wait,
    )
