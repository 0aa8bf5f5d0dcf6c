"""Who is calling the management API: the admin token (automation) or a signed-in user.

Two ways in, checked by `current_principal` in this order:

- `Authorization: Bearer <admin token>`: scripts, the CLI, automation. Full rights. When the
  header is present it alone decides; a wrong token is a 401 even with a valid cookie.
- The session cookie `glassgate_session`, set by `POST /api/v1/auth/login` (api/session.py)
  for the web app: `HttpOnly` (scripts in the page cannot read it), `SameSite=Lax`, `Path=/`,
  and `Secure` when the request came over https, directly or as told by `X-Forwarded-Proto`
  from a TLS-terminating proxy. (Trusting that header is safe here: a client that lies
  about it only makes its own cookie stop working over http.)

CSRF: a browser sends the cookie with requests that other pages make. SameSite=Lax keeps it
off cross-site form posts in current browsers, but not off requests from sibling subdomains
(same site) or older browsers, so a cookie-authenticated POST, PUT, PATCH or DELETE must
also carry the header `X-Glassgate-CSRF: 1`, else 403. The web app always sends it; an HTML
form cannot set a header, and a cross-origin `fetch` that sets one needs a CORS preflight,
which this API never grants. The sign-in routes (setup, login, logout) require it too.
Bearer requests need no such header: a browser never attaches an Authorization header on
its own.

Roles: `require_admin_role` admits the admin token and users with role `admin` (user
management, issuing and revoking keys); members may read everything else.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request, Response

from glassgate.api.problems import Problem
from glassgate.api.state import pool_of
from glassgate.storage import users
from glassgate.storage.users import Passwords, Sessions

SESSION_COOKIE = "glassgate_session"
CSRF_HEADER = "x-glassgate-csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    kind: Literal["admin_token", "user"]
    user_id: str | None = None
    email: str | None = None
    role: Literal["admin", "member"] = "admin"

    @property
    def author(self) -> str:
        """The name recorded on what this caller writes (annotations, dataset versions)."""
        return self.email or "admin-token"


def sessions_of(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


def passwords_of(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


def _unauthorized(detail: str, headers: dict[str, str] | None = None) -> Problem:
    return Problem(401, "Unauthorized", detail, {"www-authenticate": "Bearer", **(headers or {})})


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(sessions_of(request).lifetime.total_seconds()),
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=is_https(request), httponly=True, samesite="lax")


def _clearing_header(request: Request) -> dict[str, str]:
    """A Set-Cookie header that drops a cookie which no longer names a session."""
    carrier = Response()
    clear_session_cookie(carrier, request)
    return {"set-cookie": carrier.headers["set-cookie"]}


def check_csrf(request: Request) -> None:
    """403 unless an unsafe request carries `X-Glassgate-CSRF: 1` (see the module docstring)."""
    if request.method not in _SAFE_METHODS and request.headers.get(CSRF_HEADER) != "1":
        raise Problem(
            403, "CSRF check failed", "requests signed in with the session cookie must send X-Glassgate-CSRF: 1"
        )


def admin_token_matches(request: Request) -> bool | None:
    """True or False for a Bearer admin token; None when there is no Authorization header."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    expected: bytes = request.app.state.admin_token
    return hmac.compare_digest(token.strip().encode(), expected)


async def session_of(request: Request) -> users.Session | None:
    """The signed-in user behind the request's cookie, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await sessions_of(request).lookup(pool_of(request), token)


async def current_principal(request: Request, response: Response) -> Principal:
    """The caller, from the admin token or the session cookie; 401 or 403 problem+json otherwise."""
    token_matches = admin_token_matches(request)
    if token_matches is not None:
        if not token_matches:
            raise _unauthorized("the admin token is not valid (send Authorization: Bearer <admin token>)")
        return Principal(kind="admin_token")
    if not request.cookies.get(SESSION_COOKIE):
        raise _unauthorized("sign in, or send Authorization: Bearer <admin token>")
    check_csrf(request)
    session = await session_of(request)
    if session is None:
        raise _unauthorized("the session has ended: sign in again", _clearing_header(request))
    if session.renewed:
        token = request.cookies[SESSION_COOKIE]
        set_session_cookie(response, request, token)
    user = session.user
    return Principal(kind="user", user_id=user.user_id, email=user.email, role=user.role)


async def require_admin_role(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The caller, if it may manage users and keys: the admin token or a user with role admin."""
    if principal.role != "admin":
        raise Problem(403, "Forbidden", "this needs the admin role")
    return principal
