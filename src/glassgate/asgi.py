"""The ASGI types and the two primitives every raw handler here needs: read a bounded body,
send a complete response. Shared by the proxy, the OTLP receiver and the app's own routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLarge(Exception):
    """The request body is over the limit; nothing more of it was read."""


class ClientGone(Exception):
    """The client hung up (or missed the server's body deadline) before the end of its body.

    `partial` holds what arrived. It must never be handled as the request: a cut protobuf
    export, for one, still parses as a shorter valid message.
    """

    def __init__(self, partial: bytes) -> None:
        super().__init__("the client disconnected before the end of the request body")
        self.partial = partial


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body, refusing (before reading, when Content-Length says so) past `limit`.

    Raises BodyTooLarge past the limit and ClientGone when the body broke off.
    """
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLarge
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone(b"".join(parts))
        piece = message.get("body", b"")
        size += len(piece)
        if size > limit:
            raise BodyTooLarge
        parts.append(piece)
        if not message.get("more_body", False):
            break
    return b"".join(parts) if len(parts) != 1 else parts[0]


async def send_response(
    send: Send, status: int, body: bytes, content_type: bytes, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *(extra_headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_json(send: Send, status: int, payload: object) -> None:
    await send_response(send, status, orjson.dumps(payload), b"application/json")
