"""Redis commands in RESP (arrays of bulk strings), built from bytes. Pure, no IO.

The limiter writes its few commands itself rather than through redis-py's command layer: a
check's command is mostly bytes encoded once (see plans), joined with the little that changes.
"""

from __future__ import annotations


def bulk(part: bytes) -> bytes:
    """One bulk string: `$<length>\\r\\n<bytes>\\r\\n`."""
    return b"$%d\r\n%s\r\n" % (len(part), part)


def array_header(count: int) -> bytes:
    """The start of an array of `count` bulk strings."""
    return b"*%d\r\n" % count


def command(*parts: bytes) -> bytes:
    """A whole command."""
    return array_header(len(parts)) + b"".join([bulk(part) for part in parts])
