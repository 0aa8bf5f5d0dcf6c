"""Remote guardrail providers (glassgate.guard_providers) on the proxy's two paths.

    before forwarding  block and redact policies on input: every provider that applies is asked
                       at once, each within its policy's `timeout_ms`, about the body as it
                       would leave (local redactions already made, so a value a policy keeps
                       from the upstream is not sent to a provider either). Likewise a
                       non-streamed answer before it is sent. A streamed answer is relayed past
                       the providers — a round trip per event is too slow — and the span says so.
    after the call     flag policies: a task started when the relay ends asks the providers about
                       the request and the answer, adds their findings to the exchange, then
                       hands it to the trace queue. The client waits for none of it. (The span
                       writer builds spans synchronously in batches; a network call there would
                       hold up every span behind it, so the IO happens here, per call.)

A provider that times out, cannot be reached or answers nonsense is named on the span with
the reason (guardrail notes), and its policy's `on_error` decides: open lets the call through,
closed blocks it with the vendor's 400. A finding the provider cannot place covers its field
(offsets 0 to the end) or, from a judge, the whole body (field "body"); such a finding can
block or flag but not redact — the policy's `on_error` then decides as for a failure.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from glassgate.config import GuardrailPolicy
from glassgate.guard_providers import Assessment, Phase, ProviderContext, ProviderError, RemoteCheck, create
from glassgate.guardrails.answers import AnswerGuard
from glassgate.guardrails.base import Match
from glassgate.guardrails.engine import Finding, GuardrailEngine, Verdict, json_path, masked_body, requested_model
from glassgate.guardrails.placeholders import Placeholders
from glassgate.guardrails.policy import CompiledPolicy
from glassgate.guardrails.text import TextField, request_texts, response_texts
from glassgate.proxy.exchange import Exchange, Outcome
from glassgate.proxy.upstream import UpstreamPool
from glassgate.proxy.vendors import get_adapter
from glassgate.proxy.vendors.base import WireCall

log = logging.getLogger(__name__)
_PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)_(\d{1,3})>")


@dataclass(frozen=True, slots=True)
class RemotePolicy:
    policy: CompiledPolicy
    check: RemoteCheck
    timeout_ms: int


@dataclass(slots=True)
class Decision:
    """What the providers' answers mean for one body."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blocking: list[Finding] = field(default_factory=list)
    failed_closed: set[str] = field(default_factory=set)
    to_redact: list[tuple[TextField, Match]] = field(default_factory=list)
    to_mask: list[tuple[TextField, Match]] = field(default_factory=list)  # in the stored body of a block


