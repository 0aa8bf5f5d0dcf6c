"""Every error an operation can answer, in the OpenAPI spec, as the problem+json it is.

FastAPI documents only the success and a 422 in its own validation shape; the API answers
errors as problem+json (api/problems.py) with more statuses than that. This completes the
spec in one place, so generated clients and contract tests (tests/security/test_fuzz_api.py)
see what the server really does:

    every operation         422 (invalid request), 503 (database unavailable)
    signed-in operations    401 (no or wrong credentials), 403 (role, or the CSRF header)
    a path parameter        404 (no such resource)
    a write (not GET)       403 (the CSRF header), 404 (a resource its body names), 409 (a conflict)
    a request body          413 (over the API's body limit, api/request_bodies.py)

Statuses only some reads answer (400, 404, 409, 502) and the sign-in's 401 and 429 are
declared on those routes with `problems(...)`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from glassgate.api.problems import PROBLEM_TYPE

TITLES = {
    400: "Bad request",
    401: "Unauthorized: send Authorization: Bearer <admin token>, or sign in",
    403: "Forbidden: the admin role is needed, or a signed-in write lacks X-Glassgate-CSRF: 1",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many attempts; see Retry-After",
    502: "A service the API relies on failed (e.g. the embedding upstream)",
    503: "Database unavailable; see Retry-After",
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}, "description": "Field or line errors (422)."},
    },
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PUBLIC_PREFIX = "/api/v1/auth/"  # signing in cannot require being signed in (api/session.py)
_METHODS = ("get", "put", "post", "patch", "delete")


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that answers these statuses besides the ones every route has."""
    return {status: _problem(status) for status in statuses}


def _problem(status: int) -> dict[str, Any]:
    return {"description": TITLES[status], "content": {PROBLEM_TYPE: {"schema": _PROBLEM_REF}}}


def document_problems(api: FastAPI) -> None:
    """Make `api.openapi()` return the spec with its error answers completed (see the module docstring)."""

    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            complete(generate())  # FastAPI's spec, which it also keeps in api.openapi_schema
        return api.openapi_schema or {}

    api.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise it


def complete(spec: dict[str, Any]) -> None:
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is not None:
                _complete_operation(path, method, operation)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def _complete_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses = {422, 503}
    if not path.startswith(_PUBLIC_PREFIX):
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    if method != "get":
        statuses |= {403, 404, 409}  # the CSRF header; a resource named in the body; a state that conflicts
    if "requestBody" in operation:
        statuses.add(413)
    for status in sorted(statuses):
        responses.setdefault(str(status), _problem(status))
    for code, response in responses.items():
        if not code.isdigit() or int(code) < 400:
            continue
        content = response.get("content", {})
        schema = content.get("application/json", content.get(PROBLEM_TYPE, {})).get("schema")
        if not schema or schema == {"$ref": "#/components/schemas/HTTPValidationError"}:
            schema = _PROBLEM_REF
        elif schema != _PROBLEM_REF:
            schema = {"anyOf": [schema, _PROBLEM_REF]}  # the route's own shape, or any other problem
        response["content"] = {PROBLEM_TYPE: {"schema": schema}}
        if response.get("description") == "Validation Error":  # FastAPI's own 422
            response["description"] = TITLES[422]
