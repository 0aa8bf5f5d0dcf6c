"""Bedrock ApplyGuardrail: the signed request, every assessment kind as findings, placed where it can be."""

from __future__ import annotations

from typing import Any

import pytest

from glassgate.config import GuardrailProvider
from glassgate.guard_providers import ProviderContext, ProviderError, RemoteFinding
from glassgate.guard_providers.bedrock_guardrail import BedrockGuardrail, findings_of
from glassgate.guardrails.text import TextField
from tests.fakes.provider_pool import Opener, Reply, Sent, json_reply

ARN = "arn:aws:bedrock:eu-west-1:123456789012:guardrail/abc123"
SECRET = "aws-secret-for-the-guardrail-test"


class NoUpstreams:
    def get(self, name: str) -> None:
        return None


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default chain finds these first (the environment), so nothing else is read."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAGUARDRAILTEST01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def provider(answer: Any, **options: Any) -> tuple[BedrockGuardrail, Opener]:
    opener = Opener(answer)
    config = GuardrailProvider(
        type="bedrock_guardrail", region="eu-west-1", guardrail_id=ARN, guardrail_version="2", **options
    )
    return BedrockGuardrail(config, ProviderContext(NoUpstreams(), opener)), opener


def fields(*texts: str) -> list[TextField]:
    return [TextField(("messages", index, "content"), "user", text) for index, text in enumerate(texts)]


NONE = {"action": "NONE", "assessments": [], "outputs": [], "usage": {}}


async def test_one_signed_call_with_a_content_block_per_field() -> None:
    check, opener = provider(lambda request: json_reply(NONE))
    assessment = await check.check(fields("first", "second"), "output")
    assert assessment.findings == [] and assessment.notes == []
    assert opener.pools[0].origin == ("https", "bedrock-runtime.eu-west-1.amazonaws.com", 443)
    (sent,) = opener.sent
    assert (
        sent.target == "/guardrail/arn%3Aaws%3Abedrock%3Aeu-west-1%3A123456789012%3Aguardrail%2Fabc123/version/2/apply"
    )
    assert sent.json() == {"source": "OUTPUT", "content": [{"text": {"text": "first"}}, {"text": {"text": "second"}}]}
    assert sent.header("host") == "bedrock-runtime.eu-west-1.amazonaws.com"
    authorization = sent.header("authorization") or ""
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIAGUARDRAILTEST01/")
    assert "/eu-west-1/bedrock/aws4_request" in authorization and SECRET not in authorization
    assert sent.header("x-amz-date")


async def test_an_endpoint_override_is_used_and_signed_for(monkeypatch: pytest.MonkeyPatch) -> None:
    check, opener = provider(lambda request: json_reply(NONE), endpoint="http://127.0.0.1:9999/prefix")
    await check.check(fields("text"), "input")
    (sent,) = opener.sent
    assert opener.pools[0].origin == ("http", "127.0.0.1", 9999)
    assert sent.target.startswith("/prefix/guardrail/") and sent.header("host") == "127.0.0.1:9999"
    assert sent.json()["source"] == "INPUT"


def test_every_assessment_kind_becomes_a_finding_placed_where_the_match_is() -> None:
    payload = {
        "action": "GUARDRAIL_INTERVENED",
        "assessments": [
            {
                "topicPolicy": {"topics": [{"name": "Investment advice", "type": "DENY", "action": "BLOCKED"}]},
                "contentPolicy": {
                    "filters": [
                        {"type": "VIOLENCE", "confidence": "MEDIUM", "filterStrength": "HIGH", "action": "BLOCKED"},
                        {"type": "HATE", "confidence": "NONE", "action": "NONE"},  # not acted on
                        {"type": "INSULTS", "confidence": "LOW", "action": "NONE", "detected": True},  # detect mode
                    ]
                },
                "wordPolicy": {
                    "customWords": [{"match": "falcon", "action": "BLOCKED"}],
                    "managedWordLists": [{"match": "darn", "type": "PROFANITY", "action": "BLOCKED"}],
                },
                "sensitiveInformationPolicy": {
                    "piiEntities": [{"match": "jane@example.com", "type": "EMAIL", "action": "ANONYMIZED"}],
                    "regexes": [{"name": "order id", "match": "ORD-77", "regex": "ORD-\\d+", "action": "ANONYMIZED"}],
                },
                "contextualGroundingPolicy": {
                    "filters": [{"type": "GROUNDING", "score": 0.2, "threshold": 0.7, "action": "BLOCKED"}]
                },
            }
        ],
    }
    texts = ["mail jane@example.com about falcon", "darn, ORD-77 and jane@example.com again", "no match here"]
    assert findings_of(payload, texts) == [
        RemoteFinding(None, "TOPIC_INVESTMENT_ADVICE", 1.0),
        RemoteFinding(None, "VIOLENCE", 0.75),
        RemoteFinding(None, "INSULTS", 0.5),
        RemoteFinding(0, "DENIED_WORD", 1.0, 28, 34),
        RemoteFinding(1, "PROFANITY", 1.0, 0, 4),
        RemoteFinding(0, "EMAIL", 1.0, 5, 21),
        RemoteFinding(1, "EMAIL", 1.0, 17, 33),
        RemoteFinding(1, "ORDER_ID", 1.0, 6, 12),
        RemoteFinding(None, "CONTEXTUAL_GROUNDING", 0.8),
    ]


def test_a_match_not_found_verbatim_concerns_the_texts_as_a_whole() -> None:
    payload = {
        "action": "GUARDRAIL_INTERVENED",
        "assessments": [
            {"sensitiveInformationPolicy": {"piiEntities": [{"match": "X", "type": "NAME", "action": "BLOCKED"}]}}
        ],
    }
    assert findings_of(payload, ["no such thing"]) == [RemoteFinding(None, "NAME", 1.0)]


def test_an_intervention_with_nothing_recognisable_is_still_a_finding() -> None:
    payload = {"action": "GUARDRAIL_INTERVENED", "assessments": [{"automatedReasoningPolicy": {"findings": []}}]}
    assert findings_of(payload, ["text"]) == [RemoteFinding(None, "BEDROCK_GUARDRAIL", 1.0)]
    assert findings_of(NONE, ["text"]) == []


@pytest.mark.parametrize(
    "payload", [[], {"action": "MAYBE"}, {"assessments": []}, {"action": "NONE", "assessments": "none"}]
)
def test_an_answer_of_another_shape_is_a_provider_error(payload: Any) -> None:
    with pytest.raises(ProviderError, match="bedrock_guardrail"):
        findings_of(payload, ["text"])


async def test_an_aws_error_names_its_type_not_its_message() -> None:
    def answer(request: Sent) -> Reply:
        headers = {"x-amzn-ErrorType": "AccessDeniedException:http://internal.amazon.com/coral/"}
        return 403, b'{"message": "User arn:aws:iam::1:user/x is not authorized"}', headers

    check, _ = provider(answer)
    with pytest.raises(ProviderError, match=r"HTTP 403 \(AccessDeniedException\)$"):
        await check.check(fields("text"), "input")


async def test_no_credentials_is_a_provider_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in (
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    check, opener = provider(lambda request: json_reply(NONE))
    with pytest.raises(ProviderError, match="no AWS credentials"):
        await check.check(fields("text"), "input")
    assert opener.sent == []
