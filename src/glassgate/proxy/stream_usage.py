"""Opt-in usage for OpenAI-style streams: ask the upstream for it, and keep it from the client.

Without `stream_options.include_usage`, a streamed Chat Completions (or legacy Completions)
call reports no token counts. An upstream configured with `inject_stream_usage` gets the
flag added to such requests; OpenAI then puts `"usage":null` in every chunk and sends one
extra chunk with `"choices":[]` and the usage before `[DONE]`. `UsageStripper` removes both
from the relayed bytes, so the client receives what it would have without the flag, while
the capture keeps the upstream's bytes, usage included.

Only events that contain `"usage"` are parsed; every other byte is relayed as it came.
"""

from __future__ import annotations

import re

import orjson

from glassgate.proxy.sse import complete_events_end, split_event_blocks

_USAGE_KEY = re.compile(rb'"usage"\s*:\s*')
# OpenAI's own shape: `"usage":null` is the top-level object's last member, or followed only
# by the random `obfuscation` padding. Matched after `,"usage":null`, it proves the member is
# top-level without parsing (the `}` that follows ends the payload, so it closes the object).
_NULL_USAGE = b',"usage":null'
_LAST_MEMBERS = re.compile(rb'(?:,"obfuscation":"[^"\\]*")?\}[\r\n]*\Z')
_DATA_LINE = re.compile(rb"(?m)^data: ?")
_INCLUDE_USAGE = b'"stream_options":{"include_usage":true}'


def with_stream_usage(
    method: str, path: bytes, body: bytes, headers: list[tuple[str, str]]
) -> tuple[bytes, list[tuple[str, str]]] | None:
    """(body, headers) asking for `stream_options.include_usage`, or None when the request needs no change.

    Changes only streamed chat/legacy completions whose JSON body does not already ask for
    usage. The answer is asked for uncompressed, since it must be edited on the way back.
    """
    if method != "POST" or not path.rstrip(b"/").endswith(b"/completions") or b'"stream"' not in body:
        return None
    if any(name.lower() == "content-encoding" for name, _ in headers):
        return None  # a compressed request body: not ours to rewrite
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(payload, dict) or payload.get("stream") is not True:
        return None
    options = payload.get("stream_options")
    if options is None and "stream_options" not in payload:
        # Append the member before the closing brace: every other byte goes upstream unchanged.
        trimmed = body.rstrip()
        new_body = trimmed[:-1] + b"," + _INCLUDE_USAGE + b"}" + body[len(trimmed) :]
    elif isinstance(options, dict) and options.get("include_usage") is not True:
        payload["stream_options"] = {**options, "include_usage": True}
        new_body = orjson.dumps(payload)
    else:
        return None  # the client asked for usage itself (it gets it), or sent something invalid
    kept = [(name, value) for name, value in headers if name.lower() != "accept-encoding"]
    return new_body, [*kept, ("accept-encoding", "identity")]


class UsageStripper:
    """Removes what `include_usage` added from an SSE byte stream, chunk by chunk.

    A chunk is relayed up to its last complete event; the partial event after it waits for
    the next chunk (a client can do nothing with half an event anyway).
    """

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        """The bytes to relay for this chunk (possibly empty)."""
        data = self._pending + chunk if self._pending else chunk
        end = complete_events_end(data)
        self._pending = data[end:]
        ready = data[:end] if end < len(data) else data
        if b'"usage"' not in ready:
            return ready
        if ready.find(b"\n\n") == len(ready) - 2 and b"\r" not in ready:
            return strip_usage(ready)  # one LF-framed event: the usual chunk
        return b"".join(strip_usage(block) if b'"usage"' in block else block for block in split_event_blocks(ready))

    def flush(self) -> bytes:
        """What is left at the end of the stream: an event without its blank line, as it came."""
        rest, self._pending = self._pending, b""
        return strip_usage(rest) if b'"usage"' in rest else rest


def strip_usage(block: bytes) -> bytes:
    """One raw event without its top-level `usage`; b"" for the usage-only chunk; else unchanged."""
    null_at = block.find(_NULL_USAGE)
    if null_at > 0 and block.startswith(b"data:") and _LAST_MEMBERS.match(block, null_at + len(_NULL_USAGE)):
        head = block[:null_at]
        if b"\n" not in head and b"\r" not in head:  # one data line: the payload is the rest of it
            return head + block[null_at + len(_NULL_USAGE) :]
    lines = list(_DATA_LINE.finditer(block))
    if len(lines) != 1:
        return block
    start = lines[0].end()
    stop = len(block)
    for line_end in (block.find(b"\n", start), block.find(b"\r", start)):
        if line_end >= 0:
            stop = min(stop, line_end)
    payload = block[start:stop]
    try:
        parsed = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return block
    if not isinstance(parsed, dict) or "usage" not in parsed:
        return block
    if parsed["usage"] is not None and parsed.get("choices") == []:
        return b""  # the chunk include_usage added: it would not exist without the flag
    expected = {key: value for key, value in parsed.items() if key != "usage"}
    for key in _USAGE_KEY.finditer(payload):
        edited = _remove_member(payload, key.start(), key.end())
        if edited is not None and _loads_or_none(edited) == expected:
            return block[:start] + edited + block[stop:]
    return block


def _loads_or_none(data: bytes) -> object:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def _remove_member(payload: bytes, key_start: int, value_start: int) -> bytes | None:
    """`payload` without the object member whose key starts at `key_start`, with one comma."""
    value_end = _value_end(payload, value_start)
    if value_end is None:
        return None
    before = payload[:key_start].rstrip()
    if before.endswith(b","):
        return before[:-1] + payload[value_end:]
    after = payload[value_end:].lstrip()
    if after.startswith(b","):
        return payload[:key_start] + after[1:].lstrip()
    return payload[:key_start] + payload[value_end:]  # the only member


def _value_end(data: bytes, start: int) -> int | None:
    """Where the JSON value starting at `start` ends (strings and nesting aware)."""
    if data.startswith(b"null", start):
        return start + 4
    depth = 0
    in_string = False
    index = start
    while index < len(data):
        byte = data[index]
        if in_string:
            if byte == 0x5C:  # backslash: skip the escaped byte
                index += 1
            elif byte == 0x22:
                in_string = False
                if depth == 0:
                    return index + 1
        elif byte == 0x22:
            in_string = True
        elif byte in b"{[":
            depth += 1
        elif byte in b"}]":
            if depth == 0:
                return index  # a scalar ended by its container
            depth -= 1
            if depth == 0:
                return index + 1
        elif depth == 0 and byte in b", \t\r\n":
            return index
        index += 1
    return None
