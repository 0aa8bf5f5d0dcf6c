"""Hostile request shapes: oversized and malformed bodies, wrong content types, header injection, huge heads.

None may cost a 5xx or a healthy server; refusals come in the caller's expected shape (the
vendor's own error on the data plane, problem+json on the API), and no response header ever
carries a CR or LF the client put in its request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from glassgate.api.request_bodies import MAX_BODY_BYTES as API_MAX_BODY_BYTES
from tests.harness import ADMIN_TOKEN
from tests.security.conftest import MAX_BODY_BYTES, Stack, raw_exchange, status_of

ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}
CLIENT = {"authorization": "Bearer sk-client-own-key"}
CHAT = "/openai/v1/chat/completions"
OTLP_MAX_BODY_BYTES = 16 * 1024 * 1024
_HEADER_LINE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[ \t]*[^\r\n]*")


def chunks(total: int, size: int = 1024 * 1024) -> Iterator[bytes]:
    """A body of `total` bytes sent chunked (no Content-Length for the server to check first)."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b"x" * piece


def head_of(answer: bytes) -> list[bytes]:
    return answer.partition(b"\r\n\r\n")[0].split(b"\r\n")


def assert_well_formed_head(answer: bytes) -> None:
    """Every header line is one name and one value: nothing the client sent split it or added one."""
    status, *lines = head_of(answer)
    assert status.startswith(b"HTTP/1.1 "), answer[:200]
    for line in lines:
        assert _HEADER_LINE.fullmatch(line), f"malformed header line {line!r}"
        name = line.split(b":", 1)[0].lower()
        assert name not in (b"injected", b"set-cookie"), f"an injected header came back: {line!r}"


def assert_healthy(stack: Stack) -> None:
    assert httpx.get(f"{stack.glassgate.url}/healthz").status_code == 200


# Data plane


@pytest.mark.parametrize("how", ["content-length", "chunked"])
@pytest.mark.parametrize("upstream", ["openai", "held"])
def test_an_oversized_call_gets_the_vendors_413_and_nothing_goes_upstream(
    stack: Stack, how: str, upstream: str
) -> None:
    headers = {"authorization": f"Bearer {stack.glassgate_key}"} if upstream == "held" else CLIENT
    before = len(stack.upstream.seen)
    too_large = MAX_BODY_BYTES + 1
    body: bytes | Iterator[bytes] = b"x" * too_large if how == "content-length" else chunks(too_large)
    response = httpx.post(f"{stack.glassgate.url}/{upstream}/v1/chat/completions", content=body, headers=headers)
    assert response.status_code == 413
    error = response.json()["error"]  # OpenAI's shape, so the SDK raises its own APIStatusError
    assert error["code"] == "request_too_large" and str(MAX_BODY_BYTES) in error["message"]
    assert stack.upstream.since(before) == []


def test_a_declared_length_over_the_limit_is_refused_before_reading(stack: Stack) -> None:
    request = (
        f"POST {CHAT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-x\r\n"
        f"Content-Length: {50 * MAX_BODY_BYTES}\r\nConnection: close\r\n\r\n"
    )
    answer = raw_exchange(stack.address, request.encode(), timeout_s=5)  # the body never comes
    assert status_of(answer) == 413


def test_a_body_exactly_at_the_limit_goes_through(stack: Stack) -> None:
    before = len(stack.upstream.seen)
    response = httpx.post(f"{stack.glassgate.url}{CHAT}", content=b"x" * MAX_BODY_BYTES, headers=CLIENT)
    assert response.status_code == 200
    [seen] = stack.upstream.since(before)
    assert len(seen.body) == MAX_BODY_BYTES


# Management API and OTLP intake


def test_an_oversized_api_body_is_a_413_problem(stack: Stack) -> None:
    url = f"{stack.glassgate.url}/api/v1/datasets"
    for content_type in ("text/csv", "application/json"):
        headers = {**ADMIN, "content-type": content_type}
        streamed = httpx.post(url, content=chunks(API_MAX_BODY_BYTES + 1), headers=headers)
        assert streamed.status_code == 413 and streamed.headers["content-type"] == "application/problem+json"
    request = (
        "POST /api/v1/datasets HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {API_MAX_BODY_BYTES * 4}\r\nConnection: close\r\n\r\n"
    )
    assert status_of(raw_exchange(stack.address, request.encode(), timeout_s=5)) == 413
    assert_healthy(stack)


