"""The C allocator's settings for the server process: one malloc arena instead of one per thread.

glibc gives each thread that allocates its own arena (up to eight per core), and an arena
keeps the pages it has touched. The server's event loop allocates in the main arena; the few
threads beside it (uvloop's resolver pool, `asyncio.to_thread` work such as the embedder and
the tokenizer load) each grow an arena of their own that is rarely used again. Measured with
`bench.run`'s load phases, that held ~12 MB more RSS after the load (152 MB instead of 140;
the budget is 150). Sharing one arena made no difference to throughput in those runs that
the noise would show: those threads allocate little, and mostly while the event loop waits.

An operator's own `MALLOC_ARENA_MAX` wins; on a C library without glibc's `mallopt` (musl)
nothing changes.
"""

from __future__ import annotations

import ctypes
import os

# glibc's malloc.h: the mallopt parameter for the most arenas the process may have.
_M_ARENA_MAX = -8
ARENAS = 1


def limit_arenas(environ: dict[str, str] | None = None) -> bool:
    """Cap the process at ARENAS malloc arenas; call before starting threads. True when applied."""
    if "MALLOC_ARENA_MAX" in (os.environ if environ is None else environ):
        return False
    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded into this process: its C library
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, ARENAS))
