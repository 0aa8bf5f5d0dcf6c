"""Block and redact on answers: a whole body at once, or a stream through a sliding window.

`AnswerGuard` holds the output policies that can change one call's answer (`block`,
`redact`), its placeholders and its findings. A non-streamed answer is checked whole
(`check_body`); a streamed one text channel at a time (`window`), each channel being one
piece of generated text (a choice, a content block, an output item) that arrives in deltas.
A tool call's streamed arguments are JSON text: guardrails.arguments reads each of their
values through a window of its own, so redactions and restored values stay valid JSON.

The sliding window releases text as soon as no match can still grow into it: it holds back
only the tail that could be the start of something sensitive — the last run of characters
without a space (an email, a key, a URL being written), extended over short digit groups
("4111 1111 1111 1", "+1 415 555") and over an unterminated PEM block. A stream whose text
ends each delta with a space is relayed with no delay at all.

Offsets of findings are into the channel's text as the model wrote it.

Restore (`restore: true` on a redact policy for requests): the client gets its own values back
where the answer repeats the placeholders its request was sent with. Every piece of answer
therefore comes out twice, as `Released` (client, stored): the client's copy with this call's
placeholders restored, the stored copy as the vendor wrote it (output redactions applied), for
the span. The order, chosen so that restore never undoes a policy:

1. output policies read the answer as the vendor wrote it, placeholders and all, and redact or
   block it; the span keeps that text;
2. restore runs last, on the client's copy only;
3. a placeholder is not restored at all when an output block/redact policy of the call would
   catch its value (`AnswerGuard.for_call` checks each value), nor, from then on, once an output
   policy has redacted the value into it (the answer's numbering continues the request's, so
   the same value gets the same placeholder). The stricter policy wins; the span's notes name
   the placeholders the first rule keeps.

The window also holds back a tail that could still become one of this call's placeholders
(`<EMA` at the end of a delta), so a placeholder cut across deltas is restored whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson

from glassgate.guardrails.base import Match
from glassgate.guardrails.engine import Finding, Verdict, finding_of, masked_body, masked_text, scan_policies
from glassgate.guardrails.placeholders import Placeholders, Restorable, Restorer
from glassgate.guardrails.policy import CompiledPolicy
from glassgate.guardrails.text import TextField, response_texts, rewrite_strings

log = logging.getLogger(__name__)

MAX_HOLD_CHARS = 1024  # past this a run without spaces is released (and scanned) anyway
_PEM_HOLD_CHARS = 8192  # a private key block is held until its END line, up to this
_CONTEXT_CHARS = 64  # released text the detectors still see, for context words ("SSN: …")
_NUMBER_GROUP_CHARS = 6  # "+1", "(415)", "1111", "DE89": a group a number may continue with
_NUMBER_CHARS = frozenset("0123456789+().-/")

Released = tuple[str, str]  # (to the client: placeholders restored, to the span: as the vendor wrote it)
_NOTHING: Released = ("", "")


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
    """The output policies that block or redact one call's answer, what they found, and the
    placeholders of its request to restore for the client."""

    policies: Sequence[CompiledPolicy]
    placeholders: Placeholders = field(default_factory=Placeholders)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blocked_by: str | None = None  # the block message, once a block policy matched
    restorer: Restorer | None = None
    scans: bool = field(init=False)  # whether any policy has a local detector to run

    def __post_init__(self) -> None:
        self.scans = any(policy.detectors for policy in self.policies)

    @classmethod
    def for_call(
        cls,
        policies: Sequence[CompiledPolicy],
        placeholders: Placeholders | None = None,
        restorable: Sequence[Restorable] = (),
    ) -> AnswerGuard | None:
        """The guard of one call's answer, or None when it has nothing to do.

        `placeholders`: the request's numbering, continued by the output redactions, so one
        value has one placeholder across the call and a new value never reuses a request's
        number. `restorable`: the request's placeholders a policy asked to restore; those whose
        value an output policy here would catch stay placeholders (noted on the span)."""
        guard = cls(policies, placeholders.continued() if placeholders is not None else Placeholders())
        values: dict[str, str] = {}
        for item in restorable:
            catching = [policy.name for policy in policies if _would_catch(policy, item)]
            if catching:
                names = ", ".join(repr(name) for name in catching)
                guard.notes.append(f"{item.placeholder} not restored: output policy {names} would catch its value")
            else:
                values[item.placeholder] = item.value
        restorer = Restorer(values, withheld=guard.placeholders.handed_out)
        if restorer:
            guard.restorer = restorer
            names = ", ".join(restorer.placeholders())
            guard.notes.append(f"placeholders restored for the client where repeated: {names}")
        return guard if policies or guard.restorer is not None else None

    def check_body(self, vendor: str, path: str, raw: bytes) -> Verdict:
        """A whole (non-streamed) answer: forward it, forward a redacted copy, or block it.
        (The body stays as the vendor wrote it: `restored_body` makes the client's copy.)"""
        verdict = Verdict(body=raw)
        if not self.policies:  # a guard that only restores
            return verdict
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

    def restored_body(self, vendor: str, path: str, raw: bytes) -> bytes:
        """The client's copy of a whole answer (after `check_body` and any remote check): this
        call's placeholders restored in its text fields, every other byte as it was."""
        restorer = self.restorer
        if restorer is None or b"<" not in raw:
            return raw
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw
        replacements: dict[tuple[str | int, ...], str] = {}
        for text_field in response_texts(vendor, path, body).fields:
            # Tool-call `arguments` are JSON text: a value goes in escaped, as a JSON string holds it.
            json_text = text_field.role == "tool_arguments" and text_field.path[-1] == "arguments"
            restored = restorer.restore_json(text_field.text) if json_text else restorer.restore(text_field.text)
            if restored != text_field.text:
                replacements[text_field.path] = restored
        try:
            return rewrite_strings(raw, replacements)
        except ValueError:  # a duplicated key, say: the client gets the placeholders, as sent
            self.notes.append("placeholders not restored: the answer's text could not be rewritten in place")
            return raw

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


def _would_catch(policy: CompiledPolicy, item: Restorable) -> bool:
    """Whether an output block/redact policy could catch a restorable value in an answer: one of
    its detectors found the value in the request (a detector that needs context, "SSN: …", may
    miss the bare value) or finds something in the value alone, or it asks a remote provider,
    which cannot be asked about each value (then every value of its categories stays masked)."""
    in_categories = policy.categories is None or item.category in policy.categories
    if in_categories and (policy.remote or any(detector.name in item.detectors for detector in policy.detectors)):
        return True
    verdict = Verdict()
    failed_closed: set[str] = set()
    matched = scan_policies([policy], [TextField((), "assistant", item.value)], verdict, failed_closed)
    return bool(matched or verdict.failures)  # a detector that fails on it: not restored either


class TextWindow:
    """One streamed text channel: `push` each delta, relay what comes back, `close` at its end.
    Each returns `Released` (client, stored): equal unless this call restores placeholders.

    `context`: text the detectors read before the channel's own ("ssn: " before a tool-call
    argument's value), never released. `locate`: where a finding's offsets point, from offsets
    into the channel's text (a tool call's JSON arguments, whose escapes the channel decoded)."""

    __slots__ = ("_context", "_guard", "_locate", "_offset", "_path", "_pending", "_restorer")

    def __init__(
        self,
        guard: AnswerGuard,
        path: tuple[str | int, ...],
        *,
        context: str = "",
        locate: Callable[[int], int] | None = None,
    ) -> None:
        self._guard = guard
        self._path = path
        self._restorer = guard.restorer
        self._context = context[-_CONTEXT_CHARS:]  # the end of what was released, for the detectors' context
        self._locate = locate
        self._pending = ""  # received, not yet released
        self._offset = 0  # where `_pending` starts in the channel's text

    @property
    def held(self) -> int:
        return len(self._pending)

    def push(self, text: str) -> Released:
        """The text to relay now for this delta, (client, stored) (possibly empty); nothing once
        the answer is blocked."""
        if self._guard.blocked_by is not None:
            return _NOTHING
        self._pending += text
        if not self._guard.scans:
            return self._restore_only(final=False)
        return self._release(hold_start(self._pending), final=False)

    def close(self) -> Released:
        """Everything still held, redacted and restored: the channel ended."""
        if self._guard.blocked_by is not None or not self._pending:
            return _NOTHING
        if not self._guard.scans:
            return self._restore_only(final=True)
        return self._release(len(self._pending), final=True)

    def _restore_only(self, *, final: bool) -> Released:
        """No detector to run (a call that only restores): hold back only a placeholder's start."""
        pending, restorer = self._pending, self._restorer
        if restorer is None:
            self._pending = ""
            return pending, pending
        hold = len(pending) if final else restorer.cut(pending, len(pending))
        released, self._pending = pending[:hold], pending[hold:]
        return restorer.restore(released), released

    def _release(self, hold: int, *, final: bool) -> Released:
        guard = self._guard
        scanned = self._context + self._pending
        shift = len(self._context)
        text_field = TextField(self._path, "assistant", scanned)
        verdict = Verdict()
        failed_closed: set[str] = set()
        matched = scan_policies(guard.policies, [text_field], verdict, failed_closed)
        guard.notes += [failure for failure in verdict.failures if failure not in guard.notes]
        # Matches that touch the held tail may still grow: they wait with it; so does a
        # placeholder the release would cut. (Each step only moves the release point back.)
        if not final:
            while True:
                before = hold
                if self._restorer is not None:
                    hold = self._restorer.cut(self._pending, hold)
                for _, _, _, match in matched:
                    if match.end - shift > hold:
                        hold = min(hold, max(0, match.start - shift))
                if hold == before:
                    break
        if hold == 0:
            return _NOTHING
        complete = [item for item in matched if item[3].end - shift <= hold and item[3].end > shift]
        blocking = [item for item in complete if item[0].action == "block"]
        if failed_closed or blocking:
            guard._block_message(blocking, failed_closed)
            self._record(complete, shift)
            return _NOTHING
        self._record(complete, shift)
        released, self._pending = self._pending[:hold], self._pending[hold:]
        local = [Match(m.category, max(0, m.start - shift), m.end - shift, m.score) for _, _, _, m in complete]
        self._offset += hold
        self._context = (self._context + released)[-_CONTEXT_CHARS:]
        stored = masked_text(released, local, guard.placeholders) if local else released
        return (stored if self._restorer is None else self._restorer.restore(stored)), stored

    def _record(self, matched: list[tuple[CompiledPolicy, TextField, str, Match]], shift: int) -> None:
        for policy, _, detector, match in matched:
            start = self._offset + max(0, match.start - shift)
            end = self._offset + match.end - shift
            if self._locate is not None:
                start, end = self._locate(start), self._locate(end)
            placed = TextField(self._path, "assistant", "")
            self._guard.findings.append(
                finding_of(policy, "output", placed, detector, Match(match.category, start, end, match.score))
            )
