"""Azure AI Content Safety: the request it sends, how severities become findings, and its failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from glassgate.config import GuardrailProvider
from glassgate.errors import UpstreamTimeout
from glassgate.guard_providers import ProviderContext, ProviderError, RemoteFinding
from glassgate.guard_providers.azure_content_safety import AzureContentSafety, parse_analysis, split_text
from glassgate.guardrails.text import TextField
from tests.fakes.provider_pool import Opener, Reply, Sent, json_reply

KEY = "acs-key-0123456789"


class NoUpstreams:
    def get(self, name: str) -> None:
        return None


def analysis(**severities: int) -> dict[str, Any]:
    return {
        "blocklistsMatch": [],
        "categoriesAnalysis": [{"category": c, "severity": s} for c, s in severities.items()],
    }


def provider(
    answer: Any, endpoint: str = "https://contoso.cognitiveservices.azure.com"
) -> tuple[AzureContentSafety, Opener]:
    opener = Opener(answer)
    options = GuardrailProvider(type="azure_content_safety", endpoint=endpoint, key=KEY)
    return AzureContentSafety(options, ProviderContext(NoUpstreams(), opener)), opener


def fields(*texts: str) -> list[TextField]:
    return [TextField(("messages", index, "content"), "user", text) for index, text in enumerate(texts)]


def by_marker(request: Sent) -> Reply:
    text = request.json()["text"]
    return json_reply(analysis(Hate=4 if "hate" in text else 0, Violence=6 if "threat" in text else 0, SelfHarm=0))


async def test_one_call_per_field_in_the_services_wire_format() -> None:
    check, opener = provider(by_marker, "https://contoso.cognitiveservices.azure.com/base/")
    assessment = await check.check(fields("hello", "some hate here", "a threat and hate"), "input")
    assert [pool.origin for pool in opener.pools] == [("https", "contoso.cognitiveservices.azure.com", 443)]
    sent = opener.sent
    assert len(sent) == 3
    assert {request.target for request in sent} == {"/base/contentsafety/text:analyze?api-version=2024-09-01"}
    assert all(request.method == "POST" and request.header("Ocp-Apim-Subscription-Key") == KEY for request in sent)
    assert sent[0].json() == {
        "text": "hello",
        "categories": ["Hate", "SelfHarm", "Sexual", "Violence"],
        "outputType": "FourSeverityLevels",
    }
    assert sorted(assessment.findings, key=lambda f: (f.field or 0, f.category)) == [
        RemoteFinding(1, "HATE", 4 / 6),
        RemoteFinding(2, "HATE", 4 / 6),
        RemoteFinding(2, "VIOLENCE", 1.0),
    ]
    assert assessment.notes == []


async def test_a_field_over_10000_characters_is_sent_in_pieces_and_the_worst_severity_kept() -> None:
    check, opener = provider(by_marker)
    long_text = ("word " * 2400) + "threat " + ("word " * 100)  # 12,707 characters
    assessment = await check.check(fields(long_text), "output")
    pieces = [request.json()["text"] for request in opener.sent]
    assert len(pieces) == 2 and "".join(pieces) == long_text
    assert all(len(piece) <= 10_000 for piece in pieces) and pieces[0].endswith(" ")
    assert assessment.findings == [RemoteFinding(0, "VIOLENCE", 1.0)]
    assert assessment.notes == ["2 calls for 1 text fields (texts over 10000 characters cut in pieces)"]


def test_split_text_cuts_at_a_space_near_the_limit_or_hard_without_one() -> None:
    assert split_text("abc def ghi", limit=8) == ["abc def ", "ghi"]
    assert split_text("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_text("short") == ["short"]


def test_severities_are_read_by_category_and_unknown_categories_kept_in_snake_case() -> None:
    found = parse_analysis(analysis(Hate=2, SelfHarm=4, Sexual=0, Violence=6, NewHarm=2))
    assert found == {"HATE": 2, "SELF_HARM": 4, "SEXUAL": 0, "VIOLENCE": 6, "NEW_HARM": 2}


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"categoriesAnalysis": "none"},
        {"categoriesAnalysis": [{"category": "Hate"}]},
        {"x": 1},
        {"categoriesAnalysis": [{"category": "Hate", "severity": True}]},
    ],
)
def test_an_answer_of_another_shape_is_a_provider_error(payload: Any) -> None:
    with pytest.raises(ProviderError, match="azure_content_safety"):
        parse_analysis(payload)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            json_reply({"error": {"code": "InvalidRequestBody", "message": "no"}}, 400),
            r"HTTP 400 \(InvalidRequestBody\)",
        ),
        ((401, b"{}"), r"HTTP 401 \(no error code\)"),
        ((200, b"<html>"), "not JSON"),
        (UpstreamTimeout("read timeout"), "did not answer in time"),
    ],
)
async def test_failures_are_provider_errors_that_never_carry_the_key(reply: Reply, message: str) -> None:
    check, _ = provider(lambda request: reply)
    with pytest.raises(ProviderError, match=message) as caught:
        await check.check(fields("anything"), "input")
    assert KEY not in str(caught.value)


async def test_one_failing_piece_cancels_the_others_and_the_pool_is_closed_on_close() -> None:
    def answer(request: Sent) -> Reply:
        return (
            (500, json.dumps({"error": {"code": "InternalServerError"}}).encode())
            if "bad" in request.json()["text"]
            else json_reply(analysis(Hate=0))
        )

    check, opener = provider(answer)
    with pytest.raises(ProviderError, match="InternalServerError"):
        await check.check(fields("good", "bad", "good"), "input")
    await check.close()
    assert opener.pools[0].closed