class RemoteGuard:
    """The policies with a remote detector, their providers built once, shared by every call."""

    def __init__(self, policies: Sequence[tuple[GuardrailPolicy, CompiledPolicy]], upstreams: UpstreamPool) -> None:
        context = ProviderContext(upstreams)
        entries = []
        for config, compiled in policies:
            assert config.provider is not None
            entries.append(RemotePolicy(compiled, create(config.provider, context), config.provider.timeout_ms))
        changing = ("block", "redact")
        self._inline = [e for e in entries if "input" in e.policy.phases and e.policy.action in changing]
        self._answers = {
            e.policy.name: e for e in entries if "output" in e.policy.phases and e.policy.action in changing
        }
        self._flag = [entry for entry in entries if entry.policy.action == "flag"]
        self._checks = [entry.check for entry in entries]
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def of(cls, engine: GuardrailEngine | None, upstreams: UpstreamPool) -> RemoteGuard | None:
        """None when no policy has a remote detector (the proxy then pays nothing for this module)."""
        return cls(engine.remote, upstreams) if engine is not None and engine.remote else None

    async def check_request(self, exchange: Exchange, verdict: Verdict) -> Verdict:
        """The block/redact providers' say on a request the local detectors let through (maybe redacted)."""
        candidates = [entry for entry in self._inline if entry.policy.may_apply_to(exchange.upstream)]
        if verdict.action == "block" or not candidates:
            return verdict
        body = _json(verdict.body)
        model = requested_model(exchange.vendor, exchange.path, body)
        entries = [e for e in candidates if e.policy.applies_to(exchange.upstream, exchange.project, model)]
        fields = request_texts(exchange.vendor, exchange.path, body).fields if entries and body is not None else []
        if not fields:
            return verdict
        decision = decide(await ask(entries, fields, "input"), fields, "input")
        verdict.findings += decision.findings
        verdict.failures += decision.notes
        if decision.blocking or decision.failed_closed:
            verdict.action, verdict.message = "block", block_message("request", decision)
            verdict.body = masked_body(verdict.body, decision.to_mask, _numbering_after(fields))
        elif decision.to_redact:
            verdict.action = "redact"
            verdict.body = masked_body(verdict.body, decision.to_redact, _numbering_after(fields))
        return verdict

    async def check_answer(self, exchange: Exchange, guard: AnswerGuard, verdict: Verdict) -> Verdict:
        """The same for a whole (non-streamed) answer the local detectors let through."""
        entries = [self._answers[policy.name] for policy in guard.policies if policy.name in self._answers]
        body = _json(verdict.body) if entries and verdict.action != "block" else None
        fields = response_texts(exchange.vendor, exchange.path, body).fields if body is not None else []
        if not fields:
            return verdict
        decision = decide(await ask(entries, fields, "output"), fields, "output")
        guard.findings += decision.findings
        guard.notes += decision.notes
        if decision.blocking or decision.failed_closed:
            verdict.action = "block"
            verdict.message = guard.blocked_by = block_message("answer", decision)
        elif decision.to_redact:
            verdict.action = "redact"
            verdict.body = masked_body(verdict.body, decision.to_redact, guard.placeholders)
        return verdict

    def skip_stream(self, guard: AnswerGuard) -> bool:
        """Note the answer policies whose providers a stream is relayed past; True when they were
        all the policies had (no local detector left to run on the stream)."""
        remote = [policy for policy in guard.policies if policy.name in self._answers]
        for policy in remote:
            provider = self._answers[policy.name].check.name
            guard.notes.append(f"remote guardrail {policy.name!r} ({provider}) is not applied to streamed answers")
        return bool(remote) and not any(policy.detectors for policy in guard.policies)

    def defer(self, exchange: Exchange, submit: Callable[[Exchange], None]) -> bool:
        """Run the flag providers for this call, then `submit` it; False when none may apply."""
        entries = [entry for entry in self._flag if entry.policy.may_apply_to(exchange.upstream)]
        if not entries:
            return False
        task = asyncio.get_running_loop().create_task(self._flag_then_submit(exchange, entries, submit))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def close(self) -> None:
        """Let the flag checks under way finish (each within its timeout), then close connections."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for check in self._checks:
            await check.close()

    async def _flag_then_submit(
        self, exchange: Exchange, entries: list[RemotePolicy], submit: Callable[[Exchange], None]
    ) -> None:
        try:
            await self._flag_exchange(exchange, entries)
        except Exception:  # a bug here must not lose the span: it is logged and named on it
            log.exception("remote guardrails failed on %s %s", exchange.upstream, exchange.path)
            exchange.guardrail_notes.append("remote guardrails failed (see the log)")
        finally:
            submit(exchange)

    async def _flag_exchange(self, exchange: Exchange, entries: list[RemotePolicy]) -> None:
        request = _json(exchange.request_body)
        model = requested_model(exchange.vendor, exchange.path, request)
        entries = [e for e in entries if e.policy.applies_to(exchange.upstream, exchange.project, model)]
        jobs: list[tuple[Phase, list[RemotePolicy], list[TextField]]] = []
        inputs = [entry for entry in entries if "input" in entry.policy.phases]
        if inputs and request is not None and exchange.outcome is not Outcome.BLOCKED:
            jobs.append(("input", inputs, request_texts(exchange.vendor, exchange.path, request).fields))
        outputs = [entry for entry in entries if "output" in entry.policy.phases]
        if outputs and 200 <= exchange.status < 300:
            answer, why = _answer_of(exchange)
            if answer is None:
                exchange.guardrail_notes.append(f"answer: remote guardrails not applied: {why}")
            else:
                jobs.append(("output", outputs, response_texts(exchange.vendor, exchange.path, answer).fields))
        jobs = [job for job in jobs if job[2]]
        outcomes = await asyncio.gather(*(ask(job_entries, fields, phase) for phase, job_entries, fields in jobs))
        for (phase, _, fields), outcome in zip(jobs, outcomes, strict=True):
            decision = decide(outcome, fields, phase)
            exchange.findings += decision.findings
            exchange.guardrail_notes += [f"answer: {note}" if phase == "output" else note for note in decision.notes]


Answers = list[tuple[RemotePolicy, Assessment | str]]


async def ask(entries: Sequence[RemotePolicy], fields: Sequence[TextField], phase: Phase) -> Answers:
    """Every provider at once, each within its own timeout: its assessment, or why there is none."""

    async def one(entry: RemotePolicy) -> Assessment | str:
        try:
            async with asyncio.timeout(entry.timeout_ms / 1000):
                return await entry.check.check(fields, phase)
        except TimeoutError:
            return f"timed out after {entry.timeout_ms} ms"
        except ProviderError as exc:
            return str(exc)
        except Exception as exc:  # a provider bug is contained like a detector's: logged, named on the span
            log.exception("guardrail provider %s failed", entry.check.name)
            return f"failed: {type(exc).__name__}"

    answers = await asyncio.gather(*(one(entry) for entry in entries))
    return list(zip(entries, answers, strict=True))


def decide(outcome: Answers, fields: Sequence[TextField], phase: Phase) -> Decision:
    """Findings over the policies' thresholds and categories, and what they ask for."""
    decision = Decision()
    for entry, answer in outcome:
        policy, provider = entry.policy, entry.check.name
        if isinstance(answer, str):
            decision.notes.append(f"{policy.name}/{provider}: {answer} (on_error: {policy.on_error})")
            if policy.on_error == "closed":
                decision.failed_closed.add(policy.name)
            continue
        decision.notes += [f"{policy.name}/{provider}: {note}" for note in answer.notes]
        for found in answer.findings:
            if found.score < policy.threshold:
                continue
            if policy.categories is not None and found.category not in policy.categories:
                continue
            text_field = fields[found.field] if found.field is not None and 0 <= found.field < len(fields) else None
            if text_field is not None and found.start is not None and found.end is not None:
                start, end, located = found.start, found.end, True
            else:  # the whole field, or (no field) the whole body
                start, end, located = 0, len(text_field.text) if text_field is not None else 0, False
            finding = Finding(
                policy=policy.name,
                phase=phase,
                detector=provider,
                category=found.category,
                score=round(found.score, 4),
                action=policy.action,
                field=json_path(text_field.path) if text_field is not None else "body",
                start=start,
                end=end,
            )
            decision.findings.append(finding)
            match = (text_field, Match(found.category, start, end, found.score)) if text_field is not None else None
            if match is not None:
                decision.to_mask.append(match)
            if policy.action == "block":
                decision.blocking.append(finding)
            elif policy.action == "redact" and located and match is not None:
                decision.to_redact.append(match)
            elif policy.action == "redact":
                why = f"found {found.category} but not where, so cannot redact it (on_error: {policy.on_error})"
                decision.notes.append(f"{policy.name}/{provider}: {why}")
                if policy.on_error == "closed":
                    decision.failed_closed.add(policy.name)
    return decision


