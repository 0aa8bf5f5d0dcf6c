"""Detector results remembered by text: the same prompt text is scanned once, not on every call.

Most of what a request carries was sent before: the system prompt of every call of an app,
the conversation a chat client re-sends in full at each turn (whose last answer was scanned
as output the turn before), the tool definitions of an agent. Detectors are pure (see
guardrails.base), so a detector's matches over a text never change, and scanning the same
text again is waste — on the request path, latency every call pays.

Keys are a 128-bit BLAKE2b digest of the text, never the text itself: the cache holds no
prompt, and a collision (one in 2^64 after billions of texts) cannot plausibly hide a
finding. Entries are bounded by count (least recently used evicted), texts over
`max_chars` are not cached (rarely repeated, and hashing them is not free).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

from glassgate.guardrails.base import Detector, Match

DEFAULT_ENTRIES = 16_384  # ~3 MB: a digest, a small tuple of matches and the bookkeeping per entry
DEFAULT_MAX_CHARS = 64 * 1024


class ScanCache:
    """`scan(detector, text)`: the detector's matches, from memory when this text was seen."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        self._entries: OrderedDict[tuple[int, bytes], tuple[Match, ...]] = OrderedDict()
        self._max_entries = max_entries
        self._max_chars = max_chars
        # The engine runs on the event loop, but benches and remote checks may call it from threads.
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def digest(self, text: str) -> bytes | None:
        """The key of `text` for `scan` (one per text, whatever the detectors); None: not cached."""
        if len(text) > self._max_chars or self._max_entries == 0:
            return None
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def scan(self, detector: Detector, text: str, digest: bytes | None) -> Sequence[Match]:
        """The detector's matches over `text`, whose `digest()` is given (raises whatever the
        detector raises; a failure is never cached)."""
        if digest is None:
            return detector.scan(text)
        # id(): detectors live as long as the engine that owns this cache and its policies.
        key = (id(detector), digest)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
        matches = tuple(detector.scan(text))
        with self._lock:
            self.misses += 1
            self._entries[key] = matches
            if len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return matches

    def __len__(self) -> int:
        return len(self._entries)
