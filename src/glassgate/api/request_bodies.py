"""Request bodies the management API takes: bounded in size, and JSON that storage can keep.

FastAPI reads a body whole and has no limit of its own: this one answers 413 past
`MAX_BODY_BYTES` (the largest dataset import plus its multipart framing), from the declared
Content-Length before reading anything, else as soon as the bytes read pass it.

A JSON body is also checked the way storage encodes it (orjson, then PostgreSQL jsonb), so
a value that cannot be stored is a 422 naming it rather than a 500 halfway through a write:
integers beyond 64 bits and unpaired surrogates (`\\ud800`), which Python's parser accepts
but orjson cannot encode, and NaN, Infinity or numbers past a double's range, which are not
JSON (RFC 8259) and which Python's parser would turn into nulls once stored; and nesting deeper
than the parsers' recursion limits (Python's would raise RecursionError: a 500).
"""

from __future__ import annotations

import json

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from glassgate.api.problems import problem_response
from glassgate.asgi import BodyTooLarge, ClientGone, read_body

MAX_BODY_BYTES = 65 * 1024 * 1024


class RequestBodies:
    """ASGI middleware in front of the API's routes (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            # Read here, whole: a limit enforced inside FastAPI's own reading would come out as its
            # vague 400 ("error parsing the body"). The largest body is a dataset import.
            body = await read_body(scope, receive, self.max_bytes)
        except BodyTooLarge:
            await too_large(self.max_bytes)(scope, receive, send)
            return
        except ClientGone:
            return  # a cut body must not reach a handler (a dataset import would store part of it)
        if body.strip() and _is_json(_content_type(scope)):
            problem = unstorable_json(body)
            if problem is not None:
                await problem_response(422, "Invalid request", problem)(scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)


def too_large(max_bytes: int) -> ASGIApp:
    return problem_response(413, "Request body too large", f"the API takes bodies of at most {max_bytes} bytes")


def unstorable_json(body: bytes) -> str | None:
    """Why a JSON body could not be stored; None when it can, or when it is no JSON at all (FastAPI says so)."""
    try:
        orjson.loads(body)  # RFC 8259 itself: no NaN or Infinity, doubles in range, valid UTF-8 and surrogates
    except orjson.JSONDecodeError as exc:
        try:
            json.loads(body)
        except json.JSONDecodeError:
            return None  # malformed: FastAPI's own 422 says where
        except (ValueError, RecursionError):
            pass  # not UTF-8 (FastAPI would answer a vague 400), or nested past any parser's depth (a 500)
        return f"the body is not valid JSON (RFC 8259): {exc}"
    try:
        orjson.dumps(json.loads(body))  # integers exactly as FastAPI will parse them
    except TypeError as exc:
        return f"the body holds a value that cannot be stored: {exc}"
    except RecursionError:
        return "the body is nested too deeply"
    return None


def _content_type(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return str(value.decode("latin-1")).lower()
    return ""  # FastAPI reads a body without a content type as JSON


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip()
    return media_type in ("", "application/json") or media_type.endswith("+json")


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, when it comes

    return replay
