"""An AWS event-stream encoder for fake Bedrock servers (botocore has only a decoder).

Frames: [total_len u32][headers_len u32][prelude_crc u32][headers][payload][message_crc u32],
big-endian, CRC32 as in zlib; string headers are type 7 (wire-formats.md §3.4).
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any


def _header(name: str, value: str) -> bytes:
    encoded_name, encoded_value = name.encode(), value.encode()
    return (
        struct.pack("!B", len(encoded_name))
        + encoded_name
        + b"\x07"
        + struct.pack("!H", len(encoded_value))
        + encoded_value
    )


def message(headers: dict[str, str], payload: bytes) -> bytes:
    """One frame with correct prelude and message CRCs."""
    header_bytes = b"".join(_header(name, value) for name, value in headers.items())
    prelude = struct.pack("!II", 12 + len(header_bytes) + len(payload) + 4, len(header_bytes))
    frame = prelude + struct.pack("!I", zlib.crc32(prelude)) + header_bytes + payload
    return frame + struct.pack("!I", zlib.crc32(frame))


def event(event_type: str, body: Any) -> bytes:
    """A ConverseStream event (messageStart, contentBlockDelta, metadata, ...)."""
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return message(headers, json.dumps(body).encode())


def chunk(model_chunk: Any) -> bytes:
    """An InvokeModelWithResponseStream chunk: the model's JSON, base64 inside `bytes`."""
    encoded = base64.b64encode(json.dumps(model_chunk).encode()).decode()
    return event("chunk", {"bytes": encoded, "p": "abcdefgh"})


def exception(kind: str, text: str) -> bytes:
    """A modelled error inside the stream, e.g. throttlingException or modelStreamErrorException."""
    headers = {":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}
    return message(headers, json.dumps({"message": text}).encode())
