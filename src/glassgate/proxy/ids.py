"""Random OpenTelemetry ids (span ids, trace ids) as lower-case hex, from the kernel's CSPRNG.

`os.urandom` is one `getrandom` system call per id, and every proxied call needs two (its
span id on the hot path, a trace id when the client sent none). Ids are sliced from a block
read once per few hundred calls instead: still unpredictable, which matters because span ids
go back to every client (`x-glassgate-span-id`) and a predictable generator would let one
client guess the ids of another's calls.
"""

from __future__ import annotations

import os
import threading

_BLOCK_BYTES = 4096
_lock = threading.Lock()  # evaluation workers and the proxy may draw from threads too
_block = b""
_offset = 0


def random_hex(size: int) -> str:
    """`size` random bytes as 2 × `size` hex digits; never all zeros (an invalid OTel id)."""
    global _block, _offset
    while True:
        with _lock:
            end = _offset + size
            if end > len(_block):
                _block, _offset, end = os.urandom(_BLOCK_BYTES), 0, size
            drawn = _block[_offset:end]
            _offset = end
        if any(drawn):
            return drawn.hex()


def _forget_block() -> None:
    # A forked child holds a copy of the parent's block: both would hand out the same ids.
    global _block, _offset
    _block, _offset = b"", 0


os.register_at_fork(after_in_child=_forget_block)
