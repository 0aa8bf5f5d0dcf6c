"""Transport-level guarantees, checked with a plain HTTP client: exact bytes, chunk timing,
path encoding, header hygiene, and the refusals a proxy must make."""

from __future__ import annotations

import itertools
import json
import socket
import time

import httpx
import pytest

from tests.conformance.conftest import CLIENT_VENDOR_KEY, Stack
from tests.fakes import openai_fixtures as fx

AUTH = {"authorization": f"Bearer {CLIENT_VENDOR_KEY}"}
CHAT = "/openai/v1/chat/completions"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (CHAT, {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}),
        (CHAT, {"model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True}, "messages": []}),
        ("/openai/v1/responses", {"model": "gpt-4.1-mini", "stream": True, "input": "Hi"}),
        (
            "/azure/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21",
            {"stream": True, "messages": []},
        ),
    ],
)
def test_streams_are_relayed_byte_for_byte_and_chunk_by_chunk(stack: Stack, path: str, body: dict[str, object]) -> None:
    received: list[bytes] = []
    with httpx.stream("POST", stack.glassgate.url + path, json=body, headers=AUTH, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        received = list(response.iter_raw())
    assert b"".join(received) == b"".join(stack.vendor.last().sent)


def test_chunks_arrive_as_the_upstream_sends_them(stack: Stack) -> None:
    body = {"model": "slow-stream", "stream": True, "messages": []}
    arrivals: list[float] = []
    with httpx.stream("POST", stack.glassgate.url + CHAT, json=body, headers=AUTH, timeout=10) as response:
        for _ in response.iter_raw():
            arrivals.append(time.monotonic())
    gaps = sorted(later - earlier for earlier, later in itertools.pairwise(arrivals))
    assert len(arrivals) >= 40, "each 50 ms event must arrive on its own, not buffered together"
    assert gaps[len(gaps) // 2] > 0.03


def test_percent_encoding_and_query_are_kept(stack: Stack) -> None:
    path = "/openai/v1/models/ft%3Agpt-4o%3Aorg%2Fname?x=%2F&y=a+b"
    response = httpx.get(stack.glassgate.url + path, headers=AUTH)
    assert response.status_code == 200
    assert stack.vendor.last().raw_path == "/v1/models/ft%3Agpt-4o%3Aorg%2Fname?x=%2F&y=a+b"


def test_hop_by_hop_and_glassgate_headers_stay_behind(stack: Stack) -> None:
    headers = {
        **AUTH,
        "connection": "keep-alive, x-hop-secret",
        "x-hop-secret": "1",
        "te": "trailers",
        "x-glassgate-session-id": "sess-42",
        "x-glassgate-user-id": "alice",
        "x-glassgate-tags": "beta, eu",
        "x-glassgate-metadata-feature": "search",
        "x-custom": "kept",
    }
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
    response = httpx.post(stack.glassgate.url + CHAT, json=body, headers=headers)
    assert response.status_code == 200
    received = stack.vendor.last()
    names = {name.lower() for name, _ in received.headers}
    assert "x-hop-secret" not in names and "te" not in names
    assert not any(name.startswith("x-glassgate-") for name in names)
    assert received.header("x-custom") == "kept"
    span = stack.glassgate.span(response.headers["x-glassgate-span-id"])
    assert (span["session_id"], span["user_id"], span["tags"]) == ("sess-42", "alice", ["beta", "eu"])
    assert span["attributes"]["metadata"] == {"feature": "search"}


def test_no_header_is_invented_for_the_vendor(stack: Stack) -> None:
    raw = b'{"model":"gpt-4o-mini","messages":[]}'
    response = httpx.post(stack.glassgate.url + CHAT, content=raw, headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == 200
    names = sorted(name.lower() for name, _ in stack.vendor.last().headers)
    assert set(names) <= {
        "host",
        "content-length",
        "authorization",
        "content-type",
        "accept",
        "accept-encoding",
        "user-agent",
    }
    with httpx.Client() as client:
        assert stack.vendor.last().header("user-agent") == client.headers["user-agent"]


def test_compressed_response_is_relayed_compressed_and_recorded_decoded(stack: Stack) -> None:
    response = httpx.post(
        stack.glassgate.url + "/openai/v1/gzip", content=b"{}", headers={**AUTH, "accept-encoding": "gzip"}
    )
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["choices"][0]["message"]["content"] == fx.TEXT  # httpx decodes it
    span = stack.glassgate.span(response.headers["x-glassgate-span-id"])
    assert span["response_body"]["choices"][0]["message"]["content"] == fx.TEXT


def test_non_json_body_is_forwarded_and_recorded(stack: Stack) -> None:
    response = httpx.post(
        stack.glassgate.url + CHAT, content=b"not json {", headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 400, "the vendor answers, not the proxy"
    assert stack.vendor.last().body == b"not json {"
    span = stack.glassgate.span(response.headers["x-glassgate-span-id"])
    assert span["request_body"] == "not json {" and span["status"] == "error"


def test_unknown_upstream_names_the_configured_ones(stack: Stack) -> None:
    response = httpx.post(stack.glassgate.url + "/nope/v1/chat/completions", json={})
    assert response.status_code == 404
    message = response.json()["error"]["message"]
    assert "'nope'" in message
    named = message.split("configured upstreams: ", 1)[1].split(", ")
    assert named == sorted(named) and {"openai", "azure-sp", "bedrock-guarded", "dead"} <= set(named)


def test_oversized_body_gets_413_and_nothing_goes_upstream(stack: Stack) -> None:
    before = len(stack.vendor.received)
    response = httpx.post(stack.glassgate.url + CHAT, content=b"x" * (1024 * 1024 + 1), headers=AUTH)
    assert response.status_code == 413
    assert "exceeds" in response.json()["error"]["message"]
    assert len(stack.vendor.received) == before


@pytest.mark.parametrize(
    "target",
    [
        "/openai/../azure/x",
        "/openai/v1/%2e%2e/%2E%2E/secret",
        "/openai/v1/..%2f..%2fadmin",
        "/openai/./v1/models",
    ],
)
def raw_request(stack: Stack, request: bytes) -> int:
    """Send bytes as they are (HTTP clients normalise paths) and return the status code."""
    host, port = stack.glassgate.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        answer = sock.recv(65536)
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "target",
    [
        b"/openai/../azure/x",
        b"/openai/v1/%2e%2e/%2E%2E/secret",
        b"/openai/v1/..%2f..%2fadmin",
        b"/openai/./v1/models",
        b"/openai/v1/models/\\..\\x",
    ],
)
def test_dot_segments_are_refused(stack: Stack, target: bytes) -> None:
    before = len(stack.vendor.received)
    assert raw_request(stack, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n") == 400
    assert len(stack.vendor.received) == before


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n",
        b"GET /openai@169.254.169.254/x HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    ],
)
def test_absolute_targets_and_userinfo_cannot_choose_the_host(stack: Stack, request_bytes: bytes) -> None:
    before = len(stack.vendor.received)
    assert raw_request(stack, request_bytes) in (400, 404)
    assert len(stack.vendor.received) == before


def test_host_header_is_not_forwarded(stack: Stack) -> None:
    response = httpx.get(stack.glassgate.url + "/openai/v1/models", headers={**AUTH, "host": "169.254.169.254"})
    assert response.status_code == 200
    assert stack.vendor.last().header("host") == stack.vendor_host


def test_api_requires_the_admin_token(stack: Stack) -> None:
    assert httpx.get(stack.glassgate.url + "/api/v1/spans").status_code == 401
    wrong = httpx.get(stack.glassgate.url + "/api/v1/spans", headers={"authorization": "Bearer wrong"})
    assert wrong.status_code == 401 and wrong.headers["content-type"] == "application/problem+json"


def test_span_list_pages_and_filters(stack: Stack) -> None:
    for _ in range(3):
        httpx.post(stack.glassgate.url + CHAT, json={"model": "page-test", "messages": []}, headers=AUTH)
    deadline = time.monotonic() + 10
    while True:
        first = stack.glassgate.api("/spans", model="page-test", limit=2).json()
        if len(first["data"]) == 2 and first["next_cursor"]:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    second = stack.glassgate.api("/spans", model="page-test", limit=2, cursor=first["next_cursor"]).json()
    ids = [span["span_id"] for span in first["data"] + second["data"]]
    assert len(ids) == len(set(ids)) == 3 and second["next_cursor"] is None
    starts = [span["started_at"] for span in first["data"] + second["data"]]
    assert starts == sorted(starts, reverse=True)
    assert "request_body" not in first["data"][0]
    bad = stack.glassgate.api("/spans", cursor="garbage!")
    assert bad.status_code == 400 and bad.json()["title"] == "Invalid cursor"
    too_many = stack.glassgate.api("/spans", limit=201)
    assert too_many.status_code == 422 and "limit" in too_many.json()["detail"]
    errors = stack.glassgate.api("/spans", status="error", upstream="openai").json()["data"]
    assert errors and all(span["status"] == "error" and span["upstream"] == "openai" for span in errors)
    assert json.loads(json.dumps(first))  # plain JSON, no surprises


def test_metrics_count_calls_and_never_show_keys(stack: Stack) -> None:
    httpx.post(stack.glassgate.url + CHAT, json={"model": "gpt-4o-mini", "messages": []}, headers=AUTH)
    deadline = time.monotonic() + 10
    while True:
        text = httpx.get(stack.glassgate.url + "/metrics").text
        if 'glassgate_calls_total{model="gpt-4o-mini-2024-07-18",status="ok",upstream="openai"}' in text:
            break
        assert time.monotonic() < deadline, text[:2000]
        time.sleep(0.05)
    assert "glassgate_trace_written" in text and "glassgate_trace_dropped 0.0" in text
    assert 'glassgate_tokens_total{kind="input",model="gpt-4o-mini-2024-07-18",upstream="openai"}' in text
    assert CLIENT_VENDOR_KEY not in text and stack.glassgate_key not in text
