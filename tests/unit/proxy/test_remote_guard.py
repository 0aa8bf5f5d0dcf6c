"""Remote providers on the proxy's paths: block, redact, on_error, concurrency, answers, flag after the call.

A scripted provider registered the way a plugin would be (`provider.model` names its script)
stands in for the network, so these tests do no IO.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import orjson
import pytest

from glassgate.config import GuardrailPolicy, GuardrailProvider, ProxySettings
from glassgate.guard_providers import Assessment, Phase, ProviderContext, ProviderSpec, RemoteFinding, base
from glassgate.guardrails.answers import AnswerGuard
from glassgate.guardrails.engine import GuardrailEngine, Verdict
from glassgate.guardrails.text import TextField
from glassgate.proxy.exchange import Exchange, Outcome
from glassgate.proxy.remote_guard import RemoteGuard
from glassgate.proxy.upstream import UpstreamPool

Script = Callable[[Sequence[TextField], Phase], Awaitable[Assessment]]
SCRIPTS: dict[str, Script] = {}
ASKED: list[tuple[str, Phase, list[str]]] = []


class Scripted:
    name = "scripted"

    def __init__(self, options: GuardrailProvider, context: ProviderContext) -> None:
        assert options.model is not None
        self.script = options.model

    async def check(self, texts: Sequence[TextField], phase: Phase) -> Assessment:
        ASKED.append((self.script, phase, [text.text for text in texts]))
        return await SCRIPTS[self.script](texts, phase)

    async def close(self) -> None:
        return None


@pytest.fixture(autouse=True)
def scripted_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    spec = ProviderSpec("scripted", frozenset({"model"}), frozenset(), locates=True, factory=Scripted)
    monkeypatch.setitem(base._REGISTRY, "scripted", spec)
    ASKED.clear()
    yield
    SCRIPTS.clear()


def script(name: str) -> Callable[[Script], Script]:
    def add(function: Script) -> Script:
        SCRIPTS[name] = function
        return function

    return add


def finding(category: str, score: float = 1.0, field: int | None = 0, at: str | None = None) -> Script:
    """A script finding `category` in field `field`, placed at the text `at` when given."""

    async def run(texts: Sequence[TextField], phase: Phase) -> Assessment:
        if at is None:
            return Assessment([RemoteFinding(field, category, score)])
        index = next(i for i, text in enumerate(texts) if at in text.text)
        start = texts[index].text.index(at)
        return Assessment([RemoteFinding(index, category, score, start, start + len(at))])

    return run


async def nothing(texts: Sequence[TextField], phase: Phase) -> Assessment:
    return Assessment()


def policy(name: str, script_name: str, action: str = "block", **fields: Any) -> GuardrailPolicy:
    timeout_ms = fields.pop("timeout_ms", 1000)
    detectors = ["scripted", *fields.pop("local", [])]
    return GuardrailPolicy(
        name=name,
        detectors=detectors,
        action=action,
        provider=GuardrailProvider(type="scripted", model=script_name, timeout_ms=timeout_ms),
        **fields,
    )


def remote(*policies: GuardrailPolicy) -> RemoteGuard:
    guard = RemoteGuard.of(GuardrailEngine(policies), UpstreamPool({}, ProxySettings()))
    assert guard is not None
    return guard


def chat(*messages: tuple[str, str]) -> bytes:
    return orjson.dumps({"model": "gpt-4o", "messages": [{"role": r, "content": c} for r, c in messages]})


def exchange(body: bytes, upstream: str = "openai", **fields: Any) -> Exchange:
    return Exchange(
        span_id="s1",
        upstream=upstream,
        vendor="openai",
        method="POST",
        path="/v1/chat/completions",
        query="",
        started_at=0.0,
        request_body=body,
        **fields,
    )


async def inline(guard: RemoteGuard, body: bytes, **fields: Any) -> Verdict:
    return await guard.check_request(exchange(body, **fields), Verdict(body=body))


async def test_no_policy_with_a_provider_means_no_remote_guard() -> None:
    assert RemoteGuard.of(GuardrailEngine([]), UpstreamPool({}, ProxySettings())) is None
    assert RemoteGuard.of(None, UpstreamPool({}, ProxySettings())) is None


async def test_a_finding_of_a_block_policy_blocks_and_the_stored_body_masks_its_field() -> None:
    SCRIPTS["violence"] = finding("VIOLENCE", field=1)
    body = chat(("system", "Be brief."), ("user", "a violent threat"))
    verdict = await inline(remote(policy("harm", "violence")), body)
    assert verdict.action == "block"
    assert verdict.message == "request blocked by guardrail policy 'harm': found VIOLENCE"
    stored = orjson.loads(verdict.body)
    assert stored["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "<VIOLENCE_1>"},
    ]
    (found,) = verdict.findings
    assert (found.policy, found.detector, found.phase, found.field) == (
        "harm",
        "scripted",
        "input",
        "messages[1].content",
    )
    assert (found.start, found.end, found.action) == (0, len("a violent threat"), "block")
    assert ASKED == [("violence", "input", ["Be brief.", "a violent threat"])]


async def test_a_clean_answer_forwards_the_body_untouched() -> None:
    SCRIPTS["clean"] = nothing
    body = chat(("user", "What is the capital of France?"))
    verdict = await inline(remote(policy("harm", "clean")), body)
    assert (verdict.action, verdict.body, verdict.findings, verdict.failures) == ("forward", body, [], [])


async def test_a_local_block_is_not_sent_to_the_provider_at_all() -> None:
    SCRIPTS["clean"] = nothing
    body = chat(("user", "x"))
    verdict = await remote(policy("harm", "clean")).check_request(
        exchange(body), Verdict(action="block", body=body, message="local")
    )
    assert verdict.message == "local" and ASKED == []


async def test_scopes_and_thresholds_and_categories_apply_to_remote_findings() -> None:
    SCRIPTS["weak"] = finding("HATE", score=0.4)
    SCRIPTS["other"] = finding("SEXUAL", score=0.9)
    guard = remote(
        policy("weak", "weak"),
        policy("cats", "other", categories=["VIOLENCE"]),
        policy("elsewhere", "weak", upstreams=["azure"], threshold=0.1),
    )
    verdict = await inline(guard, chat(("user", "text")))
    assert verdict.action == "forward" and verdict.findings == []
    assert sorted(name for name, *_ in ASKED) == ["other", "weak"]  # "elsewhere" scoped out


async def test_a_placed_finding_is_redacted_numbered_after_the_local_placeholders() -> None:
    SCRIPTS["pii"] = finding("EMAIL", at="bob@example.com")
    body = chat(("user", "mail <EMAIL_1> and bob@example.com"))  # <EMAIL_1>: a local policy's
    verdict = await inline(remote(policy("pii", "pii", action="redact")), body)
    assert verdict.action == "redact"
    assert orjson.loads(verdict.body)["messages"][0]["content"] == "mail <EMAIL_1> and <EMAIL_2>"
    assert [(f.action, f.start, f.end) for f in verdict.findings] == [("redact", 19, 34)]


@pytest.mark.parametrize(("on_error", "action"), [("open", "forward"), ("closed", "block")])
async def test_a_finding_that_cannot_be_placed_cannot_be_redacted(on_error: str, action: str) -> None:
    SCRIPTS["topic"] = finding("TOPIC_INVESTMENT_ADVICE", field=None)
    verdict = await inline(remote(policy("p", "topic", action="redact", on_error=on_error)), chat(("user", "tip")))
    assert verdict.action == action
    assert f"p/scripted: found TOPIC_INVESTMENT_ADVICE but not where, so cannot redact it (on_error: {on_error})" in (
        verdict.failures
    )
    assert verdict.findings[0].field == "body" and (verdict.findings[0].start, verdict.findings[0].end) == (0, 0)
    if action == "block":
        assert verdict.message == "request blocked: guardrail policy 'p' could not check it (on_error: closed)"


@pytest.mark.parametrize(("on_error", "action"), [("open", "forward"), ("closed", "block")])
async def test_a_provider_that_times_out_is_named_and_on_error_decides(on_error: str, action: str) -> None:
    @script("hang")
    async def hang(texts: Sequence[TextField], phase: Phase) -> Assessment:
        await asyncio.sleep(10)
        return Assessment()

    guard = remote(policy("slow", "hang", on_error=on_error, timeout_ms=50))
    started = time.perf_counter()
    verdict = await inline(guard, chat(("user", "x")))
    assert time.perf_counter() - started < 5
    assert verdict.action == action
    assert verdict.failures == [f"slow/scripted: timed out after 50 ms (on_error: {on_error})"]


async def test_a_provider_bug_is_contained_logged_and_named(caplog: pytest.LogCaptureFixture) -> None:
    @script("bug")
    async def bug(texts: Sequence[TextField], phase: Phase) -> Assessment:
        raise RuntimeError("provider bug")

    with caplog.at_level(logging.ERROR, logger="glassgate.proxy.remote_guard"):
        verdict = await inline(remote(policy("b", "bug")), chat(("user", "x")))
    assert verdict.action == "forward" and verdict.failures == ["b/scripted: failed: RuntimeError (on_error: open)"]
    assert "guardrail provider scripted failed" in caplog.text


async def test_every_provider_is_asked_at_once() -> None:
    second_started = asyncio.Event()

    @script("first")
    async def first(texts: Sequence[TextField], phase: Phase) -> Assessment:
        await second_started.wait()  # asked one after the other, this would time out
        return Assessment([RemoteFinding(0, "HATE", 1.0)])

    @script("second")
    async def second(texts: Sequence[TextField], phase: Phase) -> Assessment:
        second_started.set()
        return Assessment()

    guard = remote(policy("one", "first", timeout_ms=2000), policy("two", "second"))
    verdict = await inline(guard, chat(("user", "x")))
    assert verdict.failures == [] and [f.category for f in verdict.findings] == ["HATE"]


def answer_guard(*policies: GuardrailPolicy) -> AnswerGuard:
    engine = GuardrailEngine(policies)
    return AnswerGuard(engine.answer_policies("openai", "default", "gpt-4o"))


def completion(text: str) -> bytes:
    return orjson.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]})


async def test_a_whole_answer_is_blocked_or_redacted_before_it_is_sent() -> None:
    SCRIPTS["harm"] = finding("VIOLENCE")
    SCRIPTS["pii"] = finding("EMAIL", at="bob@example.com")
    blocking = policy("harm-out", "harm", phases=["output"])
    guard = remote(blocking)
    answers = answer_guard(blocking)
    raw = completion("a threat")
    verdict = await guard.check_answer(exchange(b"{}"), answers, Verdict(body=raw))
    assert verdict.action == "block" and verdict.message == answers.blocked_by
    assert verdict.message == "answer blocked by guardrail policy 'harm-out': found VIOLENCE"
    assert [(f.phase, f.field) for f in answers.findings] == [("output", "choices[0].message.content")]
    assert ASKED[-1][1] == "output"

    redacting = policy("pii-out", "pii", action="redact", phases=["output"])
    guard = remote(redacting)
    answers = answer_guard(redacting)
    verdict = await guard.check_answer(exchange(b"{}"), answers, Verdict(body=completion("write to bob@example.com")))
    assert verdict.action == "redact"
    assert orjson.loads(verdict.body)["choices"][0]["message"]["content"] == "write to <EMAIL_1>"


async def test_streams_are_relayed_past_the_providers_with_a_note() -> None:
    remote_only = policy("harm-out", "harm", phases=["output"])
    mixed = policy("mixed-out", "harm", phases=["output"], local=["secrets"])
    guard = remote(remote_only, mixed)
    only = answer_guard(remote_only)
    assert guard.skip_stream(only) is True
    assert only.notes == ["remote guardrail 'harm-out' (scripted) is not applied to streamed answers"]
    both = answer_guard(remote_only, mixed)
    assert guard.skip_stream(both) is False  # the secrets detector still runs on the stream
    assert len(both.notes) == 2


async def test_flag_policies_run_after_the_call_then_the_exchange_is_submitted() -> None:
    SCRIPTS["harm"] = finding("HATE", score=0.8)
    guard = remote(policy("watch", "harm", action="flag", phases=["input", "output"]))
    submitted: list[Exchange] = []
    call = exchange(
        chat(("user", "hello")),
        status=200,
        raw_response_headers=[(b"content-type", b"application/json")],
        chunks=[completion("hi there")],
    )
    assert guard.defer(call, submitted.append) is True
    assert submitted == []  # nothing waits for the check: it runs in a task
    await guard.close()
    assert submitted == [call]
    assert sorted((f.phase, f.category, f.action) for f in call.findings) == [
        ("input", "HATE", "flag"),
        ("output", "HATE", "flag"),
    ]
    assert sorted(phase for _, phase, _ in ASKED) == ["input", "output"]


async def test_flag_after_the_call_skips_what_it_cannot_read_and_notes_it() -> None:
    SCRIPTS["harm"] = finding("HATE")
    guard = remote(policy("watch", "harm", action="flag", phases=["input", "output"]))
    submitted: list[Exchange] = []
    blocked = exchange(
        chat(("user", "x")),
        status=200,
        outcome=Outcome.BLOCKED,
        raw_response_headers=[(b"content-encoding", b"gzip")],
        chunks=[b"\x1f\x8b"],
    )
    assert guard.defer(blocked, submitted.append)
    await guard.close()
    assert submitted == [blocked] and blocked.findings == [] and ASKED == []
    assert blocked.guardrail_notes == ["answer: remote guardrails not applied: a gzip answer"]


async def test_flag_policies_scoped_elsewhere_leave_the_submission_to_the_caller() -> None:
    SCRIPTS["harm"] = finding("HATE")
    guard = remote(policy("watch", "harm", action="flag", upstreams=["azure"]))
    assert guard.defer(exchange(chat(("user", "x"))), lambda exchange: None) is False


async def test_a_failing_flag_check_still_submits_the_exchange(caplog: pytest.LogCaptureFixture) -> None:
    SCRIPTS["harm"] = finding("HATE")
    guard = remote(policy("watch", "harm", action="flag"))
    submitted: list[Exchange] = []
    call = exchange(chat(("user", "x")))
    call.findings = None  # type: ignore[assignment]  # the merge itself fails, as a bug would
    with caplog.at_level(logging.ERROR, logger="glassgate.proxy.remote_guard"):
        assert guard.defer(call, submitted.append)
        await guard.close()
    assert submitted == [call] and call.guardrail_notes == ["remote guardrails failed (see the log)"]
    assert "remote guardrails failed on openai /v1/chat/completions" in caplog.text
