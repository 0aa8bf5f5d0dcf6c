"""Rate limits and budgets through real `glassgate serve` replicas, seen by the official SDKs.

Retries are off in every client, so the 429 the SDK would otherwise retry after `retry-after`
surfaces as its usual exception.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import anthropic
import boto3
import botocore.config
import botocore.exceptions
import httpx
import openai
import pytest
import redis

from tests.harness import GlassgateProcess
from tests.integration.limits.conftest import BEDROCK_REGION, USD_PER_DAY, Replicas

MESSAGES: list[Any] = [{"role": "user", "content": "Hi"}]
T = TypeVar("T")


def openai_client(replica: GlassgateProcess, upstream: str, key: str = "sk-client") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{replica.url}/{upstream}/v1", api_key=key, max_retries=0)


def chat(replica: GlassgateProcess, upstream: str, key: str = "sk-client", **options: Any) -> Any:
    options = {"model": "gpt-4o-mini", "messages": MESSAGES, **options}
    with openai_client(replica, upstream, key) as client:
        return client.chat.completions.create(**options)


def counter(stack: Replicas, pattern: str) -> int:
    """The sum of the limit counters whose Redis keys match."""
    client = redis.Redis.from_url(stack.redis.url)
    try:
        keys = list(client.scan_iter(f"glassgate:limits:{pattern}"))
        return sum(int(value) for value in client.mget(keys) if value is not None) if keys else 0
    finally:
        client.close()


def eventually(check: Callable[[], T], timeout_s: float = 10.0) -> T:
    """The first truthy result of `check`, retried until the deadline (spans settle after their call)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def metrics(replica: GlassgateProcess) -> str:
    return httpx.get(f"{replica.url}/metrics", timeout=10).text


def metric(replica: GlassgateProcess, sample: str) -> float:
    found = re.search(rf"^{re.escape(sample)} (\S+)$", metrics(replica), re.MULTILINE)
    assert found is not None, f"{sample} not in /metrics"
    return float(found.group(1))


def test_requests_per_minute_refused_with_openais_429(stack: Replicas) -> None:
    for _ in range(2):
        chat(stack.a, "openai-rpm")
    with pytest.raises(openai.RateLimitError) as raised:
        chat(stack.a, "openai-rpm")
    response = raised.value.response
    assert response.status_code == 429
    assert raised.value.code == "rate_limit_exceeded"
    assert "Glassgate limit 'rpm'" in raised.value.message
    headers = response.headers
    assert headers["x-ratelimit-limit-requests"] == "2"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    # 2 per sliding minute: the third fits once half of this minute's count has slid out,
    # 30 to 90 s from now depending on where in the minute the calls fell.
    wait = int(headers["retry-after"])
    assert 30 <= wait <= 90
    assert wait - 1 <= int(headers["retry-after-ms"]) / 1000 <= wait
    assert headers["x-ratelimit-reset-requests"].endswith("s")
    # An SDK with retries on waits retry-after and tries again, if that is within a minute.
    assert headers["x-should-retry"] == ("true" if wait <= 60 else "false")
    assert len([r for r in stack.vendor.received if r.raw_path.endswith("/chat/completions")]) >= 2
    span = stack.a.span(headers["x-glassgate-span-id"])
    assert span["status"] == "blocked"
    assert span["http_status"] == 429
    assert "'rpm'" in span["error"]
    assert span["attributes"]["error.type"] == "rate_limit_exceeded"
    assert span["attributes"]["response.retry-after"] == headers["retry-after"]
    assert 'glassgate_limit_refusals_total{limit="requests",rule="rpm"} 1.0' in metrics(stack.a)


def test_a_refused_call_never_reaches_the_vendor(stack: Replicas) -> None:
    chat(stack.a, "openai-rpm")
    chat(stack.a, "openai-rpm")
    before = len(stack.vendor.received)
    with pytest.raises(openai.RateLimitError):
        chat(stack.a, "openai-rpm", model="gpt-4o")
    assert len(stack.vendor.received) == before


