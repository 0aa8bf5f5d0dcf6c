"""Running the policies over a request: findings, and what to do about them.

Two moments, by cost. Policies that can change a call (`block`, `redact`) run on the request
path, before anything goes upstream, and only when one can apply to the upstream. Policies
that only `flag` change nothing, so they run after the call, beside the span's capture, and
cost the client no time at all.

A matched value never leaves this module: findings carry the category, the field's JSON path
and offsets; a blocked call's message names the policy and categories; a redacted or blocked
body is stored with each match replaced by its placeholder (`<EMAIL_1>`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from glassgate.config import GuardrailPolicy
from glassgate.guardrails.base import Match
from glassgate.guardrails.placeholders import Placeholders, Restorable, restorable
from glassgate.guardrails.policy import CompiledPolicy
from glassgate.guardrails.scan_cache import ScanCache
from glassgate.guardrails.text import TextField, request_texts, response_texts, rewrite_strings
from glassgate.proxy.exchange import Exchange
from glassgate.proxy.vendors.azure import deployment_of
from glassgate.proxy.vendors.bedrock import route_of as bedrock_route_of

log = logging.getLogger(__name__)

Stage = Literal["inline", "flag"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One match of one policy, without the matched text."""

    policy: str
    phase: str
    detector: str
    category: str
    score: float
    action: str
    field: str  # the JSON path of the scanned string, e.g. messages[1].content
    start: int
    end: int


@dataclass(slots=True)
class Verdict:
    """What to do with a request: forward it as it is, forward `body`, or refuse it."""

    action: Literal["forward", "redact", "block"] = "forward"
    body: bytes = b""  # the body to forward (redact) or to store in place of the original (block)
    findings: list[Finding] = field(default_factory=list)
    message: str = ""  # for block: names the policies and categories, never the text
    scanned: int = 0  # text fields scanned
    skipped: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # detectors that raised (contained)
    # A redacted request's numbering, and the placeholders its answer may have restored: held in
    # memory for the call only (never stored or logged: no repr).
    placeholders: Placeholders | None = field(default=None, repr=False)
    restorable: list[Restorable] = field(default_factory=list, repr=False)


def requested_model(vendor: str, path: str, body: Any) -> str | None:
    """The model as the client asked for it, as the span records it: body `model`, else the
    Bedrock model id or the Azure deployment in the path (percent-decoded by their adapters)."""
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        return str(body["model"])
    if vendor == "bedrock":
        return bedrock_route_of(path).model
    if vendor == "azure":
        return deployment_of(path)
    return None


