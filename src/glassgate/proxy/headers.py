"""Which headers cross the proxy, in each direction, and which stay behind.

Names arrive lower-cased from the ASGI server (request) and as sent by the upstream
(response); every comparison here is on lower-cased names.
"""

from __future__ import annotations

from collections.abc import Iterable

# RFC 9110 §7.6.1 connection-specific fields, plus the proxy-chain fields our own load
# balancer adds: they describe the hop, not the client's request.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_REQUEST_DROPPED = HOP_BY_HOP | {
    b"host",
    b"content-length",
    b"expect",
    b"forwarded",
    b"x-forwarded-for",
    b"x-forwarded-host",
    b"x-forwarded-proto",
    b"x-forwarded-port",
    b"x-real-ip",
}
# The server adds its own framing; the upstream's date and server are relayed instead.
_RESPONSE_DROPPED = HOP_BY_HOP
CLIENT_KEY_HEADERS = frozenset({b"authorization", b"api-key", b"x-api-key"})
CONTEXT_PREFIX = b"x-glassgate-"
# Client headers worth keeping on the span: none of them carries a secret.
RECORDED_REQUEST_HEADERS = frozenset(
    {
        b"user-agent",
        b"traceparent",
        b"tracestate",
        b"x-stainless-retry-count",
        b"openai-organization",
        b"openai-project",
    }
)


def _connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> set[bytes]:
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(token.strip().lower() for token in value.split(b","))
    return tokens


def split_request_headers(
    headers: Iterable[tuple[bytes, bytes]], *, strip_client_keys: bool
) -> tuple[list[tuple[str, str]], dict[str, str], str | None]:
    """Return (headers to forward, context to record, client key presented).

    The client key is the first of `Authorization: Bearer …`, `api-key`, `x-api-key`; it is
    returned so a proxy-held upstream can authenticate it, and removed from the forwarded
    headers only when `strip_client_keys` (the upstream then gets Glassgate's credential).
    """
    headers = list(headers)
    named = _connection_tokens(headers)
    forwarded: list[tuple[str, str]] = []
    context: dict[str, str] = {}
    client_key: str | None = None
    for raw_name, raw_value in headers:
        name = raw_name.lower()
        if name in _REQUEST_DROPPED or name in named:
            continue
        value = raw_value.decode("latin-1")
        if name.startswith(CONTEXT_PREFIX):
            context[name.decode("latin-1")] = value
            continue
        if name in CLIENT_KEY_HEADERS:
            if client_key is None:
                client_key = value[7:].strip() if name == b"authorization" and value[:7].lower() == "bearer " else value
            if strip_client_keys:
                continue
        elif name in RECORDED_REQUEST_HEADERS:
            context[name.decode("latin-1")] = value
        forwarded.append((raw_name.decode("latin-1"), value))
    return forwarded, context, client_key


def relayed_response_headers(raw_headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The upstream's response headers minus hop-by-hop fields, names and values untouched."""
    raw_headers = list(raw_headers)
    named = _connection_tokens(raw_headers)
    return [
        (name, value)
        for name, value in raw_headers
        if name.lower() not in _RESPONSE_DROPPED and name.lower() not in named
    ]
