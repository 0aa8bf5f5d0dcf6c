"""The web app: Vite's build in `glassgate/static/`, served by a small raw-ASGI handler.

    /                 a browser is sent to /ui/traces (API clients get app.py's JSON index)
    /ui, /ui/...      index.html: the app routes in the browser; revalidated on every load
    /assets/<file>    Vite's content-hashed files: cached for a year, never revalidated
    /favicon.ico      the icon

Only names Vite writes are served (one flat `assets/` folder, a strict file-name pattern), and
each resolved path must still lie inside the static folder, so no request reaches another
file. A file is read once per version (size and mtime) and kept in memory with its gzip form;
nothing touches the disk before the first request. Without a build, /ui answers with a page
that says how to make one.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from glassgate.asgi import Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parent / "static"
SEGMENTS = frozenset({"ui", "assets", "favicon.ico"})
HOME = "/ui/traces"

_ASSET_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8",
}
_COMPRESSIBLE = (".html", ".js", ".mjs", ".css", ".json", ".map", ".svg", ".txt")
_IMMUTABLE = b"public, max-age=31536000, immutable"
# The app renders prompts and answers from the wild: no inline script, no other origin.
_SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        b"connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
_NOT_BUILT = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Glassgate: web app not built</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:640px;margin:12vh auto;padding:0 24px;color:#1f2430}
code{background:#f3f4f6;padding:2px 6px;border-radius:4px}</style></head>
<body><h1>The web app is not built</h1>
<p>This Glassgate is running, but its web app has not been built. From the repository, run
<code>make web</code> (it needs Node.js 20 and npm), then reload this page. <code>make run</code>
builds it too.</p>
<p>The API works without it: <a href="/api/docs">/api/docs</a>.</p></body></html>
"""


@dataclass(frozen=True, slots=True)
class _File:
    version: tuple[int, int]  # size, mtime_ns
    body: bytes
    gzipped: bytes | None
    etag: bytes
    content_type: bytes


def wants_html(scope: Scope) -> bool:
    """Whether the client is a browser asking for a page (Accept names text/html)."""
    return any(name == b"accept" and b"text/html" in value for name, value in scope["headers"])


class WebApp:
    """The ASGI handler for /, /ui, /assets and /favicon.ico."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        self.root = root
        self._files: dict[Path, _File] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await _send(send, 405, b"method not allowed\n", b"text/plain", [(b"allow", b"GET, HEAD")], method)
            return
        path: str = scope["path"]
        if path == "/":
            await _send(send, 302, b"", b"text/plain", [(b"location", HOME.encode())], method)
        elif path == "/ui" or path.startswith("/ui/"):
            await self._index(scope, send)
        elif path.startswith("/assets/"):
            name = path.removeprefix("/assets/")
            found = self._load(self.root / "assets" / name) if _ASSET_NAME.fullmatch(name) else None
            await self._file(scope, send, found, _IMMUTABLE)
        elif path == "/favicon.ico":
            found = self._load(self.root / "favicon.ico") or self._load(self.root / "favicon.svg")
            await self._file(scope, send, found, b"public, max-age=86400")
        else:
            await _send(send, 404, b"not found\n", b"text/plain", [], method)

    async def _index(self, scope: Scope, send: Send) -> None:
        found = self._load(self.root / "index.html")
        if found is None:
            await _send(send, 503, _NOT_BUILT, b"text/html; charset=utf-8", [(b"cache-control", b"no-store")], "GET")
            return
        await self._file(scope, send, found, b"no-cache", _SECURITY_HEADERS)

    async def _file(
        self,
        scope: Scope,
        send: Send,
        found: _File | None,
        cache_control: bytes,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        method = scope["method"]
        if found is None:
            await _send(send, 404, b"not found\n", b"text/plain", [(b"cache-control", b"no-store")], method)
            return
        headers = [(b"cache-control", cache_control), (b"etag", found.etag), *(extra or [])]
        if found.gzipped is not None:
            headers.append((b"vary", b"accept-encoding"))
        if _header(scope, b"if-none-match") == found.etag:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        body = found.body
        if found.gzipped is not None and b"gzip" in (_header(scope, b"accept-encoding") or b""):
            body = found.gzipped
            headers.append((b"content-encoding", b"gzip"))
        await _send(send, 200, body, found.content_type, headers, method)

    def _load(self, path: Path) -> _File | None:
        """The file's current version, read (and gzipped) only when it changed; None if absent or outside."""
        try:
            resolved = path.resolve()
            if not resolved.is_relative_to(self.root.resolve()) or not resolved.is_file():
                return None
            stat = resolved.stat()
            version = (stat.st_size, stat.st_mtime_ns)
            cached = self._files.get(resolved)
            if cached is not None and cached.version == version:
                return cached
            body = resolved.read_bytes()
        except OSError:
            return None
        suffix = resolved.suffix.lower()
        compress = suffix in _COMPRESSIBLE and len(body) > 1024
        entry = _File(
            version=version,
            body=body,
            gzipped=gzip.compress(body, 6, mtime=0) if compress else None,
            etag=b'"' + hashlib.blake2b(body, digest_size=10).hexdigest().encode() + b'"',
            content_type=_CONTENT_TYPES.get(suffix, "application/octet-stream").encode(),
        )
        self._files[resolved] = entry
        return entry


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key == name), None)


async def _send(
    send: Send, status: int, body: bytes, content_type: bytes, headers: list[tuple[bytes, bytes]], method: str
) -> None:
    all_headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body, "more_body": False})
