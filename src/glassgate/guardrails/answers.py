"""Block and redact on answers: a whole body at once, or a stream through a sliding window.

`AnswerGuard` holds the output policies that can change one call's answer (`block`,
`redact`), its placeholders and its findings. A non-streamed answer is checked whole
(`check_body`); a streamed one text channel at a time (`window`), each channel being one
piece of generated text (a choice, a content block, an output item) that arrives in deltas.

The sliding window releases text as soon as no match can still grow into it: it holds back
only the tail that could be the start of something sensitive — the last run of characters
without a space (an email, a key, a URL being written), extended over short digit groups
("4111 1111 1111 1", "+1 415 555") and over an unterminated PEM block. A stream whose text
ends each delta with a space is relayed with no delay at all.

Offsets of findings are into the channel's text as the model wrote it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from glassgate.guardrails.base import Match
from glassgate.guardrails.engine import Finding, Verdict, finding_of, masked_body, masked_text, scan_policies
from glassgate.guardrails.placeholders import Placeholders
from glassgate.guardrails.policy import CompiledPolicy
from glassgate.guardrails.text import TextField, response_texts

log = logging.getLogger(__name__)

MAX_HOLD_CHARS = 1024  # past this a run without spaces is released (and scanned) anyway
_PEM_HOLD_CHARS = 8192  # a private key block is held until its END line, up to this
_CONTEXT_CHARS = 64  # released text the detectors still see, for context words ("SSN: …")
_NUMBER_GROUP_CHARS = 6  # "+1", "(415)", "1111", "DE89": a group a number may continue with
_NUMBER_CHARS = frozenset("0123456789+().-/")


def _number_group(group: str) -> bool:
    """A group a number is written in: "+1", "(415)", "555-", "4111", or an IBAN's "DE89", "NWBK"."""
    if not 0 < len(group) <= _NUMBER_GROUP_CHARS:
        return False
    if all(char in _NUMBER_CHARS for char in group):
        return any(char.isdigit() for char in group)
    return len(group) <= 4 and group.isalnum() and group.isupper()


def hold_start(text: str) -> int:
    """Where the tail that a match could still grow into begins (len(text): nothing held)."""
    end = len(text)
    floor = max(0, end - MAX_HOLD_CHARS)
    start = end
    while start > floor and not text[start - 1].isspace():
        start -= 1
    # Numbers written in groups ("4111 1111 1111 1", "+1 415 555 ") may still become a card
    # or a phone number: the groups before the tail are held with it.
    if start == end or _number_group(text[start:end]):
        while start >= 2 and text[start - 1] in " -" and not text[start - 2].isspace():
            group_start = start - 1
            while group_start > floor and not text[group_start - 1].isspace():
                group_start -= 1
            if not _number_group(text[group_start : start - 1]):
                break
            start = group_start
    begin = text.rfind("-----BEGIN", max(0, end - _PEM_HOLD_CHARS))
    if begin >= 0 and "-----END" not in text[begin:]:
        start = min(start, begin)
    return start


