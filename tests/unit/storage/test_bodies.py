"""Bodies as stored: zstd-compressed JSON, exact in both directions."""

from __future__ import annotations

from typing import Any

import pytest

from glassgate.storage.bodies import pack, unpack


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
