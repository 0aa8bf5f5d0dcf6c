"""Policies from the config, compiled: their detectors built once, their scopes as sets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from glassgate.config import GuardrailPolicy
from glassgate.guardrails import detectors  # noqa: F401 -- registers the built-in detectors
from glassgate.guardrails.base import Detector, create


def _options(policy: GuardrailPolicy, detector: str) -> Mapping[str, Any]:
    """The policy's settings each detector understands (each rejects keys it does not know)."""
    if detector == "regex":
        return {"patterns": policy.patterns or [], "deny": policy.deny or []}
    if detector == "toxicity":
        return {"threshold": policy.threshold}
    if detector == "profanity":
        return {"extra_words": policy.extra_words or [], "allowed_words": policy.allowed_words or []}
    return {}


def build_detectors(policy: GuardrailPolicy) -> list[Detector]:
    """The policy's local detectors; ValueError naming what is wrong (unknown detector, bad regex…)."""
    if "regex" in policy.detectors and not (policy.patterns or policy.deny):
        raise ValueError(f"policy {policy.name!r}: the regex detector needs `patterns` or `deny`")
    if (policy.patterns or policy.deny) and "regex" not in policy.detectors:
        raise ValueError(f"policy {policy.name!r}: `patterns` and `deny` need the regex detector")
    if (policy.extra_words or policy.allowed_words) and "profanity" not in policy.detectors:
        raise ValueError(f"policy {policy.name!r}: `extra_words` and `allowed_words` need the profanity detector")
    if policy.restore and (policy.action != "redact" or "input" not in policy.phases):
        raise ValueError(f"policy {policy.name!r}: `restore` needs action redact on the input phase")
    built = []
    remote = policy.provider.type if policy.provider is not None else None
    for name in policy.detectors:
        if name == remote:
            continue  # asked over the network by glassgate.proxy.remote_guard, not here
        try:
            built.append(create(name, _options(policy, name)))
        except (KeyError, ValueError) as exc:
            message = exc.args[0] if exc.args else str(exc)
            raise ValueError(f"policy {policy.name!r}: {message}") from None
    return built


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    name: str
    action: str
    phases: frozenset[str]
    on_error: str
    detectors: tuple[Detector, ...]
    threshold: float
    categories: frozenset[str] | None
    upstreams: frozenset[str] | None
    projects: frozenset[str] | None
    models: frozenset[str] | None
    restore: bool = False  # its input placeholders may be restored in the answer (redact only)
    remote: bool = False  # it also asks a remote provider (glassgate.proxy.remote_guard)

    @classmethod
    def of(cls, policy: GuardrailPolicy) -> CompiledPolicy:
        def optional(values: list[str] | None) -> frozenset[str] | None:
            return frozenset(values) if values is not None else None

        return cls(
            name=policy.name,
            action=policy.action,
            phases=frozenset(policy.phases),
            on_error=policy.on_error,
            detectors=tuple(build_detectors(policy)),
            threshold=policy.threshold,
            categories=optional([category.upper() for category in policy.categories or []] or None),
            upstreams=optional(policy.upstreams),
            projects=optional(policy.projects),
            models=optional(policy.models),
            restore=policy.restore,
            remote=policy.provider is not None,
        )

    def may_apply_to(self, upstream: str) -> bool:
        return self.upstreams is None or upstream in self.upstreams

    def applies_to(self, upstream: str, project: str, model: str | None) -> bool:
        return (
            self.may_apply_to(upstream)
            and (self.projects is None or project in self.projects)
            and (self.models is None or (model is not None and model in self.models))
        )


# What runs when the config has no `guardrails` section: look, never touch. (Built last: a
# policy's validation calls build_detectors above.)
DEFAULT_POLICIES = [GuardrailPolicy(name="default", detectors=["pii", "secrets", "injection"], action="flag")]
