"""Request and response bodies as stored: the JSON value, compressed with zstd by the writer.

PostgreSQL would otherwise compress each body itself (pglz) inside the INSERT, which cost
about as much as the rest of a span's insert together; zstd at level 1 does the same job in
a few microseconds on the writer's side and packs tighter. Stored as bytea (PostgreSQL keeps
it out of line without trying to compress it again), the body is also exact: a NUL character,
which jsonb refuses, survives.

Bodies shorter than `COMPRESS_FROM` bytes are stored as their JSON text: zstd saves a few
bytes on them at the price of a compressor call per body. The two are told apart by zstd's
frame magic number, which cannot begin JSON text.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson
import zstandard

_LEVEL = 1
COMPRESS_FROM = 256
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_local = threading.local()  # zstd (de)compressor objects must not be shared between threads


def _compressor() -> zstandard.ZstdCompressor:
    compressor: zstandard.ZstdCompressor | None = getattr(_local, "compressor", None)
    if compressor is None:
        compressor = _local.compressor = zstandard.ZstdCompressor(level=_LEVEL)
    return compressor


def _decompressor() -> zstandard.ZstdDecompressor:
    decompressor: zstandard.ZstdDecompressor | None = getattr(_local, "decompressor", None)
    if decompressor is None:
        decompressor = _local.decompressor = zstandard.ZstdDecompressor()
    return decompressor


def pack(value: Any) -> bytes | None:
    """A body (any JSON value, or text that was not JSON) as stored; None stays None."""
    if value is None:
        return None
    text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    if len(text) < COMPRESS_FROM:
        return text
    packed: bytes = _compressor().compress(text)
    return packed


def unpack(stored: bytes | None) -> Any:
    if stored is None:
        return None
    if not stored.startswith(_ZSTD_MAGIC):
        return orjson.loads(stored)
    return orjson.loads(_decompressor().decompress(stored))
