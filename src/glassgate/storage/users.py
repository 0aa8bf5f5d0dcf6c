"""Users of the web app, their passwords and their sign-in sessions.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile):
each hash or check takes ~0.2 s of CPU and 64 MiB, so it runs in a worker thread, a few at a
time, never on the event loop that relays proxied calls.

Sessions: the token (256 random bits) goes to the browser; only its SHA-256 is stored. The
expiry slides: a session used at least every `lifetime` stays alive; its row is touched at
most once a minute. Lookups are cached for a few seconds, so a disabled user or a signed-out
session can outlive its row by that long on another replica (on this one, never).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

Role = Literal["admin", "member"]
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this only bounds the work a request can ask for
MAX_EMAIL_LENGTH = 320
SESSION_LIFETIME = timedelta(days=14)
_USER_COLUMNS = "user_id, email, name, role, created_at, disabled_at"


class UserRejected(ValueError):
    """A user, or a change to one, breaks a rule; the message says which."""


class EmailTaken(UserRejected):
    pass


class LastAdmin(UserRejected):
    pass


def password_problem(password: str) -> str | None:
    """Why `password` is refused, or None. The policy is length only (NIST SP 800-63B)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password must have at most {MAX_PASSWORD_LENGTH} characters"
    return None


def email_problem(email: str) -> str | None:
    """Why `email` is refused, or None. Only the shape is checked: it is a sign-in name here."""
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or any(character.isspace() for character in email):
        return "the email must look like name@example.com"
    if len(email) > MAX_EMAIL_LENGTH:
        return f"the email must have at most {MAX_EMAIL_LENGTH} characters"
    return None


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    name: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None


def _user(record: asyncpg.Record) -> User:
    return User(
        user_id=record["user_id"],
        email=record["email"],
        name=record["name"],
        role=record["role"],
        created_at=record["created_at"],
        disabled_at=record["disabled_at"],
    )


