"""CPU per 1.5 KB prompt spent in each guardrail detector, alone and as the default set.

Budget (issue 5): the default set (pii + secrets + injection + toxicity) ≤ 0.3 ms CPU per 1.5 KB;
pii + secrets + injection together ≤ 0.2 ms, on a clean support ticket and on one with PII;
a streamed answer under block/redact output policies ≤ 0.2 ms CPU per relayed chunk. Restoring a
request's placeholders in a streamed answer (`restore: true`) is measured alone and on top of the
output policies; its budget is the stream guard's own cost (16–18 µs per chunk), not more.
Times are `time.process_time` medians over many rounds, which hold up when other jobs share
the machine; toxicity and profanity are included when they are registered.

    python -m bench.guardrails_bench [--rounds N] [--calls N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import orjson

from glassgate.config import GuardrailPolicy
from glassgate.guardrails import base
from glassgate.guardrails import detectors as _registers_builtins  # noqa: F401  (registers the built-ins)
from glassgate.guardrails.answers import AnswerGuard
from glassgate.guardrails.engine import GuardrailEngine, Verdict
from glassgate.guardrails.policy import CompiledPolicy
from glassgate.proxy.answer_stream import AnswerStreamGuard, dialect_for

TEXT_CLEAN = (
    "Subject: Dashboard export keeps timing out\n\n"
    "Hi support team,\n\n"
    "Since the update on Tuesday our monthly revenue dashboard no longer exports to CSV. The spinner runs "
    "for about two minutes and then the page shows a generic error. It happens in Chrome and Firefox, on "
    "Windows and on macOS, for every user in our workspace. Smaller reports (the weekly ones) still export "
    "fine, so I suspect it is related to the size of the data set: the monthly report has roughly 40k rows "
    "and 25 columns, three of which are calculated fields that join against the orders table.\n\n"
    "What we tried so far: clearing the browser cache, removing the two filters on region and channel, "
    "and exporting to Excel instead of CSV. None of it helped. Scheduling the export by email also fails "
    "silently; the job shows as queued and then disappears from the list after an hour or so.\n\n"
    "Our plan is on the business tier and we are on version 4.2 of the desktop connector, in case that "
    "matters. We have a board meeting on the 14th and need these numbers before then, so any workaround "
    "would be very welcome, even a manual one. Could you also tell us whether there is a row limit on "
    "exports that we should know about, and if it can be raised for our account?\n\n"
    "Please summarise the likely cause, list the steps we should try in order, and draft a short reply "
    "that I can forward to our finance lead explaining the situation in plain language.\n\n"
    "Thanks a lot for your help,\nthe analytics team\n"
)
TEXT_PII = (
    "Subject: Charged twice, please refund\n\n"
    "Hello, my name is Maria Gonzalez and I was billed twice for my subscription this month. My card is "
    "4111 1111 1111 1111 (Visa, expires 08/27) and both charges show the same amount on my statement. "
    "You can reach me at maria.gonzalez@example.com or on my mobile +1 (415) 555-2671; my office line is "
    "020 7946 0958 if I am in London that week. For the tax form your colleague asked for my SSN, which "
    "is 536-22-1234, and said a refund could also go to my German account DE89 3704 0044 0532 0130 00 if "
    "the card refund fails. I logged in from 203.0.113.45 this morning and the invoice page still lists "
    "both payments, with order numbers 88123 and 88124.\n\n"
    "I contacted you on the 3rd already and got an automatic answer only. I have been a customer for six "
    "years and this is the first time something like this happened, so I am sure it is a glitch, but I "
    "would like it fixed before the next billing cycle. Please confirm when the second charge has been "
    "reversed and send me an updated invoice for my records. If you need any other information from me "
    "just ask, but please do not call before 9am as I work late shifts.\n\n"
    "Could you summarise this request for the billing team, classify it by urgency, and draft a polite "
    "reply that apologises, confirms the refund timeline, and asks nothing I have already provided.\n\n"
    "Kind regards,\nMaria\n"
)
BUDGET_THREE_US = 200.0  # pii + secrets + injection
BUDGET_DEFAULT_US = 300.0  # pii + secrets + injection + toxicity
BUDGET_STREAM_CHUNK_US = 200.0  # output policies, per relayed chunk of a streamed answer
BUDGET_RESTORE_CHUNK_US = 18.0  # restore, added per relayed chunk: no more than the stream guard's own cost
PER_KB = 1500


def cpu_us_per_call(call: Callable[[], object], rounds: int, calls: int) -> float:
    """Median over `rounds` of the CPU time of `calls` calls, per call, in µs."""
    for _ in range(calls):
        call()
    samples = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            call()
        samples.append((time.process_time() - started) / calls * 1e6)
    return statistics.median(samples)


def available() -> dict[str, base.Detector]:
    names = ("pii", "secrets", "injection", "toxicity", "profanity")
    return {name: base.create(name, {}) for name in names if name in base.registered()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    detectors = available()
    texts = {"clean": TEXT_CLEAN, "PII": TEXT_PII}

    def scan_all(names: list[str], text: str) -> Callable[[], object]:
        chosen = [detectors[name] for name in names if name in detectors]
        return lambda: [detector.scan(text) for detector in chosen]

    rows: list[tuple[str, list[float], str]] = []
    for name in detectors:
        rows.append((name, [_per_kb(scan_all([name], t), t, args) for t in texts.values()], ""))
    three = ["pii", "secrets", "injection"]
    default = [*three, "toxicity"]
    rows.append((" + ".join(three), [_per_kb(scan_all(three, t), t, args) for t in texts.values()], "three"))
    if "toxicity" in detectors:
        rows.append((" + ".join(default), [_per_kb(scan_all(default, t), t, args) for t in texts.values()], "default"))

    out = [
        f"Guardrail detectors, CPU µs per {PER_KB} characters (median of {args.rounds}×{args.calls} calls); "
        f"texts: clean {len(TEXT_CLEAN)} chars, PII {len(TEXT_PII)} chars",
        "",
        "| detectors | clean | PII | budget |",
        "|---|---:|---:|---:|",
    ]
    for label, (clean, pii), kind in rows:
        budget = {"three": BUDGET_THREE_US, "default": BUDGET_DEFAULT_US}.get(kind)
        verdict = f"≤ {budget:.0f} ({'PASS' if max(clean, pii) <= budget else 'FAIL'})" if budget else ""
        out.append(f"| {label} | {clean:.1f} | {pii:.1f} | {verdict} |")
    findings = {name: len(detector.scan(TEXT_PII)) for name, detector in detectors.items()}
    out += ["", "findings in the PII text: " + ", ".join(f"{name} {count}" for name, count in findings.items())]
    out += ["", *_streamed_answers(texts, args)]
    out += ["", *_restored_answers(args)]
    sys.stdout.write("\n".join(out) + "\n")


def _chat_events(text: str, size: int) -> list[bytes]:
    """A Chat Completions stream of `text` in `size`-character deltas (models send ~4)."""
    events = []
    for start in range(0, len(text), size):
        choice = {"index": 0, "delta": {"content": text[start : start + size]}, "finish_reason": None}
        events.append(b"data: " + orjson.dumps({"id": "c1", "object": "chat.completion.chunk", "choices": [choice]}))
    events.append(b'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}')
    return [event + b"\n\n" for event in [*events, b"data: [DONE]"]]


def _streamed_answers(texts: dict[str, str], args: argparse.Namespace) -> list[str]:
    """CPU per relayed chunk of a streamed answer under output policies (redact PII, block
    secrets), the whole SSE handling included: parse, window, detectors, re-serialise."""
    policies = [
        CompiledPolicy.of(GuardrailPolicy(name="pii", detectors=["pii"], phases=["output"], action="redact")),
        CompiledPolicy.of(GuardrailPolicy(name="keys", detectors=["secrets"], phases=["output"], action="block")),
    ]
    rows = [
        f"Streamed answers, CPU µs per chunk (4-character deltas; redact pii, block secrets); "
        f"budget ≤ {BUDGET_STREAM_CHUNK_US:.0f} µs",
        "",
        "| answer | chunks | µs per chunk | budget |",
        "|---|---:|---:|---:|",
    ]
    for label, text in texts.items():
        events = _chat_events(text, 4)

        def relay(chosen: list[bytes] = events) -> None:
            dialect = dialect_for("openai", "/v1/chat/completions", AnswerGuard(policies))
            assert dialect is not None
            guard = AnswerStreamGuard(dialect)
            for event in chosen:
                guard.feed(event)
            guard.flush()

        per_chunk = cpu_us_per_call(relay, max(5, args.rounds // 3), max(2, args.calls // 50)) / len(events)
        verdict = "PASS" if per_chunk <= BUDGET_STREAM_CHUNK_US else "FAIL"
        rows.append(f"| {label} | {len(events)} | {per_chunk:.1f} | ≤ {BUDGET_STREAM_CHUNK_US:.0f} ({verdict}) |")
    return rows


def _relay(events: list[bytes], make: Callable[[], AnswerGuard | None]) -> Callable[[], None]:
    """Relaying `events` through a fresh guard (its making included)."""

    def relay() -> None:
        answer_guard = make()
        assert answer_guard is not None
        dialect = dialect_for("openai", "/v1/chat/completions", answer_guard)
        assert dialect is not None
        guard = AnswerStreamGuard(dialect)
        for event in events:
            guard.feed(event)
        guard.flush()

    return relay


def _interleaved(calls: dict[str, Callable[[], None]], rounds: int, repeat: int) -> dict[str, float]:
    """Median CPU µs per call of each, measured in turns within each round: a difference between
    them holds up when other jobs share the machine (measured apart, it drifts by several µs)."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            started = time.process_time()
            for _ in range(repeat):
                call()
            samples[name].append((time.process_time() - started) / repeat * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def _restored_answers(args: argparse.Namespace) -> list[str]:
    """CPU per relayed chunk added by restoring placeholders: the request (the PII ticket) was
    redacted by a `restore` policy; the model answers with that masked text (placeholders cut
    across 4-character deltas), or with the clean text (nothing to restore)."""
    engine = GuardrailEngine([GuardrailPolicy(name="mask", detectors=["pii"], action="redact", restore=True)])
    request = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": TEXT_PII}]})
    redaction: Verdict = engine.check_request(
        "inline", vendor="openai", upstream="u", project="p", path="/v1/chat/completions", raw=request
    )
    masked = orjson.loads(redaction.body)["messages"][0]["content"]
    # An output policy on all of pii would keep every PII placeholder masked: here it redacts
    # IBANs only (whose placeholder is then not restored), so that restore has work to do.
    narrow = [
        CompiledPolicy.of(
            GuardrailPolicy(name="pii", detectors=["pii"], phases=["output"], action="redact", categories=["IBAN"])
        ),
        CompiledPolicy.of(GuardrailPolicy(name="keys", detectors=["secrets"], phases=["output"], action="block")),
    ]
    makers: dict[str, Callable[[], AnswerGuard | None]] = {
        "guarded": lambda: AnswerGuard.for_call(narrow, redaction.placeholders),
        "restoring": lambda: AnswerGuard.for_call(narrow, redaction.placeholders, redaction.restorable),
        "alone": lambda: AnswerGuard.for_call([], redaction.placeholders, redaction.restorable),
    }
    rows = [
        f"Restoring placeholders in streamed answers, CPU µs per chunk (4-character deltas; "
        f"{len(redaction.restorable)} placeholders issued for the request; output policies: redact IBAN, "
        f"block secrets); added cost budget ≤ {BUDGET_RESTORE_CHUNK_US:.0f} µs",
        "",
        "| answer | chunks | output policies | + restore | added | restore alone | budget |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, text in (("masked ticket (placeholders)", masked), ("clean (none)", TEXT_CLEAN)):
        events = _chat_events(text, 4)
        calls = {name: _relay(events, make) for name, make in makers.items()}
        per_call = _interleaved(calls, max(11, args.rounds), max(2, args.calls // 70))
        base, both, alone = (per_call[name] / len(events) for name in ("guarded", "restoring", "alone"))
        verdict = "PASS" if max(both - base, alone) <= BUDGET_RESTORE_CHUNK_US else "FAIL"
        rows.append(
            f"| {label} | {len(events)} | {base:.1f} | {both:.1f} | {both - base:+.1f} | {alone:.1f} | "
            f"≤ {BUDGET_RESTORE_CHUNK_US:.0f} ({verdict}) |"
        )
    return rows


def _per_kb(call: Callable[[], object], text: str, args: argparse.Namespace) -> float:
    return cpu_us_per_call(call, args.rounds, args.calls) * PER_KB / len(text)


if __name__ == "__main__":
    main()
