"""A lean HTTP/1.1 client for the proxy's upstream calls.

Built for the relay's hot path: asyncio Protocols (uvloop in production), httptools' llhttp
parser, keep-alive pools, and body chunks handed on as the parser produced them. It does
only what a transparent proxy needs: no redirects, no cookies, no decompression, no proxy
or .netrc lookups, and no headers beyond Host and Content-Length.

    pool = ConnectionPool("https", "api.openai.com", 443, connect_timeout=10, read_timeout=300,
                          max_connections=100)
    response = await pool.request("POST", "/v1/chat/completions?x=%3A", headers, body)
    try:
        async for chunk in response:
            ...
    finally:
        response.release()

Errors: UpstreamUnavailable (connect, DNS, TLS, or no answer), UpstreamTimeout (connect
timeout, or read silence longer than `read_timeout`), UpstreamReset (the body broke off).
"""

from glassgate.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from glassgate.proxy.http1.pool import ConnectionPool
from glassgate.proxy.http1.response import UpstreamReset, UpstreamResponse

__all__ = [
    "ConnectionPool",
    "UpstreamError",
    "UpstreamReset",
    "UpstreamResponse",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]
