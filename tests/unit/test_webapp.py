"""The web app's static server: routes, caching headers, content types, and no way out of the folder."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path
from typing import Any

import pytest

from glassgate.asgi import Message
from glassgate.webapp import WebApp, wants_html

INDEX = b"<!doctype html><title>Glassgate</title><div id=root></div>"
SCRIPT = b"console.log('glassgate');\n" * 100


@pytest.fixture
def static(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "assets" / "index-AbC123_x.js").write_bytes(SCRIPT)
    (root / "assets" / "index-Zz9.css").write_bytes(b"body{margin:0}")
    (root / "favicon.svg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_bytes(b"outside the static folder")
    return root


class Response:
    def __init__(self, messages: list[Message]) -> None:
        start, body = messages
        self.status: int = start["status"]
        self.headers = {name.decode(): value.decode() for name, value in start["headers"]}
        self.body: bytes = body["body"]


def call(app: WebApp, path: str, method: str = "GET", headers: dict[str, str] | None = None) -> Response:
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(name.encode(), value.encode()) for name, value in (headers or {}).items()],
    }
    asyncio.run(app(scope, receive, send))
    return Response(messages)


def test_root_sends_browsers_to_the_trace_list(static: Path) -> None:
    response = call(WebApp(static), "/")
    assert response.status == 302
    assert response.headers["location"] == "/ui/traces"


@pytest.mark.parametrize("path", ["/ui", "/ui/", "/ui/traces", "/ui/traces/abc123", "/ui/sessions/s%201"])
def test_app_routes_answer_with_index_html_revalidated(static: Path, path: str) -> None:
    response = call(WebApp(static), path)
    assert response.status == 200
    assert response.body == INDEX
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_hashed_assets_are_immutable_with_their_content_type(static: Path) -> None:
    app = WebApp(static)
    script = call(app, "/assets/index-AbC123_x.js")
    assert script.status == 200
    assert script.body == SCRIPT
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert script.headers["content-length"] == str(len(SCRIPT))
    style = call(app, "/assets/index-Zz9.css")
    assert style.headers["content-type"] == "text/css; charset=utf-8"


def test_gzip_when_accepted_and_worth_it(static: Path) -> None:
    app = WebApp(static)
    zipped = call(app, "/assets/index-AbC123_x.js", headers={"accept-encoding": "gzip, deflate, br"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "accept-encoding"
    assert gzip.decompress(zipped.body) == SCRIPT
    small = call(app, "/assets/index-Zz9.css", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers, "a file under 1 KB is not worth compressing"


def test_etag_revalidation_and_head(static: Path) -> None:
    app = WebApp(static)
    first = call(app, "/ui/traces")
    again = call(app, "/ui/traces", headers={"if-none-match": first.headers["etag"]})
    assert again.status == 304
    assert again.body == b""
    head = call(app, "/assets/index-AbC123_x.js", method="HEAD")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["content-length"] == str(len(SCRIPT))


def test_a_rebuilt_file_is_served_fresh(static: Path) -> None:
    app = WebApp(static)
    assert call(app, "/ui").body == INDEX
    (static / "index.html").write_bytes(b"<!doctype html><title>rebuilt</title>")
    assert call(app, "/ui").body == b"<!doctype html><title>rebuilt</title>"


def test_favicon_falls_back_to_the_svg(static: Path) -> None:
    response = call(WebApp(static), "/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"] == "image/svg+xml"


@pytest.mark.parametrize(
    "path",
    [
        "/assets/../index.html",
        "/assets/../../secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/assets/%2e%2e/secret.txt",
        "/assets/..\\..\\secret.txt",
        "/assets/.hidden",
        "/assets/sub/index-AbC123_x.js",
        "/assets/index-AbC123_x.js\x00.png",
        "/assets/",
        "/assets/missing-123.js",
        "/assets//etc/passwd",
    ],
)
def test_nothing_outside_the_assets_folder_is_served(static: Path, path: str) -> None:
    response = call(WebApp(static), path)
    assert response.status == 404
    assert b"outside" not in response.body


def test_a_symlink_out_of_the_folder_is_not_followed(static: Path) -> None:
    (static / "assets" / "leak-1.txt").symlink_to(static.parent / "secret.txt")
    assert call(WebApp(static), "/assets/leak-1.txt").status == 404


def test_app_paths_never_serve_other_files(static: Path) -> None:
    response = call(WebApp(static), "/ui/../../secret.txt")
    assert response.body == INDEX, "/ui/* is always the app's page, never a file named by the path"


def test_only_get_and_head(static: Path) -> None:
    response = call(WebApp(static), "/ui/traces", method="POST")
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_without_a_build_the_page_says_how_to_make_one(tmp_path: Path) -> None:
    app = WebApp(tmp_path / "missing")
    response = call(app, "/ui/traces")
    assert response.status == 503
    assert b"make web" in response.body
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert call(app, "/assets/index-1.js").status == 404


def test_browsers_are_told_apart_from_api_clients() -> None:
    browser = {"headers": [(b"accept", b"text/html,application/xhtml+xml,*/*;q=0.8")]}
    client = {"headers": [(b"accept", b"application/json")]}
    assert wants_html(browser)
    assert not wants_html(client)
    assert not wants_html({"headers": []})
