"""Bodies as stored: zstd-compressed JSON, exact in both directions."""

from __future__ import annotations

from typing import Any

import pytest

from glassgate.storage.bodies import COMPRESS_FROM, pack, unpack


@pytest.mark.parametrize(
    "value",
    [
        {"messages": [{"role": "user", "content": "héllo \u0000 wörld"}], "n": 1.5, "ok": True, "none": None},
        "plain text that was not JSON",
        [1, 2, 3],
        {},
    ],
)
def test_round_trip(value: Any) -> None:
    assert unpack(pack(value)) == value


def test_none_stays_none_and_text_shrinks() -> None:
    assert pack(None) is None and unpack(None) is None
    body = {"messages": [{"role": "user", "content": "the same sentence again. " * 200}]}
    packed = pack(body)
    assert packed is not None and len(packed) < 400


def test_short_bodies_are_kept_as_json_text_and_long_ones_compressed() -> None:
    short = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    assert pack(short) == b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
    long = {"content": "x" * COMPRESS_FROM}
    packed = pack(long)
    assert packed is not None and packed.startswith(b"\x28\xb5\x2f\xfd")  # a zstd frame
    assert unpack(pack(short)) == short and unpack(packed) == long


@pytest.mark.parametrize("value", ["(starts like nothing zstd makes)", 0, -1.5, True, None, "\x28\xb5"])
def test_no_short_body_is_mistaken_for_a_compressed_one(value: Any) -> None:
    assert unpack(pack(value)) == value
