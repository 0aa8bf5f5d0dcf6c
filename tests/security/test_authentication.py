"""No API data without credentials: every management route, the OTLP intake, and the web app.

The routes come from the API app itself (FastAPI's router list, the same the server builds),
so a route added later is covered without editing this file, and a route that answers
without credentials fails the test unless it is one of the few public ones listed here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from glassgate.api.app import create_api
from glassgate.api.auth import SESSION_COOKIE
from tests.harness import ADMIN_TOKEN
from tests.security.conftest import Stack

ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}
CSRF = {"x-glassgate-csrf": "1"}
PASSWORD = "correct horse battery staple"
# Reachable without signing in, by design: the API's description, and signing in itself.
PUBLIC = {
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/api/v1/auth/state"),
    ("POST", "/api/v1/auth/setup"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
}
WRONG_CREDENTIALS = {
    "a wrong token": "Bearer not-the-admin-token",
    "the token with a suffix": f"Bearer {ADMIN_TOKEN}x",
    "the token's prefix": f"Bearer {ADMIN_TOKEN[:-1]}",
    "basic auth with the token": "Basic " + __import__("base64").b64encode(f"admin:{ADMIN_TOKEN}".encode()).decode(),
    "a scheme without a token": "Bearer",
    "a Glassgate key": "Bearer gg-not-for-the-api",
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def routes() -> list[tuple[str, str]]:
    """(method, path template) of every route the API app serves."""
    found = []
    for context in iter_route_contexts(create_api("enumeration-only").routes):
        for method in sorted(context.methods or ()):
            if method != "HEAD" and context.path is not None:
                found.append((method, context.path))
    return sorted(found)


ROUTES = routes()
PROTECTED = [route for route in ROUTES if route not in PUBLIC]


def concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", template)


def call(
    url: str, method: str, template: str, headers: dict[str, str], cookies: dict[str, str] | None = None
) -> httpx.Response:
    body: dict[str, object] | None = {} if method in UNSAFE else None
    with httpx.Client(base_url=url, cookies=cookies, timeout=10) as client:
        return client.request(method, concrete(template), json=body, headers=headers)


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert set(response.json()) == {"type", "title", "status", "detail"}, "a 401 carries no data"


def test_the_route_list_is_the_real_one() -> None:
    assert len(PROTECTED) >= 70 and ("GET", "/api/v1/spans") in PROTECTED
    assert set(ROUTES) >= PUBLIC, "a public route listed here no longer exists"


@pytest.mark.parametrize(("method", "template"), PROTECTED)
def test_no_credentials_no_access(stack: Stack, method: str, template: str) -> None:
    assert_unauthorized(call(stack.glassgate.url, method, template, {}))


@pytest.mark.parametrize(("method", "template"), PROTECTED)
def test_wrong_credentials_no_access(stack: Stack, method: str, template: str) -> None:
    for name, value in WRONG_CREDENTIALS.items():
        response = call(stack.glassgate.url, method, template, {"authorization": value})
        assert response.status_code == 401, f"{name}: {response.status_code} {response.text[:200]}"


def test_a_wrong_token_beats_a_valid_cookie(stack: Stack, session_cookie: dict[str, str]) -> None:
    response = call(stack.glassgate.url, "GET", "/api/v1/spans", {"authorization": "Bearer wrong"}, session_cookie)
    assert_unauthorized(response)


@pytest.fixture(scope="module")
def session_cookie(stack: Stack) -> Iterator[dict[str, str]]:
    """The cookie of a signed-in admin user."""
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    user = {"email": email, "password": PASSWORD, "role": "admin"}
    created = httpx.post(f"{stack.glassgate.url}/api/v1/users", json=user, headers=ADMIN)
    assert created.status_code == 201, created.text
    login = httpx.post(
        f"{stack.glassgate.url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, headers=CSRF
    )
    assert login.status_code == 200, login.text
    yield {SESSION_COOKIE: login.cookies[SESSION_COOKIE]}


def test_the_session_cookie_reads_without_the_csrf_header(stack: Stack, session_cookie: dict[str, str]) -> None:
    """The cookie is valid: the 403s below are the CSRF check, not a bad session."""
    response = call(stack.glassgate.url, "GET", "/api/v1/spans", {}, session_cookie)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("method", "template"), [route for route in ROUTES if route[0] in UNSAFE])
def test_cookie_writes_without_the_csrf_header_are_forbidden(
    stack: Stack, session_cookie: dict[str, str], method: str, template: str
) -> None:
    response = call(stack.glassgate.url, method, template, {}, session_cookie)
    assert response.status_code == 403, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert "X-Glassgate-CSRF" in response.json()["detail"]
    with_header = call(stack.glassgate.url, method, template, CSRF, session_cookie)
    assert with_header.status_code != 403 or "CSRF" not in with_header.text, "the header is what was missing"


def test_the_public_routes_hold_no_data(stack: Stack) -> None:
    state = httpx.get(f"{stack.glassgate.url}/api/v1/auth/state")
    assert state.status_code == 200 and state.json()["signed_in"] is False and state.json()["user"] is None
    for template in ("/api/v1/auth/setup", "/api/v1/auth/login", "/api/v1/auth/logout"):
        refused = httpx.post(f"{stack.glassgate.url}{template}", json={})
        assert refused.status_code == 403, "sign-in writes need the CSRF header too"
    spec = httpx.get(f"{stack.glassgate.url}/api/v1/openapi.json")
    assert spec.status_code == 200 and "paths" in spec.json() and stack.glassgate_key not in spec.text


@pytest.mark.parametrize(
    "path",
    ["/api/v1/spans/", "/api/v1//spans", "/api/v1/spans?limit=1", "/api//v1/spans", "/api/v1/SPANS", "/API/v1/spans"],
)
def test_path_variants_of_a_route_reveal_nothing(stack: Stack, path: str) -> None:
    response = httpx.get(f"{stack.glassgate.url}{path}", follow_redirects=True)
    assert response.status_code in (401, 404), response.text[:300]
    assert '"data"' not in response.text


def test_otlp_intake_needs_a_token(stack: Stack) -> None:
    url = f"{stack.glassgate.url}/v1/traces"
    body = b'{"resourceSpans": []}'
    json_type = {"content-type": "application/json"}
    assert httpx.post(url, content=body, headers=json_type).status_code == 401
    for value in WRONG_CREDENTIALS.values():
        assert httpx.post(url, content=body, headers={**json_type, "authorization": value}).status_code == 401
    admitted = httpx.post(url, content=body, headers={**json_type, **ADMIN})
    assert admitted.status_code == 200, admitted.text
    by_key = httpx.post(url, content=body, headers={**json_type, "authorization": f"Bearer {stack.glassgate_key}"})
    assert by_key.status_code == 200, by_key.text


def test_the_web_app_is_public_but_carries_no_api_data(stack: Stack) -> None:
    marker = f"project-{uuid.uuid4().hex[:10]}"
    issued = httpx.post(f"{stack.glassgate.url}/api/v1/keys", json={"project": marker}, headers=ADMIN)
    assert issued.status_code == 201
    assert marker in httpx.get(f"{stack.glassgate.url}/api/v1/projects", headers=ADMIN).text
    html = {"accept": "text/html"}
    for path in ("/", "/ui", "/ui/traces", "/ui/settings"):
        page = httpx.get(f"{stack.glassgate.url}{path}", headers=html, follow_redirects=True)
        assert page.status_code in (200, 503), page.text[:200]  # 503: the web app is not built
        assert page.headers["content-type"].startswith("text/html")
        assert marker not in page.text and stack.glassgate_key not in page.text
        for asset in re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text):
            assert marker not in httpx.get(f"{stack.glassgate.url}{asset}").text
    index = httpx.get(f"{stack.glassgate.url}/")
    assert index.status_code == 200 and marker not in index.text