def test_tokens_per_minute_and_settling_frees_the_unused_reservation(stack: Replicas) -> None:
    # A 2 s stream reserves its prompt estimate + 600 tokens of the minute's 1000 while it runs.
    with openai_client(stack.a, "openai-tpm") as client:
        stream = client.chat.completions.create(model="slow-stream", messages=MESSAGES, max_tokens=600, stream=True)
        chunks = iter(stream)
        next(chunks)  # the call is under way: its reservation is taken
        reserved = counter(stack, "tpm:*:t:*")
        assert 600 < reserved < 700
        with pytest.raises(openai.RateLimitError) as raised:
            chat(stack.a, "openai-tpm", max_tokens=600)
        headers = raised.value.response.headers
        assert headers["x-ratelimit-limit-tokens"] == "1000"
        assert int(headers["x-ratelimit-remaining-tokens"]) == 1000 - reserved
        assert "x-ratelimit-limit-requests" not in headers
        assert "1000 tokens per minute reached" in raised.value.message
        for _ in chunks:
            pass
    span_id = stream.response.headers["x-glassgate-span-id"]
    span = stack.a.span(span_id)
    used = span["input_tokens"] + span["output_tokens"]
    assert used < 100
    # The span settled the reservation to the tokens really used: the room is back.
    assert eventually(lambda: counter(stack, "tpm:*:t:*") == used)
    answer = chat(stack.a, "openai-tpm", max_tokens=600)
    assert answer.choices[0].message.content


def test_usd_per_day_budget(stack: Replicas) -> None:
    with openai_client(stack.a, "openai-usd") as client:
        first = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=10)
    span = stack.a.span(first.headers["x-glassgate-span-id"])
    cost = span["cost_usd"]
    assert 0 < cost < USD_PER_DAY
    # Settled to the real cost (in nano-dollars), not the worst case reserved for it.
    assert eventually(lambda: counter(stack, "usd:*:u:*") == round(cost * 1e9))
    with pytest.raises(openai.RateLimitError) as raised:
        chat(stack.a, "openai-usd", max_tokens=10)
    assert raised.value.code == "insufficient_quota"
    assert "resets at 00:00 UTC" in raised.value.message
    headers = raised.value.response.headers
    assert headers["x-should-retry"] == "false"  # hours away: the SDK must not wait for it
    seconds_to_midnight = 86_400 - time.time() % 86_400
    assert abs(int(headers["retry-after"]) - seconds_to_midnight) < 60
    assert not any(name.startswith("x-ratelimit-") for name in headers)
    # A call whose worst case alone is over the budget is refused before anything is spent.
    with pytest.raises(openai.RateLimitError, match="on its own"):
        chat(stack.b, "openai-usd", max_tokens=100_000)


def test_per_key_counters_within_a_project(stack: Replicas) -> None:
    first, second, other_project = stack.create_key("team-a"), stack.create_key("team-a"), stack.create_key("team-x")
    chat(stack.a, "openai-held", first["key"])
    with pytest.raises(openai.RateLimitError) as raised:
        chat(stack.b, "openai-held", first["key"])  # the other replica: the same counter
    assert f"key {first['key_id']!r}" in raised.value.message
    chat(stack.a, "openai-held", second["key"])
    for _ in range(2):
        chat(stack.a, "openai-held", other_project["key"])  # the rule covers team-a only


def test_anthropic_gets_its_own_429(stack: Replicas) -> None:
    with anthropic.Anthropic(base_url=f"{stack.a.url}/anthropic", api_key="sk-ant-client", max_retries=0) as client:
        client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=MESSAGES)
        with pytest.raises(anthropic.RateLimitError) as raised:
            client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=MESSAGES)
    assert raised.value.status_code == 429
    body = raised.value.body
    assert isinstance(body, dict)
    assert body["error"]["type"] == "rate_limit_error"
    assert "Glassgate limit 'vendors' (upstream 'anthropic')" in body["error"]["message"]
    headers = raised.value.response.headers
    assert headers["anthropic-ratelimit-requests-limit"] == "1"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    # 1 per sliding minute: the next fits when this minute's call has slid out, by the end of the next.
    assert 60 <= int(headers["retry-after"]) <= 120


