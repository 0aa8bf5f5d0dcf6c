"""A refused call's answer in the vendor's own 429 shape, with the retry headers its SDK reads.

The body comes from the upstream's adapter (`error_body`), like every refusal of the proxy;
this module adds the headers: `retry-after` for all, `retry-after-ms` and `x-ratelimit-*` for
OpenAI and Azure, `anthropic-ratelimit-*` for Anthropic (Bedrock's `x-amzn-ErrorType:
ThrottlingException` comes from its adapter's `error_headers`). Per-minute refusals that a wait
of a minute or less would cure tell the SDK to retry (`x-should-retry: true`, which the SDKs
do after `retry-after`); a spent daily budget or a call over a limit on its own tells it not to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from glassgate.limits.rules import NANO_USD, CapKind

_HEADER_WORD = {"requests": "requests", "tokens": "tokens"}
_UNIT = {"requests": "requests per minute", "tokens": "tokens per minute", "usd": "USD per day"}
_RETRYABLE_WAIT_S = 60.0
OPENAI_STYLE = frozenset({"openai", "azure"})


@dataclass(frozen=True, slots=True)
class LimitRefusal:
    """Why a call may not go upstream, and how to answer (status, vendor-neutral code, headers)."""

    status: int
    message: str
    code: str
    headers: tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True, slots=True)
class Exceeded:
    """One counter that had no room: its rule, cap, and the numbers at the time of the check."""

    rule: str
    counter: str  # the counter in words ("project 'team-a'")
    kind: CapKind
    limit: int  # in the cap's unit (nano-USD for usd)
    used: float
    amount: int
    wait_s: float | None  # None: the call can never fit under this cap


def rate_limited(vendor: str, exceeded: Exceeded, now: float) -> LimitRefusal:
    """The 429 for a call over a rule's cap."""
    return LimitRefusal(
        status=429,
        message=_message(exceeded),
        code="insufficient_quota" if exceeded.kind == "usd" else "rate_limit_exceeded",
        headers=tuple(_headers(vendor, exceeded, now)),
    )


def limits_unavailable() -> LimitRefusal:
    """The 503 of `on_redis_error: closed` while Redis cannot be asked."""
    message = "Glassgate cannot check its rate limits right now (Redis unreachable; limits.on_redis_error is closed)"
    return LimitRefusal(503, message, "limits_unavailable", ((b"retry-after", b"1"),))


def _message(exceeded: Exceeded) -> str:
    unit = _UNIT[exceeded.kind]
    head = f"Glassgate limit {exceeded.rule!r} ({exceeded.counter})"
    if exceeded.kind == "usd":
        limit, used, amount = (value / NANO_USD for value in (exceeded.limit, exceeded.used, exceeded.amount))
        if exceeded.wait_s is None:
            return f"{head}: this call may cost up to ${amount:.6f}, over the budget of ${limit:.6f} {unit} on its own"
        return (
            f"{head}: the budget of ${limit:.6f} {unit} is spent (${used:.6f} used, this call may cost up to "
            f"${amount:.6f}); it resets at 00:00 UTC"
        )
    if exceeded.wait_s is None:
        return (
            f"{head}: this call reserves {exceeded.amount} {exceeded.kind} (prompt estimate + max tokens), "
            f"over the limit of {exceeded.limit} {unit} on its own; lower max_tokens"
        )
    return (
        f"{head}: {exceeded.limit} {unit} reached ({math.floor(exceeded.used)} used, this call needs "
        f"{exceeded.amount}); try again in {_seconds(exceeded.wait_s)} s"
    )


def _headers(vendor: str, exceeded: Exceeded, now: float) -> list[tuple[bytes, bytes]]:
    wait = exceeded.wait_s
    retry = wait is not None and exceeded.kind != "usd" and wait <= _RETRYABLE_WAIT_S
    headers = [(b"x-should-retry", b"true" if retry else b"false")]
    if wait is not None:
        headers.append((b"retry-after", str(_seconds(wait)).encode()))
    word = _HEADER_WORD.get(exceeded.kind)
    if word is None:
        return headers  # no vendor has headers for a money budget
    remaining = str(max(0, math.floor(exceeded.limit - exceeded.used))).encode()
    reset_s = wait if wait is not None else 60.0
    if vendor in OPENAI_STYLE:
        if wait is not None:
            headers.append((b"retry-after-ms", str(math.ceil(wait * 1000)).encode()))
        headers += [
            (f"x-ratelimit-limit-{word}".encode(), str(exceeded.limit).encode()),
            (f"x-ratelimit-remaining-{word}".encode(), remaining),
            (f"x-ratelimit-reset-{word}".encode(), go_duration(reset_s).encode()),
        ]
    elif vendor == "anthropic":
        reset = datetime.fromtimestamp(math.ceil(now + reset_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers += [
            (f"anthropic-ratelimit-{word}-limit".encode(), str(exceeded.limit).encode()),
            (f"anthropic-ratelimit-{word}-remaining".encode(), remaining),
            (f"anthropic-ratelimit-{word}-reset".encode(), reset.encode()),
        ]
    return headers


def _seconds(wait_s: float) -> int:
    """`retry-after` is whole seconds; never 0, which some clients read as "retry at once, forever"."""
    return max(1, math.ceil(wait_s))


def go_duration(seconds: float) -> str:
    """OpenAI's reset format: Go durations such as `20ms`, `6.5s`, `1m0s`."""
    millis = math.ceil(seconds * 1000)
    if millis < 1000:
        return f"{millis}ms"
    minutes, rest = divmod(millis, 60_000)
    text = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{minutes}m{text}" if minutes else text
