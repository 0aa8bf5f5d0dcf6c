"""Garbage-collector settings for a long-running process that handles many small objects.

A proxied call allocates thousands of short-lived containers (parsed request and answer
JSON, span fields, rows to encode) that reference counting frees on its own; the cyclic
collector then mostly re-examines objects that cannot be garbage. Its full collections walk
every tracked object, and after start-up most of those are the modules, classes and
functions imported once (hundreds of thousands): each full pass costs milliseconds of CPU
spent on objects that live for the life of the process.

`settle` therefore collects once, moves every surviving object into the permanent
generation (`gc.freeze`), where the collector no longer looks, and raises the young
generation's threshold so collections run less often. Cycles are still collected; only
objects alive at start-up are exempt, and they would never have been garbage anyway.
"""

from __future__ import annotations

import gc

# Container allocations (net of deallocations) before a young collection; CPython's default
# is 700. Young collections cost in proportion to what they examine, so rarer ones cost about
# the same in total, while older generations are then examined ten times less often.
YOUNG_THRESHOLD = 7_000


def settle() -> None:
    """Call once, after start-up has imported and built what the process keeps."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
