"""Unit tests for `glassgate.proxy.stream_usage`: asking streams for usage, and hiding it from the client."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

import pytest

from glassgate.proxy.stream_usage import UsageStripper, strip_usage, with_stream_usage
from tests.fakes import openai_fixtures as fx

CHAT = b"/v1/chat/completions"
HEADERS = [("content-type", "application/json"), ("accept-encoding", "gzip, deflate"), ("authorization", "Bearer k")]
REQUEST = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "stream": True}


# --- the request ------------------------------------------------------------------------------


def test_include_usage_is_appended_and_every_other_byte_kept() -> None:
    body = b'{"model": "gpt-4o-mini",\n "stream": true, "messages": [{"role": "user", "content": "\\u00e9"}]}\n'
    injected = with_stream_usage("POST", CHAT, body, HEADERS)
    assert injected is not None
    new_body, headers = injected
    assert new_body == body[:-2] + b',"stream_options":{"include_usage":true}}\n'
    assert json.loads(new_body) == {**json.loads(body), "stream_options": {"include_usage": True}}
    assert headers == [HEADERS[0], HEADERS[2], ("accept-encoding", "identity")], "the stream must come uncompressed"


def test_other_stream_options_are_kept() -> None:
    body = json.dumps({**REQUEST, "stream_options": {"include_obfuscation": False}}).encode()
    injected = with_stream_usage("POST", CHAT, body, HEADERS)
    assert injected is not None
    assert json.loads(injected[0])["stream_options"] == {"include_obfuscation": False, "include_usage": True}


def test_an_explicit_false_is_turned_on() -> None:
    body = json.dumps({**REQUEST, "stream_options": {"include_usage": False}}).encode()
    injected = with_stream_usage("POST", CHAT, body, [])
    assert injected is not None and json.loads(injected[0])["stream_options"] == {"include_usage": True}


def test_legacy_completions_and_azure_paths() -> None:
    body = json.dumps({"model": "gpt-3.5-turbo-instruct", "prompt": "x", "stream": True}).encode()
    assert with_stream_usage("POST", b"/v1/completions", body, []) is not None
    azure = b"/openai/deployments/my-gpt4o/chat/completions"
    assert with_stream_usage("POST", azure, json.dumps(REQUEST).encode(), []) is not None


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("POST", CHAT, {**REQUEST, "stream_options": {"include_usage": True}}, []),  # the client asked already
        ("POST", CHAT, {**REQUEST, "stream": False}, []),
        ("POST", CHAT, {k: v for k, v in REQUEST.items() if k != "stream"}, []),
        ("POST", CHAT, {**REQUEST, "stream": "true"}, []),  # invalid: the vendor answers it as it would
        ("POST", CHAT, {**REQUEST, "stream_options": None}, []),
        ("POST", CHAT, {**REQUEST, "stream_options": "x"}, []),
        ("POST", b"/v1/responses", REQUEST, []),
        ("POST", b"/v1/embeddings", REQUEST, []),
        ("GET", CHAT, REQUEST, []),
        ("POST", CHAT, REQUEST, [("Content-Encoding", "gzip")]),
        ("POST", CHAT, b'{"stream": true', []),
        ("POST", CHAT, b'["stream"]', []),
    ],
)
def test_requests_left_alone(method: str, path: bytes, body: Any, headers: list[tuple[str, str]]) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    assert with_stream_usage(method, path, raw, headers) is None


# --- the response -----------------------------------------------------------------------------


def relay(stripper: UsageStripper, chunks: Sequence[bytes]) -> bytes:
    return b"".join(stripper.feed(chunk) for chunk in chunks) + stripper.flush()


def pairs() -> list[tuple[str, bytes, bytes]]:
    """(name, the stream with include_usage, the same stream without it) from the fake vendor."""
    cases = []
    for name, request, azure in [
        ("chat", REQUEST, False),
        ("azure chat", REQUEST, True),
        ("tools", {**REQUEST, "tools": [{"type": "function"}]}, False),
        ("two choices", {**REQUEST, "n": 2}, True),
    ]:
        with_usage = fx.chat_stream({**request, "stream_options": {"include_usage": True}}, azure=azure)
        cases.append((name, b"".join(with_usage), b"".join(fx.chat_stream(request, azure=azure))))
    with_usage = fx.completion_stream({"stream_options": {"include_usage": True}})
    cases.append(("completions", b"".join(with_usage), b"".join(fx.completion_stream({}))))
    return cases


PAIRS = pairs()


@pytest.mark.parametrize(("name", "upstream", "expected"), PAIRS, ids=[case[0] for case in PAIRS])
def test_the_client_gets_the_stream_it_asked_for_at_every_split(name: str, upstream: bytes, expected: bytes) -> None:
    assert b'"usage"' in upstream and b'"usage"' not in expected
    assert relay(UsageStripper(), [upstream]) == expected
    for cut in range(len(upstream) + 1):
        assert relay(UsageStripper(), [upstream[:cut], upstream[cut:]]) == expected, f"cut at {cut}"
    assert relay(UsageStripper(), [upstream[index : index + 1] for index in range(len(upstream))]) == expected


@pytest.mark.parametrize(("name", "upstream", "expected"), PAIRS, ids=[case[0] for case in PAIRS])
def test_random_chunkings(name: str, upstream: bytes, expected: bytes) -> None:
    rng = random.Random(name)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(upstream)), rng.randint(1, 12)))
        chunks = [upstream[start:end] for start, end in zip([0, *cuts], [*cuts, len(upstream)], strict=True)]
        assert relay(UsageStripper(), chunks) == expected, cuts


@pytest.mark.parametrize(("name", "upstream", "expected"), PAIRS[:2], ids=[case[0] for case in PAIRS[:2]])
def test_crlf_streams(name: str, upstream: bytes, expected: bytes) -> None:
    upstream, expected = upstream.replace(b"\n", b"\r\n"), expected.replace(b"\n", b"\r\n")
    for cut in range(len(upstream) + 1):
        assert relay(UsageStripper(), [upstream[:cut], upstream[cut:]]) == expected, f"cut at {cut}"


def test_complete_events_are_relayed_at_once_and_a_partial_one_waits() -> None:
    first, second = fx.sse({"id": "a", "choices": []}), fx.sse({"id": "b", "choices": [], "usage": None})
    stripper = UsageStripper()
    assert stripper.feed(first + second[:10]) == first
    assert stripper.feed(second[10:]) == fx.sse({"id": "b", "choices": []})
    assert stripper.feed(b"data: [DONE]\n\n") == b"data: [DONE]\n\n"
    assert stripper.flush() == b""


def test_an_unterminated_last_event_is_flushed() -> None:
    stripper = UsageStripper()
    assert stripper.feed(b'data: {"id":"a","usage":null}') == b""
    assert stripper.flush() == b'data: {"id":"a"}'


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (b'data: {"id":"a","choices":[],"usage":null}\n\n', b'data: {"id":"a","choices":[]}\n\n'),
        (b'data: {"usage":null,"id":"a"}\n\n', b'data: {"id":"a"}\n\n'),
        (b'data: {"id": "a", "usage": null, "x": 1}\n\n', b'data: {"id": "a", "x": 1}\n\n'),
        (b'data: {"usage":null}\n\n', b"data: {}\n\n"),
        (b'data:{"id":"a","usage":null}\r\n\r\n', b'data:{"id":"a"}\r\n\r\n'),
        # A usage value inside text is text: only the top-level member goes.
        (
            b'data: {"choices":[{"delta":{"content":"\\"usage\\":null"}}],"usage":null}\n\n',
            b'data: {"choices":[{"delta":{"content":"\\"usage\\":null"}}]}\n\n',
        ),
        (
            b'data: {"choices":[{"delta":{"usage":null}}],"usage":null}\n\n',
            b'data: {"choices":[{"delta":{"usage":null}}]}\n\n',
        ),
        # Usage on a chunk that also carries content (some OpenAI-compatible servers): removed, chunk kept.
        (
            b'data: {"choices":[{"delta":{"content":"x"}}],"usage":{"prompt_tokens":1,"s":"}],"}}\n\n',
            b'data: {"choices":[{"delta":{"content":"x"}}]}\n\n',
        ),
        (b'data: {"id":"a","choices":[],"usage":{"prompt_tokens":1}}\n\n', b""),
        (b'data: {"choices":[],"usage":{"prompt_tokens":1},"obfuscation":"Zx"}\n\n', b""),
        (b"event: x\ndata: " + fx.dumps({"choices": [], "usage": {"p": 1}}) + b"\n\n", b""),
    ],
)
def test_strip_usage(event: bytes, expected: bytes) -> None:
    assert strip_usage(event) == expected


@pytest.mark.parametrize(
    "event",
    [
        b'data: {"id":"a","content":"usage"}\n\n',  # no usage member
        b'data: {"choices":[{"delta":{"usage":null}}]}\n\n',  # only a nested one
        b'data: {"usage":null\n\n',  # not JSON
        b'data: ["usage"]\n\n',
        b'data: {"usage":null}\ndata: {"usage":null}\n\n',  # two data lines: not OpenAI's shape
        b": usage comment\n\n",
    ],
)
def test_strip_usage_leaves_other_events_alone(event: bytes) -> None:
    assert strip_usage(event) == event
