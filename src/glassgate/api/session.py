"""/api/v1/auth: sign-in state, first-user setup, login and logout for the web app.

These routes are reachable without signing in (that is their point). Cookie and CSRF rules
are in api/auth.py. Password guessing is slowed per email by `LoginThrottle`, in memory: a
replica counts only the attempts it sees, which still bounds a guesser to a handful of tries
per lockout per replica.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from glassgate.api.auth import (
    SESSION_COOKIE,
    admin_token_matches,
    check_csrf,
    clear_session_cookie,
    passwords_of,
    session_of,
    sessions_of,
    set_session_cookie,
)
from glassgate.api.problem_docs import problems
from glassgate.api.problems import Problem
from glassgate.api.state import pool_of
from glassgate.api.users import Email, Name, NewPassword, User, user_json
from glassgate.storage import users

# The CSRF check (writes only) runs before the body is even parsed: a cross-site post gets no further.
router = APIRouter(prefix="/api/v1/auth", tags=["auth"], dependencies=[Depends(check_csrf)])
_WRONG_CREDENTIALS = "the email or the password is not correct"


class LoginThrottle:
    """Counts failed sign-ins per email; past `free_attempts`, each failure locks that email for a while.

    The lockout doubles with each further failure, up to `max_lockout_s`; an email with no
    failure for `forget_after_s` starts afresh. Unknown emails are counted like known ones, so
    the throttle does not reveal which exist. At most `max_tracked` emails are remembered; the
    least recently failed go first.
    """

    def __init__(
        self,
        free_attempts: int = 5,
        base_lockout_s: float = 30.0,
        max_lockout_s: float = 900.0,
        forget_after_s: float = 900.0,
        max_tracked: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = free_attempts
        self._base = base_lockout_s
        self._max = max_lockout_s
        self._forget_after = forget_after_s
        self._max_tracked = max_tracked
        self._clock = clock
        self._failures: dict[str, tuple[int, float, float]] = {}  # email → (count, last failure, locked until)

    def retry_after(self, email: str) -> float:
        """Seconds until this email may try again; 0 when it may now."""
        entry = self._failures.get(_key(email))
        return max(0.0, entry[2] - self._clock()) if entry is not None else 0.0

    def failed(self, email: str) -> None:
        key, now = _key(email), self._clock()
        count, last, _ = self._failures.pop(key, (0, now, 0.0))
        if now - last > self._forget_after:
            count = 0
        count += 1
        excess = count - self._free
        locked_until = now + min(self._max, self._base * 2 ** (excess - 1)) if excess > 0 else 0.0
        self._failures[key] = (count, now, locked_until)  # re-inserted: the dict stays in failure order
        while len(self._failures) > self._max_tracked:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, email: str) -> None:
        self._failures.pop(_key(email), None)


def _key(email: str) -> str:
    return email.strip().lower()


class AuthState(BaseModel):
    signed_in: bool = Field(description="The request carries a valid session cookie or the admin token.")
    user: User | None = Field(description="The signed-in user; null when signed out or using the admin token.")
    setup_required: bool = Field(description="No user exists yet and this instance lets the first visitor create one.")


class Setup(BaseModel):
    email: Email
    password: NewPassword
    name: Name = ""


class Credentials(BaseModel):
    email: Annotated[str, Field(max_length=users.MAX_EMAIL_LENGTH)]
    password: Annotated[str, Field(max_length=users.MAX_PASSWORD_LENGTH)]


async def _setup_required(request: Request) -> bool:
    if not request.app.state.allow_first_user_setup:
        return False
    return not await users.any_users(pool_of(request))


@router.get("/state", response_model=AuthState, summary="Whether the caller is signed in, and as whom")
async def state(request: Request, response: Response) -> dict[str, Any]:
    if admin_token_matches(request):
        return {"signed_in": True, "user": None, "setup_required": False}
    session = await session_of(request)
    if session is None and request.cookies.get(SESSION_COOKIE):
        clear_session_cookie(response, request)
    elif session is not None and session.renewed:
        set_session_cookie(response, request, request.cookies[SESSION_COOKIE])
    return {
        "signed_in": session is not None,
        "user": user_json(session.user) if session is not None else None,
        "setup_required": session is None and await _setup_required(request),
    }


@router.post("/setup", response_model=User, status_code=201, summary="Create the first user, an admin, and sign in")
async def setup(request: Request, response: Response, body: Setup) -> dict[str, Any]:
    if not request.app.state.allow_first_user_setup:
        raise Problem(
            403, "Setup is off", "create the first user with `glassgate users create --role admin` on the server"
        )
    pool = pool_of(request)
    user = await users.create_first_user(
        pool, passwords_of(request), email=body.email, password=body.password, name=body.name
    )
    if user is None:
        raise Problem(409, "Already set up", "a user exists already: sign in")
    set_session_cookie(response, request, await sessions_of(request).create(pool, user.user_id))
    return user_json(user)


@router.post(
    "/login",
    response_model=User,
    summary="Sign in with email and password; sets the session cookie",
    responses=problems(401, 429),
)
async def login(request: Request, response: Response, credentials: Credentials) -> dict[str, Any]:
    throttle: LoginThrottle = request.app.state.login_throttle
    wait = throttle.retry_after(credentials.email)
    if wait > 0:
        seconds = math.ceil(wait)
        raise Problem(
            429,
            "Too many failed sign-ins",
            f"too many failed sign-ins for this email: try again in {seconds} s",
            {"retry-after": str(seconds)},
        )
    pool = pool_of(request)
    user = await users.authenticate(pool, passwords_of(request), credentials.email, credentials.password)
    if user is None:
        throttle.failed(credentials.email)
        raise Problem(401, "Sign-in failed", _WRONG_CREDENTIALS)
    throttle.succeeded(credentials.email)
    set_session_cookie(response, request, await sessions_of(request).create(pool, user.user_id))
    return user_json(user)


@router.post("/logout", status_code=204, summary="Sign out: ends the session and clears the cookie")
async def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await sessions_of(request).delete(pool_of(request), token)
    response = Response(status_code=204)
    clear_session_cookie(response, request)
    return response