def json_path(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class GuardrailEngine:
    """The configured policies, compiled once; `check_request` for each call."""

    def __init__(self, policies: Sequence[GuardrailPolicy]) -> None:
        compiled = [CompiledPolicy.of(policy) for policy in policies]
        # Policies with a remote detector: their local detectors run here like any others', and
        # glassgate.proxy.remote_guard asks their provider.
        self.remote = [(config, built) for config, built in zip(policies, compiled, strict=True) if config.provider]
        requests = [policy for policy in compiled if "input" in policy.phases]
        self._inline = [policy for policy in requests if policy.action in ("block", "redact")]
        self._flag = [policy for policy in requests if policy.action == "flag"]
        answers = [policy for policy in compiled if "output" in policy.phases]
        self._answers = [policy for policy in answers if policy.action == "flag"]
        # Block and redact on answers run on the relay itself (guardrails.answers).
        self._answers_inline = [policy for policy in answers if policy.action in ("block", "redact")]
        self.scan_cache = ScanCache()

    def scan_response(
        self, *, vendor: str, upstream: str, project: str, path: str, model: str | None, body: Any
    ) -> Verdict:
        """Flag an answer (non-streamed, or a stream assembled into that shape); changes nothing."""
        verdict = Verdict()
        policies = [policy for policy in self._answers if policy.applies_to(upstream, project, model)]
        if not policies or body is None:
            return verdict
        extraction = response_texts(vendor, path, body)
        verdict.scanned, verdict.skipped = len(extraction.fields), list(extraction.skipped)
        verdict.findings = [
            finding_of(policy, "output", text_field, detector, match)
            for policy, text_field, detector, match in scan_policies(
                policies, extraction.fields, verdict, set(), self.scan_cache
            )
        ]
        return verdict

    def has_answer_inline_for(self, upstream: str) -> bool:
        """Whether an answer from `upstream` may have to be blocked or redacted (cheap)."""
        return any(policy.may_apply_to(upstream) for policy in self._answers_inline)

    def answer_policies(self, upstream: str, project: str, model: str | None) -> list[CompiledPolicy]:
        """The output policies that block or redact this call's answer."""
        return [policy for policy in self._answers_inline if policy.applies_to(upstream, project, model)]

    def has_inline_for(self, upstream: str) -> bool:
        """Whether a request to `upstream` may need checking before it is forwarded (cheap)."""
        return any(policy.may_apply_to(upstream) for policy in self._inline)

    def check_exchange(self, stage: Stage, exchange: Exchange, parsed: Any = None) -> Verdict:
        """`check_request` for one proxied call (`parsed`: its body as JSON, if already parsed)."""
        return self.check_request(
            stage,
            vendor=exchange.vendor,
            upstream=exchange.upstream,
            project=exchange.project,
            path=exchange.path,
            raw=exchange.request_body,
            parsed=parsed,
        )

    def check_request(
        self,
        stage: Stage,
        *,
        vendor: str,
        upstream: str,
        project: str,
        path: str,
        raw: bytes,
        parsed: Any = None,
    ) -> Verdict:
        """Run the stage's policies (`inline`: block and redact; `flag`: flag) over a request body.

        `parsed` (not None) saves parsing `raw` again when the caller already has it as JSON."""
        candidates = self._inline if stage == "inline" else self._flag
        policies = [policy for policy in candidates if policy.may_apply_to(upstream)]
        verdict = Verdict(body=raw)
        if not policies:
            return verdict
        body = parsed
        if body is None:
            try:
                body = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                verdict.skipped.append("the request body is not JSON")
                return verdict
        model = requested_model(vendor, path, body)
        policies = [policy for policy in policies if policy.applies_to(upstream, project, model)]
        if not policies:
            return verdict
        extraction = request_texts(vendor, path, body)
        verdict.scanned, verdict.skipped = len(extraction.fields), list(extraction.skipped)
        failed_closed: set[str] = set()
        matched = scan_policies(policies, extraction.fields, verdict, failed_closed, self.scan_cache)
        if failed_closed and stage == "inline":
            verdict.action, verdict.body = "block", masked_body(raw, [(tf, m) for _, tf, _, m in matched])
            names = ", ".join(repr(name) for name in sorted(failed_closed))
            verdict.message = f"request blocked: guardrail policy {names} could not check it (on_error: closed)"
            return verdict
        if not matched:
            return verdict
        blocking = [item for item in matched if item[0].action == "block"]
        action: Literal["forward", "redact", "block"] = (
            "block" if blocking else ("redact" if stage == "inline" else "forward")
        )
        verdict.findings = [
            finding_of(policy, "input", text_field, detector, match) for policy, text_field, detector, match in matched
        ]
        if stage == "flag":
            return verdict
        verdict.action = action
        to_mask = matched if action == "block" else [item for item in matched if item[0].action == "redact"]
        numbering = Placeholders()
        verdict.body = masked_body(raw, [(text_field, match) for _, text_field, _, match in to_mask], numbering)
        if action == "redact":
            verdict.placeholders = numbering
            redacted = [(m.category, tf.text[m.start : m.end], d, p.restore) for p, tf, d, m in to_mask]
            verdict.restorable = restorable(redacted, numbering)
        if action == "block":
            policy_names = sorted({policy.name for policy, *_ in blocking})
            found = sorted({match.category for *_, match in blocking})
            verdict.message = (
                f"request blocked by guardrail policy {', '.join(repr(name) for name in policy_names)}: "
                f"found {', '.join(found)}"
            )
        return verdict


Matched = tuple[CompiledPolicy, TextField, str, Match]


def scan_policies(
    policies: Sequence[CompiledPolicy],
    fields: Sequence[TextField],
    verdict: Verdict,
    failed_closed: set[str],
    cache: ScanCache | None = None,
) -> list[Matched]:
    """Every policy's detectors over every field; matches under the threshold or outside the
    policy's categories dropped. A detector that raises is recorded and skipped. With `cache`,
    a text scanned before by the same detector is not scanned again."""
    matched: list[Matched] = []
    digests = [cache.digest(text_field.text) for text_field in fields] if cache is not None else []
    for policy in policies:
        for detector in policy.detectors:
            for index, text_field in enumerate(fields):
                try:
                    if cache is None:
                        matches: Sequence[Match] = detector.scan(text_field.text)
                    else:
                        matches = cache.scan(detector, text_field.text, digests[index])
                except Exception as exc:  # a detector bug must not break the call: logged, named on the span
                    failure = f"{policy.name}/{detector.name}: {type(exc).__name__}"
                    if failure not in verdict.failures:
                        verdict.failures.append(failure)
                        log.exception("guardrail detector %s failed", detector.name)
                    if policy.on_error == "closed":
                        failed_closed.add(policy.name)
                    break
                for match in matches:
                    if match.score < policy.threshold:
                        continue
                    if policy.categories is not None and match.category not in policy.categories:
                        continue
                    matched.append((policy, text_field, detector.name, match))
    return matched


def finding_of(policy: CompiledPolicy, phase: str, text_field: TextField, detector: str, match: Match) -> Finding:
    return Finding(
        policy=policy.name,
        phase=phase,
        detector=detector,
        category=match.category,
        score=round(match.score, 4),
        action=policy.action,
        field=json_path(text_field.path),
        start=match.start,
        end=match.end,
    )


def masked_body(raw: bytes, matches: list[tuple[TextField, Match]], placeholders: Placeholders | None = None) -> bytes:
    """The body with each match replaced by a typed placeholder; the same value, the same one."""
    by_field: dict[tuple[str | int, ...], tuple[TextField, list[Match]]] = {}
    for text_field, match in matches:
        by_field.setdefault(text_field.path, (text_field, []))[1].append(match)
    numbering = placeholders if placeholders is not None else Placeholders()  # across the whole body
    replacements: dict[tuple[str | int, ...], str] = {}
    for path, (text_field, found) in by_field.items():
        replacements[path] = masked_text(text_field.text, found, numbering)
    return rewrite_strings(raw, replacements)


def masked_text(text: str, matches: list[Match], placeholders: Placeholders) -> str:
    pieces, cursor = [], 0
    for match in without_overlaps(matches):
        pieces.append(text[cursor : match.start])
        pieces.append(placeholders.of(match.category, text[match.start : match.end]))
        cursor = match.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def without_overlaps(matches: list[Match]) -> list[Match]:
    """Earliest first; of overlapping matches the longer wins (a card inside a longer key…)."""
    ordered = sorted(matches, key=lambda match: (match.start, -(match.end - match.start)))
    kept: list[Match] = []
    for match in ordered:
        if kept and match.start < kept[-1].end:
            if match.end > kept[-1].end:
                kept[-1] = Match(kept[-1].category, kept[-1].start, match.end, max(kept[-1].score, match.score))
            continue
        kept.append(match)
    return kept
