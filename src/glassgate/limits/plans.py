"""What a check sends to Redis, worked out once per kind of call and reused. Pure, no IO.

Which counters a call goes into depends only on its `Call` (key, project, upstream, model). The
`Plan` for a `Call` holds those counters and their Redis keys for the current minute, already
encoded as the check script's KEYS, one `Batch` per script call. A check then encodes only what
changes from call to call (the previous minute's weight, the tokens and the USD it takes) and
joins five byte strings: no key is formatted, no rule matched, no limit encoded per call. A
plan's keys are encoded again when a minute begins; plans are dropped all at once when there
are too many (clients that name a new model each time), which costs nothing but a rebuild.

Keys: `{prefix}:{rule}:{group}:{r|t}:{minute}` per sliding minute and `...:u:{day}` per UTC day.
A Redis Cluster runs a script only on keys of one hash slot, so there every key also carries a
hash tag, `{prefix}:{{tag}}:{rule}:...` (see `CompiledRule.slot_tag`): a check's counters of one
project share a slot, each counter shared across projects has its own, and a check whose counters
fall in several slots runs one script per slot. A single Redis keeps the names without tags, so
upgrading does not restart the counters (today's budgets among them).
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.crc import key_slot

from glassgate.limits.resp import array_header, bulk
from glassgate.limits.rules import Call, Cap, CapKind, CompiledRule

_MAX_PLANS = 10_000
_KIND_ARG = {"requests": bulk(b"r"), "tokens": bulk(b"t"), "usd": bulk(b"u")}


@dataclass(frozen=True, slots=True)
class Counter:
    rule: CompiledRule
    cap: Cap
    name: str  # its Redis key without the window number
    slot: int  # the hash slot of its keys (Redis Cluster)


@dataclass(frozen=True, slots=True)
class Batch:
    """The counters one script call checks: all of a check's in a single Redis, one slot's in a cluster."""

    slot: int
    counters: tuple[int, ...]  # indexes into the plan's counters, in the script's order
    header: bytes  # the command's array header
    keys: bytes  # the number of keys and the KEYS, for the plan's minute
    limits: bytes  # each counter's kind and limit, the script's last ARGV


@dataclass(frozen=True, slots=True)
class Plan:
    """A kind of call's counters and, for one minute, its script calls. Immutable: a check that
    waits on Redis across a minute's end keeps the keys it was sent with."""

    counters: tuple[Counter, ...]
    needs_usage: bool  # a token or USD cap: the check needs the call's estimate
    minute: int
    batches: tuple[Batch, ...]
    taken: tuple[tuple[bytes, CapKind], ...]  # each counter's key and kind, to settle what it took


class Plans:
    """The plan of each kind of call, for one set of rules."""

    def __init__(self, rules: tuple[CompiledRule, ...], prefix: str, *, cluster: bool) -> None:
        self._rules = rules
        self._prefix = prefix
        self._cluster = cluster
        self._plans: dict[Call, Plan] = {}

    def plan(self, call: Call, minute: int, day: int) -> Plan:
        plan = self._plans.get(call)
        if plan is None or plan.minute != minute:
            if plan is None and len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            counters = plan.counters if plan is not None else self._counters(call)
            plan = self._plans[call] = _plan(counters, minute, day)
        return plan

    def _counters(self, call: Call) -> tuple[Counter, ...]:
        counters = []
        for rule in self._rules:
            if not rule.applies_to(call):
                continue
            group = rule.group(call)
            if self._cluster:
                base = f"{self._prefix}:{{{rule.slot_tag(call)}}}:{rule.name}:{group}"
            else:
                base = f"{self._prefix}:{rule.name}:{group}"
            for cap in rule.caps:
                name = f"{base}:{cap.code}"
                # key_slot reads the hash tag as Redis does (the first `{...}`: the prefix's, if it has one).
                slot = key_slot(name.encode("utf-8", "surrogatepass")) if self._cluster else 0
                counters.append(Counter(rule, cap, name, slot))
        return tuple(counters)


def encode_amounts(weight: float, tokens: int, nano_usd: int) -> bytes:
    """The script's first ARGV: the previous minute's weight, then the tokens and nano-USD the call takes."""
    return b"%s%s%s" % (bulk(b"%.6f" % weight), bulk(b"%d" % tokens), bulk(b"%d" % nano_usd))


def _plan(counters: tuple[Counter, ...], minute: int, day: int) -> Plan:
    keys = []
    for counter in counters:
        if counter.cap.kind == "usd":
            current = previous = f"{counter.name}:{day}".encode("utf-8", "surrogatepass")
        else:
            current = f"{counter.name}:{minute}".encode("utf-8", "surrogatepass")
            previous = f"{counter.name}:{minute - 1}".encode("utf-8", "surrogatepass")
        keys.append((current, previous))
    batches = []
    for slot in dict.fromkeys(counter.slot for counter in counters):  # in the rules' order
        members = tuple(index for index, counter in enumerate(counters) if counter.slot == slot)
        # EVALSHA, its script, the number of keys, 2 keys per counter, 3 amounts, 2 ARGV per counter.
        header = array_header(6 + 4 * len(members))
        encoded_keys = bulk(b"%d" % (2 * len(members))) + b"".join(
            bulk(key) for index in members for key in keys[index]
        )
        limits = b"".join(_KIND_ARG[counters[index].cap.kind] + bulk(counters[index].cap.arg) for index in members)
        batches.append(Batch(slot, members, header, encoded_keys, limits))
    needs_usage = any(counter.cap.kind != "requests" for counter in counters)
    taken = tuple((current, counter.cap.kind) for (current, _), counter in zip(keys, counters, strict=True))
    return Plan(counters, needs_usage, minute, tuple(batches), taken)
