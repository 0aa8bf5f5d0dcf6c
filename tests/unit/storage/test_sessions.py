"""The sessions list's prefix helpers (pure)."""

from __future__ import annotations

from glassgate.storage.sessions import BadCursor, Position, after_prefix, like_prefix


def test_like_prefix_escapes_the_wildcards() -> None:
    assert like_prefix("a_b%c\\") == "a\\_b\\%c\\\\%"


def test_after_prefix_is_the_first_string_past_the_prefix_in_code_point_order() -> None:
    assert after_prefix("chat-") == "chat."
    assert after_prefix("a\U0010ffff") == "b"
    assert after_prefix("\ud7ff") == "\ue000"
    assert after_prefix("\U0010ffff") is None
    for prefix in ("team-a/", "x", "é"):
        end = after_prefix(prefix)
        assert end is not None and prefix < prefix + "\U0010ffff" * 3 < end


def test_a_cursor_round_trips_and_a_bad_one_is_refused() -> None:
    position = Position.decode(Position.decode("MjAyNi0xMS0wMVQxMjowMDowMCswMDowMHwwMDAx").encode())
    assert position.span_id == "0001"
    try:
        Position.decode("%%%")
    except BadCursor:
        pass
    else:
        raise AssertionError("a bad cursor must be refused")
