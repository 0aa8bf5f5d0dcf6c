"""Unit tests for `glassgate.proxy.headers`: what crosses the proxy in each direction."""

from __future__ import annotations

import pytest

from glassgate.proxy.headers import relayed_response_headers, split_request_headers

Headers = list[tuple[bytes, bytes]]


def forwarded_names(headers: Headers, *, strip: bool = False) -> list[str]:
    forwarded, _, _ = split_request_headers(headers, strip_client_keys=strip)
    return [name for name, _ in forwarded]


@pytest.mark.parametrize(
    "name",
    [
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
        b"expect",
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-forwarded-proto",
        b"x-forwarded-port",
        b"x-real-ip",
    ],
)
def test_request_hop_and_proxy_headers_are_dropped(name: bytes) -> None:
    assert forwarded_names([(name, b"v"), (b"accept", b"*/*")]) == ["accept"]


def test_request_header_names_are_matched_case_insensitively() -> None:
    headers = [(b"Host", b"proxy"), (b"Content-Length", b"3"), (b"Transfer-Encoding", b"chunked"), (b"Accept", b"*/*")]
    assert forwarded_names(headers) == ["Accept"]


def test_headers_named_in_connection_are_dropped() -> None:
    headers = [
        (b"connection", b"keep-alive, X-Hop-One ,x-hop-two"),
        (b"x-hop-one", b"1"),
        (b"X-Hop-Two", b"2"),
        (b"x-end-to-end", b"3"),
    ]
    assert forwarded_names(headers) == ["x-end-to-end"]


def test_forwarded_headers_keep_order_case_and_value() -> None:
    headers = [
        (b"Content-Type", b"application/json"),
        (b"X-Stainless-Lang", b"python"),
        (b"accept", b"text/event-stream"),
    ]
    forwarded, _, _ = split_request_headers(headers, strip_client_keys=False)
    assert forwarded == [
        ("Content-Type", "application/json"),
        ("X-Stainless-Lang", "python"),
        ("accept", "text/event-stream"),
    ]


def test_values_are_decoded_as_latin1() -> None:
    forwarded, _, _ = split_request_headers([(b"x-note", b"caf\xe9")], strip_client_keys=False)
    assert forwarded == [("x-note", "caf\u00e9")]


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ([(b"authorization", b"Bearer sk-abc")], "sk-abc"),
        ([(b"Authorization", b"bearer   sk-abc  ")], "sk-abc"),
        ([(b"authorization", b"BEARER sk-abc")], "sk-abc"),
        ([(b"api-key", b"azure-key")], "azure-key"),
        ([(b"X-Api-Key", b"anthropic-key")], "anthropic-key"),
        ([(b"authorization", b"Basic dXNlcjpwdw==")], "Basic dXNlcjpwdw=="),
        ([(b"authorization", b"Bearer same"), (b"api-key", b"same")], "same"),
        ([(b"accept", b"*/*")], None),
    ],
)
def test_client_key_extraction(headers: Headers, key: str | None) -> None:
    _, _, client_key = split_request_headers(headers, strip_client_keys=False)
    assert client_key == key


def test_first_presented_key_wins() -> None:
    headers = [(b"x-api-key", b"first"), (b"authorization", b"Bearer second")]
    _, _, client_key = split_request_headers(headers, strip_client_keys=False)
    assert client_key == "first"


def test_client_keys_are_forwarded_unless_stripped() -> None:
    headers = [(b"Authorization", b"Bearer sk-abc"), (b"api-key", b"sk-abc"), (b"x-api-key", b"k"), (b"accept", b"*/*")]
    kept, _, key_kept = split_request_headers(headers, strip_client_keys=False)
    stripped, _, key_stripped = split_request_headers(headers, strip_client_keys=True)
    assert kept == [("Authorization", "Bearer sk-abc"), ("api-key", "sk-abc"), ("x-api-key", "k"), ("accept", "*/*")]
    assert stripped == [("accept", "*/*")]
    assert key_kept == key_stripped == "sk-abc"


def test_proxy_authorization_never_counts_as_client_key() -> None:
    forwarded, _, client_key = split_request_headers([(b"proxy-authorization", b"Bearer x")], strip_client_keys=False)
    assert forwarded == []
    assert client_key is None


def test_glassgate_context_headers_are_recorded_not_forwarded() -> None:
    headers = [
        (b"X-Glassgate-Session-Id", b"s-1"),
        (b"x-glassgate-tags", b"a, b"),
        (b"x-glassgate-metadata-team", b"search"),
        (b"accept", b"*/*"),
    ]
    forwarded, context, _ = split_request_headers(headers, strip_client_keys=False)
    assert forwarded == [("accept", "*/*")]
    assert context == {
        "x-glassgate-session-id": "s-1",
        "x-glassgate-tags": "a, b",
        "x-glassgate-metadata-team": "search",
    }


def test_safe_client_headers_are_recorded_and_forwarded() -> None:
    headers = [
        (b"User-Agent", b"OpenAI/Python 1.109.1"),
        (b"traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        (b"x-stainless-retry-count", b"0"),
        (b"OpenAI-Project", b"proj_1"),
        (b"x-stainless-lang", b"python"),
    ]
    forwarded, context, _ = split_request_headers(headers, strip_client_keys=True)
    assert [name for name, _ in forwarded] == [
        "User-Agent",
        "traceparent",
        "x-stainless-retry-count",
        "OpenAI-Project",
        "x-stainless-lang",
    ]
    assert context == {
        "user-agent": "OpenAI/Python 1.109.1",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "x-stainless-retry-count": "0",
        "openai-project": "proj_1",
    }


def test_secrets_are_never_recorded_in_context() -> None:
    headers = [(b"authorization", b"Bearer sk-secret"), (b"api-key", b"sk-secret"), (b"cookie", b"a=b")]
    _, context, _ = split_request_headers(headers, strip_client_keys=False)
    assert context == {}


def test_headers_iterable_is_consumed_once() -> None:
    headers = iter([(b"connection", b"x-hop"), (b"x-hop", b"1"), (b"api-key", b"k"), (b"accept", b"*/*")])
    forwarded, _, key = split_request_headers(headers, strip_client_keys=True)
    assert forwarded == [("accept", "*/*")]
    assert key == "k"


def test_response_hop_by_hop_headers_are_dropped_and_rest_untouched() -> None:
    headers = [
        (b"Content-Type", b"text/event-stream; charset=utf-8"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Connection", b"keep-alive, X-Internal"),
        (b"Keep-Alive", b"timeout=5"),
        (b"x-internal", b"1"),
        (b"Content-Length", b"42"),
        (b"x-request-id", b"req_1"),
        (b"Date", b"Wed, 01 Jan 2025 00:00:00 GMT"),
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
    ]
    assert relayed_response_headers(headers) == [
        (b"Content-Type", b"text/event-stream; charset=utf-8"),
        (b"Content-Length", b"42"),
        (b"x-request-id", b"req_1"),
        (b"Date", b"Wed, 01 Jan 2025 00:00:00 GMT"),
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
    ]


def test_response_keeps_request_only_drops() -> None:
    headers = [(b"x-forwarded-for", b"1.2.3.4"), (b"host", b"h"), (b"upgrade", b"h2c")]
    assert relayed_response_headers(headers) == [(b"x-forwarded-for", b"1.2.3.4"), (b"host", b"h")]
