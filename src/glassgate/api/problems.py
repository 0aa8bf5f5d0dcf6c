"""Every API error leaves as RFC 9457 problem+json, from this one place."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from glassgate.errors import DatabaseError

PROBLEM_TYPE = "application/problem+json"


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers


def problem_response(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc.status, exc.title, exc.detail, exc.headers)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        title = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "HTTP error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of one route; a path has a route per method here.
            methods = allowed_methods(app, request.url.path)
            if methods:
                headers = {name: value for name, value in headers.items() if name.lower() != "allow"}
                headers["allow"] = ", ".join(methods)
        return problem_response(exc.status_code, title, str(exc.detail), headers)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": ".".join(str(part) for part in error["loc"]), "message": error["msg"]} for error in exc.errors()
        ]
        detail = "; ".join(f"{error['field']}: {error['message']}" for error in errors)
        return problem_response(422, "Invalid request", detail, errors=errors)

    async def on_unstorable_text(_: Request, exc: Exception) -> JSONResponse:
        # PostgreSQL text cannot hold NUL (\u0000), whether it came in a path, a query or a body.
        return problem_response(422, "Invalid request", f"a value cannot be stored: {exc}")

    async def on_database(_: Request, exc: Exception) -> JSONResponse:
        detail = str(exc) if isinstance(exc, DatabaseError) else f"the database did not answer ({type(exc).__name__})"
        return problem_response(503, "Database unavailable", detail, {"retry-after": "5"})

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    for unstorable in (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError):
        app.add_exception_handler(unstorable, on_unstorable_text)
    for database_failure in (
        DatabaseError,
        OSError,
        asyncio.TimeoutError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.InternalClientError,
    ):
        app.add_exception_handler(database_failure, on_database)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the spec gives the path's most specific template (a static segment beats a parameter)."""
    matching = [(template, methods) for template, pattern, methods in _templates(app) if pattern.fullmatch(path)]
    if not matching:
        return []
    _, methods = min(matching, key=lambda entry: entry[0].count("{"))
    return methods


def _templates(app: FastAPI) -> list[tuple[str, re.Pattern[str], list[str]]]:
    templates: list[tuple[str, re.Pattern[str], list[str]]] | None = getattr(app.state, "path_templates", None)
    if templates is None:
        templates = []
        for template, item in app.openapi().get("paths", {}).items():
            pattern = re.compile(re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)))
            methods = [method.upper() for method in ("get", "post", "put", "patch", "delete") if method in item]
            templates.append((template, pattern, [*methods, "HEAD"] if "GET" in methods else methods))
        app.state.path_templates = templates
    return templates