def test_an_oversized_otlp_export_is_a_413(stack: Stack) -> None:
    request = (
        "POST /v1/traces HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/x-protobuf\r\n"
        f"Content-Length: {OTLP_MAX_BODY_BYTES + 1}\r\nConnection: close\r\n\r\n"
    )
    assert status_of(raw_exchange(stack.address, request.encode(), timeout_s=5)) == 413
    streamed = httpx.post(
        f"{stack.glassgate.url}/v1/traces",
        content=chunks(OTLP_MAX_BODY_BYTES + 1),
        headers={**ADMIN, "content-type": "application/x-protobuf"},
    )
    assert streamed.status_code == 413


UNSTORABLE_OR_MALFORMED = {
    "truncated": b'{"name": "a',
    "not json": b"name=a",
    "an array, not an object": b'["name"]',
    "nan": b'{"name": "a", "description": NaN}',
    "infinity": b'{"name": "a", "description": Infinity}',
    "a number past a double": b'{"name": "a", "description": 1e400}',
    "an unpaired surrogate": b'{"name": "a\\ud800"}',
    "not utf-8": b'{"name": "\xff\xfe"}',
    "nested past python's recursion limit": b'{"name": "a", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "nested a thousand deep": b'{"name": "a", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    "a nul character in text": b'{"name": "a\\u0000b"}',
}


@pytest.mark.parametrize("name", sorted(UNSTORABLE_OR_MALFORMED))
def test_malformed_or_unstorable_json_is_a_422_never_a_500(stack: Stack, name: str) -> None:
    response = httpx.post(
        f"{stack.glassgate.url}/api/v1/datasets",
        content=UNSTORABLE_OR_MALFORMED[name],
        headers={**ADMIN, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "item",
    [
        b'{"input": 123456789012345678901234567890}',
        b'{"input": {"text": "\\ud800"}}',
        b'{"input": {"n": NaN}}',
        b'{"input": {"text": "a\\u0000b"}}',
    ],
)
def test_dataset_items_that_storage_cannot_encode_are_a_422(stack: Stack, item: bytes) -> None:
    """These reached orjson.dumps in storage/datasets.py and answered 500 (found by the fuzzer)."""
    dataset = httpx.post(f"{stack.glassgate.url}/api/v1/datasets", json={"name": f"d-{hash(item)}"}, headers=ADMIN)
    assert dataset.status_code == 201, dataset.text
    response = httpx.post(
        f"{stack.glassgate.url}/api/v1/datasets/{dataset.json()['dataset_id']}/items",
        content=b'{"items": [' + item + b"]}",
        headers={**ADMIN, "content-type": "application/json"},
    )
    assert response.status_code in (201, 422), response.text[:300]  # NUL in jsonb is stored as U+FFFD
    assert response.status_code == 201 or response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "target",
    [
        "/api/v1/keys?project=%00",
        "/api/v1/experiments?dataset_id=a%00b",
        "/api/v1/spans/%00",
        "/api/v1/sessions?q=%00",
        "/api/v1/stats/guardrails?interval=27368803743391360",
        "/api/v1/stats/timeseries?interval=27368803743391360",
    ],
)
def test_nul_characters_and_huge_numbers_in_paths_and_queries_are_refused_not_500(stack: Stack, target: str) -> None:
    response = httpx.get(f"{stack.glassgate.url}{target}", headers=ADMIN)
    assert response.status_code in (404, 422), response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_wrong_content_type_is_a_422(stack: Stack, content_type: str) -> None:
    response = httpx.post(
        f"{stack.glassgate.url}/api/v1/datasets",
        content=b'{"name": "typed"}',
        headers={**ADMIN, "content-type": content_type},
    )
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-protobuf", b"\xff\xff\xff garbage"),
        ("application/json", b'{"resourceSpans": [{'),
        ("application/json", b"[" * 100_000),
        ("text/plain", b"hello"),
    ],
)
def test_malformed_otlp_exports_are_a_400(stack: Stack, content_type: str, body: bytes) -> None:
    response = httpx.post(
        f"{stack.glassgate.url}/v1/traces", content=body, headers={**ADMIN, "content-type": content_type}
    )
    assert response.status_code == 400, response.text[:300]


def test_a_405_names_every_method_of_the_path(stack: Stack) -> None:
    response = httpx.request("PUT", f"{stack.glassgate.url}/api/v1/datasets", headers=ADMIN)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST", "HEAD"}  # was "GET" alone


# Header injection and huge heads