@dataclass(slots=True)
class AnswerGuard:
    """The output policies that block or redact one call's answer, and what they found."""

    policies: Sequence[CompiledPolicy]
    placeholders: Placeholders = field(default_factory=Placeholders)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blocked_by: str | None = None  # the block message, once a block policy matched

    def check_body(self, vendor: str, path: str, raw: bytes) -> Verdict:
        """A whole (non-streamed) answer: forward it, forward a redacted copy, or block it."""
        verdict = Verdict(body=raw)
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            verdict.skipped.append("the answer is not JSON")
            self.notes += verdict.skipped
            return verdict
        extraction = response_texts(vendor, path, body)
        verdict.scanned, verdict.skipped = len(extraction.fields), list(extraction.skipped)
        failed_closed: set[str] = set()
        matched = scan_policies(self.policies, extraction.fields, verdict, failed_closed)
        verdict.findings = [finding_of(p, "output", tf, d, m) for p, tf, d, m in matched]
        self.findings += verdict.findings
        self.notes += [*verdict.skipped, *verdict.failures]
        blocking = [item for item in matched if item[0].action == "block"]
        if failed_closed or blocking:
            verdict.action = "block"
            verdict.body = masked_body(raw, [(tf, m) for _, tf, _, m in matched], self.placeholders)
            verdict.message = self._block_message(blocking, failed_closed)
            return verdict
        if matched:
            verdict.action = "redact"
            verdict.body = masked_body(raw, [(tf, m) for _, tf, _, m in matched], self.placeholders)
        return verdict

    def window(self, field_path: tuple[str | int, ...]) -> TextWindow:
        """A sliding window over one streamed text channel (`field_path`: where the assembled
        answer keeps its text, for the findings)."""
        return TextWindow(self, field_path)

    def _block_message(self, blocking: Sequence[tuple[CompiledPolicy, TextField, str, Match]], failed: set[str]) -> str:
        if failed and not blocking:
            names = ", ".join(repr(name) for name in sorted(failed))
            message = f"answer blocked: guardrail policy {names} could not check it (on_error: closed)"
        else:
            names = ", ".join(repr(name) for name in sorted({policy.name for policy, *_ in blocking}))
            found = ", ".join(sorted({match.category for *_, match in blocking}))
            message = f"answer blocked by guardrail policy {names}: found {found}"
        self.blocked_by = message
        return message


class TextWindow:
    """One streamed text channel: `push` each delta, release what comes back, `close` at its end."""

    __slots__ = ("_context", "_guard", "_offset", "_path", "_pending")

    def __init__(self, guard: AnswerGuard, path: tuple[str | int, ...]) -> None:
        self._guard = guard
        self._path = path
        self._context = ""  # the end of what was released, for the detectors' context
        self._pending = ""  # received, not yet released
        self._offset = 0  # where `_pending` starts in the channel's text

    @property
    def held(self) -> int:
        return len(self._pending)

    def push(self, text: str) -> str:
        """The text to relay now for this delta (possibly ""); "" once the answer is blocked."""
        if self._guard.blocked_by is not None:
            return ""
        self._pending += text
        return self._release(hold_start(self._pending))

    def close(self) -> str:
        """Everything still held, redacted: the channel ended."""
        if self._guard.blocked_by is not None or not self._pending:
            return ""
        return self._release(len(self._pending))

    def _release(self, hold: int) -> str:
        guard = self._guard
        scanned = self._context + self._pending
        shift = len(self._context)
        text_field = TextField(self._path, "assistant", scanned)
        verdict = Verdict()
        failed_closed: set[str] = set()
        matched = scan_policies(guard.policies, [text_field], verdict, failed_closed)
        guard.notes += [failure for failure in verdict.failures if failure not in guard.notes]
        # Matches that touch the held tail may still grow: they wait with it.
        final = len(self._pending)
        if hold < final:
            for _, _, _, match in matched:
                if match.end - shift > hold:
                    hold = min(hold, max(0, match.start - shift))
        if hold == 0:
            return ""
        complete = [item for item in matched if item[3].end - shift <= hold and item[3].end > shift]
        blocking = [item for item in complete if item[0].action == "block"]
        if failed_closed or blocking:
            guard._block_message(blocking, failed_closed)
            self._record(complete, shift)
            return ""
        self._record(complete, shift)
        released, self._pending = self._pending[:hold], self._pending[hold:]
        local = [Match(m.category, max(0, m.start - shift), m.end - shift, m.score) for _, _, _, m in complete]
        out = masked_text(released, local, guard.placeholders) if local else released
        self._offset += hold
        self._context = (self._context + released)[-_CONTEXT_CHARS:]
        return out

    def _record(self, matched: list[tuple[CompiledPolicy, TextField, str, Match]], shift: int) -> None:
        for policy, _, detector, match in matched:
            start = self._offset + max(0, match.start - shift)
            end = self._offset + match.end - shift
            placed = TextField(self._path, "assistant", "")
            self._guard.findings.append(
                finding_of(policy, "output", placed, detector, Match(match.category, start, end, match.score))
            )