def block_message(what: Literal["request", "answer"], decision: Decision) -> str:
    """Names the policies and categories, never the text; as the local detectors word it."""
    if decision.blocking:
        names = ", ".join(repr(name) for name in sorted({finding.policy for finding in decision.blocking}))
        found = ", ".join(sorted({finding.category for finding in decision.blocking}))
        return f"{what} blocked by guardrail policy {names}: found {found}"
    names = ", ".join(repr(name) for name in sorted(decision.failed_closed))
    return f"{what} blocked: guardrail policy {names} could not check it (on_error: closed)"


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return None


def _answer_of(exchange: Exchange) -> tuple[Any, str]:
    """The answer as JSON (a stream assembled by its vendor's adapter), or why there is none."""
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in exchange.raw_response_headers}
    encoding = headers.get("content-encoding", "identity")
    if encoding not in ("", "identity"):
        return None, f"a {encoding} answer"
    if exchange.truncated:
        return None, "the answer exceeded the capture limit"
    call = WireCall(
        method=exchange.method,
        path=exchange.path,
        query=exchange.query,
        request_body=exchange.request_body,
        status=exchange.status,
        content_type=headers.get("content-type", ""),
        chunks=exchange.chunks,
        response_headers=headers,
    )
    answer = get_adapter(exchange.vendor).summarize(call).response_json
    return (answer, "") if answer is not None else (None, "the answer could not be read")


def _numbering_after(fields: Sequence[TextField]) -> Placeholders:
    """Placeholders numbered after those the local policies already put in the body (<EMAIL_1> …),
    so a provider's redaction does not reuse a number for another value."""
    numbering = Placeholders()
    highest: dict[str, int] = {}
    for text_field in fields:
        for found in _PLACEHOLDER.finditer(text_field.text):
            highest[found.group(1)] = max(highest.get(found.group(1), 0), int(found.group(2)))
    for category, number in highest.items():
        for taken in range(number):
            numbering.of(category, f"\0taken {taken}")
    return numbering
