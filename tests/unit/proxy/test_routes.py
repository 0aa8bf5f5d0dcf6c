"""Unit tests for `glassgate.proxy.routes`: splitting `/{upstream}/{rest}` and refusing escapes."""

from __future__ import annotations

import pytest

from glassgate.proxy.routes import PathRejected, Route, check_rest, split_route


@pytest.mark.parametrize(
    ("raw", "upstream", "rest"),
    [
        (b"/openai/v1/chat/completions", "openai", b"/v1/chat/completions"),
        (b"/openai", "openai", b""),
        (b"/openai/", "openai", b"/"),
        (b"/azure/openai/deployments/my-gpt/chat/completions", "azure", b"/openai/deployments/my-gpt/chat/completions"),
        (b"/my_up-2/x//y", "my_up-2", b"/x//y"),
    ],
)
def test_split_route(raw: bytes, upstream: str, rest: bytes) -> None:
    assert split_route(raw) == Route(upstream=upstream, rest=rest)


def test_rest_keeps_percent_encoding_exactly() -> None:
    raw = b"/bedrock/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"
    route = split_route(raw)
    assert route is not None
    assert route.rest == b"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"


def test_rest_keeps_encoded_slash_that_is_not_a_dot_segment() -> None:
    route = split_route(b"/bedrock/model/arn%3Aaws%2Fmy-profile/invoke")
    assert route is not None
    assert route.rest == b"/model/arn%3Aaws%2Fmy-profile/invoke"


def test_upstream_name_is_decoded_as_latin1() -> None:
    route = split_route(b"/caf\xe9/x")
    assert route is not None
    assert route.upstream == "caf\u00e9"


@pytest.mark.parametrize("raw", [b"/", b"//openai/v1"])
def test_no_first_segment_means_no_route(raw: bytes) -> None:
    assert split_route(raw) is None


@pytest.mark.parametrize("raw", [b"", b"openai/v1", b"*", b"http://evil.example/v1", b"\\openai/v1"])
def test_non_absolute_targets_are_rejected(raw: bytes) -> None:
    with pytest.raises(PathRejected, match="absolute path"):
        split_route(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"/openai/../admin",
        b"/openai/v1/..",
        b"/openai/v1/../../etc/passwd",
        b"/openai/./v1",
        b"/openai/v1/.",
        b"/openai/%2e%2e/admin",
        b"/openai/%2E%2E/admin",
        b"/openai/%2e./admin",
        b"/openai/.%2E/admin",
        b"/openai/%2e/admin",
        b"/openai/v1%2f..%2fadmin",
        b"/openai/v1%2F%2e%2e%2Fadmin",
        b"/openai/v1/..%5cadmin",
        b"/openai/v1\\..\\admin",
    ],
)
def test_dot_segments_are_rejected(raw: bytes) -> None:
    with pytest.raises(PathRejected, match=r"'\.' or '\.\.' segments"):
        split_route(raw)


@pytest.mark.parametrize(
    "rest",
    [
        b"/v1/...",
        b"/v1/.well-known/x",
        b"/v1/files/a.json",
        b"/v1/a..b",
        b"/v1/%2e%2e%2e",
        b"/v1.2/models",
        b"/v1/x%2Fy",
    ],
)
def test_dots_inside_segments_are_allowed(rest: bytes) -> None:
    check_rest(rest)
    assert split_route(b"/up" + rest) == Route(upstream="up", rest=rest)


@pytest.mark.parametrize("byte", [b" ", b"\t", b"\x00", b"\r", b"\n", b"\x1b", b"\x7f"])
def test_spaces_and_control_characters_are_rejected(byte: bytes) -> None:
    with pytest.raises(PathRejected, match="spaces or control characters"):
        split_route(b"/openai/v1/chat" + byte + b"completions")


def test_empty_rest_passes_the_check() -> None:
    check_rest(b"")
    check_rest(b"/")


def test_path_rejected_is_a_value_error() -> None:
    assert issubclass(PathRejected, ValueError)


@pytest.mark.parametrize("rest", [b"/v1/..;/admin", b"/v1/.;x/models", b"/v1/%2e%2e;jsessionid=1/x"])
def test_dot_segments_with_path_parameters_are_refused(rest: bytes) -> None:
    with pytest.raises(PathRejected):
        check_rest(rest)


def test_non_ascii_bytes_are_refused() -> None:
    with pytest.raises(PathRejected, match="percent-encoded ASCII"):
        check_rest("/v1/models/é".encode())
