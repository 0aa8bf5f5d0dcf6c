"""The configured rules, compiled for the hot path: which calls a rule counts, and in which counter.

A rule's scopes (`keys`, `projects`, `models`, `upstreams`) select calls; `per` splits them into
counters: `per: [project, model]` keeps one counter for each project and model pair, `global`
one for everything the rule selects. Each counter holds up to three caps.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

from glassgate.config import LimitRule

CapKind = Literal["requests", "tokens", "usd"]
NANO_USD = 1_000_000_000  # USD is counted in integer nano-dollars: exact sums, no float drift in Redis
NO_KEY = "-"  # the key dimension of a call made without a Glassgate key (passthrough upstreams)
_LONG_VALUE = 96  # longer group values (a client's model name can be anything) are hashed in keys


@dataclass(frozen=True, slots=True)
class Call:
    """What a rule looks at: who calls, through which upstream, for which model."""

    key: str  # the Glassgate key id, or NO_KEY
    project: str
    upstream: str
    model: str | None

    def value(self, dimension: str) -> str:
        if dimension == "key":
            return self.key
        if dimension == "project":
            return self.project
        if dimension == "upstream":
            return self.upstream
        return self.model or ""


@dataclass(frozen=True, slots=True)
class Cap:
    kind: CapKind
    limit: int  # requests, tokens, or nano-USD
    code: str  # the letter in the Redis key
    arg: bytes = field(init=False)  # the limit as the check script receives it, encoded once

    def __post_init__(self) -> None:
        object.__setattr__(self, "arg", str(self.limit).encode())


@dataclass(frozen=True, slots=True)
class CompiledRule:
    name: str
    keys: frozenset[str] | None
    projects: frozenset[str] | None
    models: frozenset[str] | None
    upstreams: frozenset[str] | None
    dimensions: tuple[str, ...]  # () for a global counter
    caps: tuple[Cap, ...]

    @classmethod
    def of(cls, rule: LimitRule) -> CompiledRule:
        caps = []
        if rule.requests_per_minute is not None:
            caps.append(Cap("requests", rule.requests_per_minute, "r"))
        if rule.tokens_per_minute is not None:
            caps.append(Cap("tokens", rule.tokens_per_minute, "t"))
        if rule.usd_per_day is not None:
            caps.append(Cap("usd", round(rule.usd_per_day * NANO_USD), "u"))

        def optional(values: list[str] | None) -> frozenset[str] | None:
            return frozenset(values) if values is not None else None

        return cls(
            name=rule.name,
            keys=optional(rule.keys),
            projects=optional(rule.projects),
            models=optional(rule.models),
            upstreams=optional(rule.upstreams),
            dimensions=rule.dimensions,
            caps=tuple(caps),
        )

    @property
    def needs_model(self) -> bool:
        return self.models is not None or "model" in self.dimensions

    @property
    def needs_usage(self) -> bool:
        """Whether a check needs the call's token estimate (token or USD caps)."""
        return any(cap.kind != "requests" for cap in self.caps)

    def applies_to(self, call: Call) -> bool:
        return (
            (self.keys is None or call.key in self.keys)
            and (self.projects is None or call.project in self.projects)
            and (self.upstreams is None or call.upstream in self.upstreams)
            and (self.models is None or (call.model is not None and call.model in self.models))
        )

    def group(self, call: Call) -> str:
        """The counter's name within the rule: the call's value of each `per` dimension."""
        if not self.dimensions:
            return "*"
        return "|".join(_key_safe(call.value(dimension)) for dimension in self.dimensions)

    def slot_tag(self, call: Call) -> str:
        """What picks the hash slot of the counter's keys in a Redis Cluster (`{tag}` in the key).

        A check's keys must share one slot to be checked in one script, and different tenants'
        keys should spread over the nodes. Counters of one project share its tag: per project,
        per key (a key belongs to one project for its whole life, so its counter keeps one name),
        or in a rule for a single project. A counter shared across projects (global, per model, per
        upstream) gets a slot of its own.
        """
        if "project" in self.dimensions or "key" in self.dimensions or self._one_project:
            return _no_braces(_key_safe(call.project)) or "-"
        return f"{self.name}:{_no_braces(self.group(call))}"

    @property
    def _one_project(self) -> bool:
        return self.projects is not None and len(self.projects) == 1

    def describe(self, call: Call) -> str:
        """The counter in words, for a refusal's message."""
        if not self.dimensions:
            return "all the calls it covers"
        return ", ".join(f"{dimension} {call.value(dimension) or '(none)'!r}" for dimension in self.dimensions)


def _key_safe(value: str) -> str:
    if len(value) > _LONG_VALUE:
        return "#" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    # '|' separates dimensions; escaping '%' first keeps the encoding one-to-one.
    return value.replace("%", "%25").replace("|", "%7C")


def _no_braces(text: str) -> str:
    # Within a hash tag a '}' would end it early; '{' is escaped alike to keep this one-to-one.
    return text.replace("{", "%7B").replace("}", "%7D")
