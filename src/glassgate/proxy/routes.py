"""Split a raw request path into (upstream name, rest) and refuse paths that try to escape.

The upstream host always comes from config. The rest of the path is appended to the
upstream's base path exactly as the client encoded it (Bedrock signs `%3A`/`%2F`), so the
only ways a path could reach somewhere unintended are dot segments (`..`, `%2e%2e`) that
climb out of the base path; those are refused outright, since no vendor API uses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DOT_SEGMENTS = frozenset({b".", b".."})
_UNSAFE_BYTE = re.compile(rb"[\x00-\x20\x7f]")


@dataclass(frozen=True, slots=True)
class Route:
    """Where one data-plane request goes: a configured upstream and the raw remainder."""

    upstream: str
    rest: bytes  # starts with b"/" or is empty; still percent-encoded


class PathRejected(ValueError):
    """The path cannot be forwarded safely; the message says why."""


def split_route(raw_path: bytes) -> Route | None:
    """Return the route for `/{upstream}/{rest}`, or None when there is no first segment."""
    if not raw_path.startswith(b"/"):
        raise PathRejected("request target must be an absolute path")
    slash = raw_path.find(b"/", 1)
    if slash == -1:
        name, rest = raw_path[1:], b""
    else:
        name, rest = raw_path[1:slash], raw_path[slash:]
    if not name:
        return None
    check_rest(rest)
    return Route(upstream=name.decode("latin-1"), rest=rest)


def check_rest(rest: bytes) -> None:
    """Refuse dot segments, literal or percent-encoded, and control characters."""
    if b"." in rest or b"%2" in rest.lower():
        for segment in _segments(rest):
            # `..;x` is a dot segment to servers that strip path parameters (Tomcat, Spring).
            if segment.split(b";", 1)[0] in _DOT_SEGMENTS:
                raise PathRejected("path must not contain '.' or '..' segments")
    if not rest.isascii() or _UNSAFE_BYTE.search(rest):
        raise PathRejected("path must be percent-encoded ASCII, without spaces or control characters")


def _segments(rest: bytes) -> list[bytes]:
    # Decode only the dot and the slash: `%2e` is a dot to every server, and `%2f` would
    # become a separator to servers that decode before routing.
    lowered = rest.lower().replace(b"%2e", b".").replace(b"%2f", b"/").replace(b"%5c", b"/").replace(b"\\", b"/")
    return lowered.split(b"/")