@pytest.fixture
def bedrock(stack: Replicas, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    client = boto3.session.Session().client(
        "bedrock-runtime",
        endpoint_url=f"{stack.a.url}/bedrock",
        region_name=BEDROCK_REGION,
        aws_access_key_id=stack.aws_key["access_key_id"],
        aws_secret_access_key=stack.aws_key["secret_access_key"],
        config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    yield client
    client.close()


def test_bedrock_gets_a_throttling_exception(stack: Replicas, bedrock: Any) -> None:
    model = "anthropic.claude-3-5-sonnet-20241022-v2:0"
    messages = [{"role": "user", "content": [{"text": "Hi"}]}]
    bedrock.converse(modelId=model, messages=messages, inferenceConfig={"maxTokens": 64})
    with pytest.raises(bedrock.exceptions.ThrottlingException) as raised:
        bedrock.converse(modelId=model, messages=messages, inferenceConfig={"maxTokens": 64})
    error = raised.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert "Glassgate limit 'vendors' (upstream 'bedrock')" in error["Error"]["Message"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert 60 <= int(error["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) <= 120
    assert isinstance(raised.value, botocore.exceptions.ClientError)


def test_two_replicas_share_one_counter(stack: Replicas) -> None:
    for replica in (stack.a, stack.b, stack.a):
        chat(replica, "openai-shared")
    for replica in (stack.b, stack.a):
        with pytest.raises(openai.RateLimitError):
            chat(replica, "openai-shared")
    assert counter(stack, "shared:*:r:*") == 3


def test_concurrent_calls_on_both_replicas_admit_exactly_the_limit(stack: Replicas) -> None:
    outcomes: list[str] = []
    lock = threading.Lock()

    def call(replica: GlassgateProcess) -> None:
        try:
            chat(replica, "openai-shared")
            outcome = "ok"
        except openai.RateLimitError:
            outcome = "limited"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=call, args=(stack.a if n % 2 else stack.b,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["limited"] * 9 + ["ok"] * 3


def test_redis_down_open_forwards_and_closed_answers_503(stack: Replicas) -> None:
    chat(stack.a, "openai-outage")
    stack.redis.stop()
    try:
        for _ in range(4):
            assert chat(stack.a, "openai-outage").choices  # open: forwarded unchecked
        with pytest.raises(openai.InternalServerError) as raised:
            chat(stack.b, "openai-outage")  # closed: refused
        assert raised.value.status_code == 503
        assert "Redis unreachable" in raised.value.message
        assert raised.value.response.headers["retry-after"] == "1"
        span = stack.b.span(raised.value.response.headers["x-glassgate-span-id"])
        assert (span["status"], span["attributes"]["error.type"]) == ("error", "limits_unavailable")
    finally:
        stack.redis.start()
    # Once Redis is back (the replicas leave it alone for a second after a failure), checks resume.
    assert eventually(lambda: _succeeds(lambda: chat(stack.b, "openai-outage")))
    assert eventually(lambda: _succeeds(lambda: chat(stack.a, "openai-outage")))
    assert counter(stack, "outage:*:r:*") >= 2
    scraped = metrics(stack.a)
    assert 'glassgate_limit_checks_total{result="unchecked"} 4.0' in scraped
    assert "glassgate_limit_redis_errors_total 1.0" in scraped
    log = stack.a.log()
    assert log.count("Redis unreachable") == 1  # once per outage, not per call
    assert "Redis answers again" in log
    # B refused the first call and those tried while it left Redis alone for a second after the failure.
    assert metric(stack.b, 'glassgate_limit_checks_total{result="unavailable"}') >= 1


def _succeeds(call: Callable[[], object]) -> bool:
    try:
        call()
    except openai.InternalServerError:
        return False
    return True
