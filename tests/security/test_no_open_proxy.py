"""No open proxy, no SSRF: whatever a request says, Glassgate connects to the configured upstream only.

Every attack names the sentinel's address (tests/security/fakes.py), which must see no
connection; the configured upstream records exactly which path it was asked for, which is
the upstream's base path plus the request's path after the upstream name, byte for byte.
Requests are sent as raw bytes: HTTP clients would normalise most of these away.
"""

from __future__ import annotations

import pytest

from tests.security.conftest import Stack, raw_exchange, status_of

S = "{sentinel}"  # replaced by the sentinel's host:port in each request


def get(target: str, *headers: str, method: str = "GET", version: str = "HTTP/1.1") -> str:
    lines = [f"{method} {target} {version}", *headers]
    if not any(header.lower().startswith("host:") for header in headers) and version == "HTTP/1.1":
        lines.append("Host: glassgate.test")
    return "\r\n".join([*lines, "Connection: close", "", ""])


# (request, the raw path the upstream must receive, or None when nothing may reach it)
FORWARDED_AS_CONFIGURED = {
    "absolute-form naming the sentinel": (get(f"http://{S}/openai/v1/models"), "/base/v1/models"),
    "absolute-form over https": (get(f"https://{S}/openai/v1/models"), "/base/v1/models"),
    "absolute-form with userinfo": (get(f"http://openai@{S}/openai/v1/models"), "/base/v1/models"),
    "host header naming the sentinel": (get("/openai/v1/models", f"Host: {S}"), "/base/v1/models"),
    "host header with userinfo": (get("/openai/v1/models", f"Host: openai@{S}"), "/base/v1/models"),
    "http/1.0 without a host": (get("/openai/v1/models", version="HTTP/1.0"), "/base/v1/models"),
    "x-forwarded-host and forwarded": (
        get("/openai/v1/models", f"X-Forwarded-Host: {S}", f"Forwarded: host={S};proto=http", "X-Forwarded-Port: 1"),
        "/base/v1/models",
    ),
    "@ after the upstream name": (get(f"/openai/@{S}/v1/models"), f"/base/@{S}/v1/models"),
    "authority-like path after the upstream name": (get(f"/openai//{S}/v1/models"), f"/base//{S}/v1/models"),
    "encoded slashes stay encoded": (get("/openai/v1/models/ft%3Aa%2Fb%2fc"), "/base/v1/models/ft%3Aa%2Fb%2fc"),
    "a url in the query": (
        get(f"/openai/v1/models?url=http://{S}/&next=//{S}&x=%2F%2F{S}"),
        f"/base/v1/models?url=http://{S}/&next=//{S}&x=%2F%2F{S}",
    ),
    "an upstream's redirect is relayed, not followed": (get("/openai/v1/redirect"), "/base/v1/redirect"),
    "encoded control bytes stay encoded (no header injection upstream)": (
        get("/openai/v1/models%00%0d%0aHost:%20evil"),
        "/base/v1/models%00%0d%0aHost:%20evil",
    ),
}

REFUSED = {
    "absolute-form to the root": get(f"http://{S}/"),
    "absolute-form to a reserved segment": get(f"http://{S}/v1/models"),
    "@ in the upstream name": get(f"/openai@{S}/v1/models"),
    "authority-like path": get(f"//{S}/v1/models"),
    "dot segments": get(f"/openai/../{S}/v1"),
    "encoded dot segments": get(f"/openai/%2e%2e/{S}/v1"),
    "upper-case encoded dot segments with an encoded slash": get(f"/openai/%2E%2E%2F{S}/v1"),
    "dot segments behind encoded slashes": get(f"/openai/v1/..%2f..%2f{S}"),
    "dot segment between encoded slashes": get("/openai/v1/models/a%2F..%2Fb"),
    "half-encoded dot segment": get(f"/openai/.%2e/{S}"),
    "dot segment with a path parameter": get(f"/openai/v1/..;/{S}"),
    "single dot segment": get("/openai/./v1/models"),
    "backslash dot segments": get(f"/openai/v1\\..\\..\\{S}"),
    "encoded backslash dot segments": get(f"/openai/v1%5c..%5c..%5c{S}"),
    "backslashes in the upstream name": get(f"/openai\\..\\{S}/v1"),
    "encoded slash in the upstream name": get(f"/openai%2F..%2F{S}/v1"),
    "encoded slash joining the upstream name": get("/openai%2fv1/models"),
    "a host as the upstream name": get(f"/{S}/v1/models"),
    "a vendor's host as the upstream name": get("/api.openai.com/v1/models"),
    "a url as the upstream name": get(f"/http:%2F%2F{S}/v1"),
    "a scheme as the upstream name": get(f"/http:/{S}/v1"),
    "connect to the sentinel": get(S, f"Host: {S}", method="CONNECT"),
    "connect in absolute-form": get(f"http://{S}/", method="CONNECT"),
}


@pytest.mark.parametrize("name", sorted(FORWARDED_AS_CONFIGURED))
def test_requests_reach_only_the_configured_upstream_with_the_path_as_sent(stack: Stack, name: str) -> None:
    template, expected_path = FORWARDED_AS_CONFIGURED[name]
    before = len(stack.upstream.seen)
    answer = raw_exchange(stack.address, template.replace(S, stack.sentinel.address).encode())
    expected_path = expected_path.replace(S, stack.sentinel.address)

    assert status_of(answer) in (200, 307), answer[:300]
    [seen] = stack.upstream.since(before)
    assert seen.raw_path == expected_path
    assert seen.header("host") == stack.upstream_host, "the Host the upstream sees comes from config"
    assert seen.header("x-forwarded-host") is None and seen.header("forwarded") is None
    assert status_of(answer) in (200, 307), answer[:300]
    if name.startswith("an upstream's redirect"):
        assert f"location: http://{stack.sentinel.address}/stolen".encode() in answer.lower()
    assert stack.sentinel.connections == [], "Glassgate connected to a host the config does not name"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_requests_that_try_to_escape_reach_nothing(stack: Stack, name: str) -> None:
    before = len(stack.upstream.seen)
    answer = raw_exchange(stack.address, REFUSED[name].replace(S, stack.sentinel.address).encode())
    status = status_of(answer)
    assert status is None or status in (200, 400, 404, 405), answer[:300]  # 200: the JSON index at `/`
    assert stack.upstream.since(before) == []
    assert stack.sentinel.connections == [], "Glassgate connected to a host the config does not name"


def test_the_sentinel_would_see_a_connection(stack: Stack) -> None:
    """The proof above is only as good as the sentinel: it does record a connection."""
    host, port = stack.sentinel.address.split(":")
    raw_exchange((host, int(port)), b"GET /probe HTTP/1.1\r\n\r\n", timeout_s=2)
    try:
        assert stack.sentinel.connections and stack.sentinel.connections[0].startswith(b"GET /probe")
    finally:
        stack.sentinel.connections.clear()