@pytest.mark.parametrize(
    "header",
    [
        b"X-Glassgate-Session-Id: a\r\n Injected: 1",  # obsolete line folding
        b"X-Glassgate-Session-Id: a\rInjected: 1",
        b"X-Glassgate-Session-Id: a\nInjected: 1",
        b"X-Glassgate-Metadata-Team: a\x00Injected: 1",
        b"X-Glassgate-Tags: a,\x0bb",
    ],
)
def test_control_characters_in_metadata_headers_are_refused(stack: Stack, header: bytes) -> None:
    before = len(stack.upstream.seen)
    request = b"GET /openai/v1/models HTTP/1.1\r\nHost: x\r\n" + header + b"\r\nConnection: close\r\n\r\n"
    answer = raw_exchange(stack.address, request)
    assert status_of(answer) == 400, answer[:300]
    assert stack.upstream.since(before) == []


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /openai/v1/models?x=%0d%0aInjected:%201 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-x\r\n",
        b"GET /openai/v1/models%0d%0aInjected:%201 HTTP/1.1\r\nHost: x\r\n",
        b"GET /nope%0d%0aInjected:%201/v1 HTTP/1.1\r\nHost: x\r\n",
        b"GET /api/v1/spans%0D%0ASet-Cookie:%20x=1/ HTTP/1.1\r\nHost: x\r\n",
        b"GET /api/v1/spans/?next=%0D%0ASet-Cookie:%20x=1 HTTP/1.1\r\nHost: x\r\n",
        b"GET /ui/%0D%0ASet-Cookie:%20x=1 HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n",
        b"GET /assets/%0D%0ASet-Cookie:%20x=1.js HTTP/1.1\r\nHost: x\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nX-Forwarded-Host: x%0d%0aInjected: 1\r\n",
        b"PUT /api/v1/datasets%0D%0AInjected:%201 HTTP/1.1\r\nHost: x\r\n",
        b"GET /openai/v1/models HTTP/1.1\r\nHost: x\r\nX-Glassgate-Session-Id: s%0d%0aInjected: 1\r\n"
        b"X-Glassgate-Metadata-Note: \xe2\x80\xa8Injected\r\n",
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain%0d%0aInjected: 1\r\nContent-Length: 0\r\n",
    ],
)
def test_responses_never_carry_a_header_the_client_smuggled_in(stack: Stack, request_bytes: bytes) -> None:
    answer = raw_exchange(stack.address, request_bytes + b"Connection: close\r\n\r\n")
    assert status_of(answer) is not None and status_of(answer) != 500, answer[:300]
    assert_well_formed_head(answer)


def test_metadata_with_encoded_line_breaks_is_stored_as_sent(stack: Stack) -> None:
    session = "s%0d%0aInjected: 1"
    response = httpx.get(
        f"{stack.glassgate.url}/openai/v1/models", headers={**CLIENT, "x-glassgate-session-id": session}
    )
    assert response.status_code == 200 and "injected" not in response.headers
    span = stack.glassgate.span(response.headers["x-glassgate-span-id"])
    assert span["session_id"] == session


@pytest.mark.parametrize(
    ("what", "request_bytes"),
    [
        ("a 1 MB header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n"),
        ("20,000 headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-H: v\r\n" * 20_000),
        ("a 1 MB URL", b"GET /openai/v1/" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: x\r\n"),
        ("a 1 MB query", b"GET /api/v1/spans?q=" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: x\r\n"),
        ("a 1 MB metadata header", b"GET /openai/v1/models HTTP/1.1\r\nX-Glassgate-Tags: " + b"t," * 500_000 + b"\r\n"),
    ],
)
def test_huge_request_heads_are_refused_and_cost_nothing(stack: Stack, what: str, request_bytes: bytes) -> None:
    before = len(stack.upstream.seen)
    try:
        answer = raw_exchange(stack.address, request_bytes + b"Connection: close\r\n\r\n", timeout_s=10)
    except (BrokenPipeError, ConnectionResetError):
        answer = b""  # refused while still sending: as good as a 431
    assert status_of(answer) in (None, 400, 414, 431), f"{what}: {answer[:200]!r}"
    assert stack.upstream.since(before) == []
    assert_healthy(stack)


def test_long_but_sane_heads_still_work(stack: Stack) -> None:
    before = len(stack.upstream.seen)
    tags = ",".join(f"tag-{number}" for number in range(500))  # ~5 KB
    response = httpx.get(
        f"{stack.glassgate.url}/openai/v1/models?{'a=1&' * 500}z=1", headers={**CLIENT, "x-glassgate-tags": tags}
    )
    assert response.status_code == 200
    [seen] = stack.upstream.since(before)
    assert seen.raw_path.endswith("&z=1")