class Passwords:
    """argon2id hashing and checking in worker threads, `concurrency` at a time."""

    def __init__(self, hasher: PasswordHasher | None = None, concurrency: int = 2) -> None:
        self._hasher = hasher or PasswordHasher()
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> tuple[bool, str | None]:
        """(matches, a new hash if `stored` used older parameters).

        With no stored hash (unknown user) a dummy is checked instead, so the answer takes as
        long as for a real user and response times do not reveal which emails exist.
        """
        if stored is None:
            if self._dummy is None:
                self._dummy = await self.hash(secrets.token_urlsafe(16))
            await self._check(self._dummy, password)
            return False, None
        if not await self._check(stored, password):
            return False, None
        if self._hasher.check_needs_rehash(stored):
            return True, await self.hash(password)
        return True, None

    async def _check(self, stored: str, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return False

        async with self._slots:
            return await asyncio.to_thread(check)


def _checked(email: str, password: str) -> str:
    email = email.strip()
    problem = email_problem(email) or password_problem(password)
    if problem is not None:
        raise UserRejected(problem)
    return email


async def create_user(
    pool: asyncpg.Pool, passwords: Passwords, *, email: str, password: str, name: str = "", role: Role = "member"
) -> User:
    """Add a user; `EmailTaken` if another user has this email in any letter case."""
    email = _checked(email, password)
    password_hash = await passwords.hash(password)
    try:
        async with pool.acquire() as connection:
            record = await connection.fetchrow(
                "INSERT INTO users (user_id, email, name, password_hash, role) VALUES ($1, $2, $3, $4, $5) "
                f"RETURNING {_USER_COLUMNS}",
                "usr_" + secrets.token_hex(8),
                email,
                name.strip(),
                password_hash,
                role,
            )
    except asyncpg.UniqueViolationError:
        raise EmailTaken(f"a user with the email {email!r} exists already") from None
    return _user(record)


async def create_first_user(
    pool: asyncpg.Pool, passwords: Passwords, *, email: str, password: str, name: str = ""
) -> User | None:
    """Add the first user, as an admin; None if there is a user already (even under a race)."""
    email = _checked(email, password)
    password_hash = await passwords.hash(password)  # before the lock, which is held for milliseconds
    async with pool.acquire() as connection, connection.transaction():
        # Conflicts with itself and with every insert: two setups at once run one after the other.
        await connection.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        if await connection.fetchval("SELECT EXISTS (SELECT 1 FROM users)"):
            return None
        record = await connection.fetchrow(
            "INSERT INTO users (user_id, email, name, password_hash, role) VALUES ($1, $2, $3, $4, 'admin') "
            f"RETURNING {_USER_COLUMNS}",
            "usr_" + secrets.token_hex(8),
            email,
            name.strip(),
            password_hash,
        )
    return _user(record)


async def any_users(pool: asyncpg.Pool) -> bool:
    async with pool.acquire() as connection:
        return bool(await connection.fetchval("SELECT EXISTS (SELECT 1 FROM users)"))


async def list_users(pool: asyncpg.Pool) -> list[User]:
    async with pool.acquire() as connection:
        records = await connection.fetch(f"SELECT {_USER_COLUMNS} FROM users ORDER BY lower(email)")
    return [_user(record) for record in records]


async def authenticate(pool: asyncpg.Pool, passwords: Passwords, email: str, password: str) -> User | None:
    """The enabled user with this email and password, or None (the same work either way)."""
    async with pool.acquire() as connection:
        record = await connection.fetchrow(
            f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE lower(email) = lower($1)", email.strip()
        )
    stored = record["password_hash"] if record is not None and len(password) <= MAX_PASSWORD_LENGTH else None
    matches, new_hash = await passwords.verify(stored, password[:MAX_PASSWORD_LENGTH])
    if not matches or record is None or record["disabled_at"] is not None:
        return None
    if new_hash is not None:  # the hasher's parameters changed since this hash was made
        async with pool.acquire() as connection:
            await connection.execute(
                "UPDATE users SET password_hash = $2 WHERE user_id = $1 AND password_hash = $3",
                record["user_id"],
                new_hash,
                stored,
            )
    return _user(record)


async def update_user(
    pool: asyncpg.Pool,
    passwords: Passwords,
    user_id: str,
    *,
    name: str | None = None,
    role: Role | None = None,
    password: str | None = None,
    disabled: bool | None = None,
) -> User | None:
    """Change what is given; None if there is no such user.

    A new password or disabling ends all the user's sessions. The last enabled admin can be
    neither demoted nor disabled (`LastAdmin`), so the web app always has someone to run it.
    """
    if password is not None and (problem := password_problem(password)) is not None:
        raise UserRejected(problem)
    password_hash = await passwords.hash(password) if password is not None else None
    async with pool.acquire() as connection, connection.transaction():
        if role == "member" or disabled:
            # Locking the enabled admins serialises two demotions that would each leave one.
            admins = await connection.fetch(
                "SELECT user_id FROM users WHERE role = 'admin' AND disabled_at IS NULL FOR UPDATE"
            )
            if [admin["user_id"] for admin in admins] == [user_id]:
                raise LastAdmin("this is the last enabled admin: make another user admin first")
        record = await connection.fetchrow(
            "UPDATE users SET name = coalesce($2, name), role = coalesce($3, role), "
            "password_hash = coalesce($4, password_hash), "
            "disabled_at = CASE WHEN $5::boolean IS NULL THEN disabled_at "
            "WHEN $5 THEN coalesce(disabled_at, now()) ELSE NULL END "
            f"WHERE user_id = $1 RETURNING {_USER_COLUMNS}",
            user_id,
            name.strip() if name is not None else None,
            role,
            password_hash,
            disabled,
        )
        if record is not None and (password is not None or disabled):
            await connection.execute("DELETE FROM user_sessions WHERE user_id = $1", user_id)
    return _user(record) if record is not None else None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    user: User
    renewed: bool  # the expiry moved forward: send the cookie again so the browser's moves too


class Sessions:
    """Sign-in sessions in the database, with lookups cached for `cache_ttl_s` seconds."""

    _MAX_CACHED = 10_000

    def __init__(
        self, lifetime: timedelta = SESSION_LIFETIME, cache_ttl_s: float = 10.0, touch_every_s: float = 60.0
    ) -> None:
        self.lifetime = lifetime
        self._cache_ttl_s = cache_ttl_s
        self._touch_every = timedelta(seconds=touch_every_s)
        self._cache: dict[str, tuple[User, float]] = {}

    async def create(self, pool: asyncpg.Pool, user_id: str) -> str:
        """A new session for `user_id`; returns the token, which is not stored anywhere."""
        token = secrets.token_urlsafe(32)
        async with pool.acquire() as connection, connection.transaction():
            # Expired rows go when someone signs in, so the table needs no sweeper of its own.
            await connection.execute("DELETE FROM user_sessions WHERE expires_at < now() - interval '1 day'")
            await connection.execute(
                "INSERT INTO user_sessions (token_hash, user_id, expires_at) VALUES ($1, $2, now() + $3::interval)",
                hash_token(token),
                user_id,
                self.lifetime,
            )
        return token

    async def lookup(self, pool: asyncpg.Pool, token: str) -> Session | None:
        """The enabled user behind an unexpired session, or None."""
        digest = hash_token(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return Session(cached[0], renewed=False)
        async with pool.acquire() as connection:
            record = await connection.fetchrow(
                f"SELECT {', '.join('u.' + column for column in _USER_COLUMNS.split(', '))}, "
                "s.last_seen_at < now() - $2::interval AS stale, "
                "extract(epoch FROM s.expires_at - now()) AS seconds_left "
                "FROM user_sessions s JOIN users u ON u.user_id = s.user_id "
                "WHERE s.token_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL",
                digest,
                self._touch_every,
            )
            if record is None:
                self._cache.pop(digest, None)
                return None
            if record["stale"]:
                await connection.execute(
                    "UPDATE user_sessions SET last_seen_at = now(), expires_at = now() + $2::interval "
                    "WHERE token_hash = $1",
                    digest,
                    self.lifetime,
                )
        user = _user(record)
        if len(self._cache) >= self._MAX_CACHED:
            self._cache.clear()
        seconds_left = self.lifetime.total_seconds() if record["stale"] else float(record["seconds_left"])
        self._cache[digest] = (user, now + min(self._cache_ttl_s, seconds_left))
        return Session(user, renewed=bool(record["stale"]))

    async def delete(self, pool: asyncpg.Pool, token: str) -> None:
        digest = hash_token(token)
        self._cache.pop(digest, None)
        async with pool.acquire() as connection:
            await connection.execute("DELETE FROM user_sessions WHERE token_hash = $1", digest)

    def forget_user(self, user_id: str) -> None:
        """Drop this user's cached lookups (after a change to the user), so the next request reads the rows."""
        for digest in [digest for digest, (user, _) in self._cache.items() if user.user_id == user_id]:
            del self._cache[digest]
