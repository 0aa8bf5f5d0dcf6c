"""Unit tests for `glassgate.guardrails.scan_cache.ScanCache` and its use by the engine."""

from __future__ import annotations

import orjson
import pytest

from glassgate.config import GuardrailPolicy
from glassgate.guardrails.base import Match
from glassgate.guardrails.engine import GuardrailEngine
from glassgate.guardrails.scan_cache import ScanCache


class CountingDetector:
    """Finds the word "secret"; counts the texts it was asked to scan."""

    name = "counting"

    def __init__(self) -> None:
        self.scanned: list[str] = []

    def scan(self, text: str) -> list[Match]:
        self.scanned.append(text)
        start = text.find("secret")
        return [Match("SECRET", start, start + 6)] if start >= 0 else []


class FailingDetector:
    name = "failing"

    def __init__(self) -> None:
        self.calls = 0

    def scan(self, text: str) -> list[Match]:
        self.calls += 1
        raise RuntimeError("detector bug")


def test_a_text_is_scanned_once_per_detector() -> None:
    cache, detector = ScanCache(), CountingDetector()
    text = "the secret is out"
    first = cache.scan(detector, text, cache.digest(text))
    again = cache.scan(detector, text, cache.digest(text))
    assert list(first) == list(again) == [Match("SECRET", 4, 10)]
    assert detector.scanned == [text]
    assert (cache.hits, cache.misses) == (1, 1)


def test_each_detector_has_its_own_entries() -> None:
    cache, one, other = ScanCache(), CountingDetector(), CountingDetector()
    text = "a secret"
    cache.scan(one, text, cache.digest(text))
    cache.scan(other, text, cache.digest(text))
    assert one.scanned == other.scanned == [text]


def test_different_texts_are_scanned_apart() -> None:
    cache, detector = ScanCache(), CountingDetector()
    for text in ("a secret", "no match", "a secret "):
        cache.scan(detector, text, cache.digest(text))
    assert detector.scanned == ["a secret", "no match", "a secret "]


def test_the_least_recently_used_entry_is_evicted() -> None:
    cache, detector = ScanCache(max_entries=2), CountingDetector()

    def scan(text: str) -> None:
        cache.scan(detector, text, cache.digest(text))

    scan("a")
    scan("b")
    scan("a")  # "a" is now the most recently used
    scan("c")  # evicts "b"
    assert len(cache) == 2
    scan("a")
    scan("b")
    assert detector.scanned == ["a", "b", "c", "b"]


def test_long_texts_are_not_cached() -> None:
    cache, detector = ScanCache(max_chars=10), CountingDetector()
    text = "secret " * 5
    assert cache.digest(text) is None
    cache.scan(detector, text, cache.digest(text))
    cache.scan(detector, text, cache.digest(text))
    assert len(detector.scanned) == 2 and len(cache) == 0


def test_a_failure_is_not_remembered() -> None:
    cache, detector = ScanCache(), FailingDetector()
    for _ in range(2):
        with pytest.raises(RuntimeError):
            cache.scan(detector, "text", cache.digest("text"))
    assert detector.calls == 2 and len(cache) == 0


def test_the_cache_holds_digests_not_texts() -> None:
    cache, detector = ScanCache(), CountingDetector()
    text = "my secret password hunter2"
    cache.scan(detector, text, cache.digest(text))
    assert all(text.encode() not in repr(key).encode() for key in cache._entries)
    assert all(len(digest) == 16 for _, digest in cache._entries)


def test_the_engine_finds_the_same_on_a_repeated_request_and_scans_it_once() -> None:
    engine = GuardrailEngine([GuardrailPolicy(name="pii", detectors=["pii"], action="flag")])
    body = orjson.dumps(
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "Reply to jane.doe@example.com only."},
                {"role": "user", "content": "Call me on +1 415 555 0100"},
            ],
        }
    )

    def check() -> list[tuple[str, str, int, int]]:
        verdict = engine.check_request(
            "flag", vendor="openai", upstream="openai", project="p", path="/v1/chat/completions", raw=body
        )
        return [(finding.category, finding.field, finding.start, finding.end) for finding in verdict.findings]

    first = check()
    assert {category for category, *_ in first} == {"EMAIL", "PHONE"}
    assert check() == first
    assert engine.scan_cache.misses == 2 and engine.scan_cache.hits == 2
