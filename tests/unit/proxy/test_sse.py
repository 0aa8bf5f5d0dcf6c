"""Unit tests for `glassgate.proxy.sse`: the incremental Server-Sent Events parser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from glassgate.proxy.sse import ServerSentEvent, complete_events_end, parse_events, split_event_blocks


def events(*chunks: bytes) -> list[ServerSentEvent]:
    return list(parse_events(chunks))


def test_lf_events_with_chunk_index() -> None:
    assert events(b"data: one\n\ndata: two\n\n", b"data: three\n\n") == [
        ServerSentEvent("", "one", 0),
        ServerSentEvent("", "two", 0),
        ServerSentEvent("", "three", 1),
    ]


def test_crlf_line_ends() -> None:
    assert events(b"event: ping\r\ndata: {}\r\n\r\ndata: x\r\n\r\n") == [
        ServerSentEvent("ping", "{}", 0),
        ServerSentEvent("", "x", 0),
    ]


def test_cr_line_ends_in_one_chunk() -> None:
    assert events(b"data: a\r\rdata: b\r\r") == [ServerSentEvent("", "a", 0), ServerSentEvent("", "b", 0)]


def test_cr_line_ends_tag_the_completing_chunk() -> None:
    assert events(b"data: a\r\r", b"data: b\r\r") == [ServerSentEvent("", "a", 0), ServerSentEvent("", "b", 1)]


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    # The blank line's CR arrives in chunk 1; a CR alone already ends a line, so the event
    # is complete there (the LF in chunk 2 only finishes the CRLF).
    assert events(b"data: a\r", b"\n\r", b"\n") == [ServerSentEvent("", "a", 1)]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert events(b"data: first\ndata: second\ndata:\ndata: fourth\n\n") == [
        ServerSentEvent("", "first\nsecond\n\nfourth", 0)
    ]


def test_comments_and_unknown_fields_are_ignored() -> None:
    stream = b": keep-alive\n\n:another comment\nid: 7\nretry: 1000\nfoo: bar\ndata: x\n\n"
    assert events(stream) == [ServerSentEvent("", "x", 0)]


def test_only_one_space_after_the_colon_is_removed() -> None:
    assert events(b"data:x\n\ndata:  y\n\ndata:\tz\n\n") == [
        ServerSentEvent("", "x", 0),
        ServerSentEvent("", " y", 0),
        ServerSentEvent("", "\tz", 0),
    ]


def test_field_without_colon_is_a_field_with_empty_value() -> None:
    assert events(b"data\ndata: x\n\n") == [ServerSentEvent("", "\nx", 0)]


def test_value_may_contain_colons() -> None:
    assert events(b'data: {"a": "b:c"}\n\n') == [ServerSentEvent("", '{"a": "b:c"}', 0)]


def test_event_type_is_reset_after_each_dispatch() -> None:
    stream = b"event: response.created\ndata: 1\n\ndata: 2\n\n"
    assert events(stream) == [ServerSentEvent("response.created", "1", 0), ServerSentEvent("", "2", 0)]


def test_event_split_across_chunks_is_tagged_with_the_completing_chunk() -> None:
    assert events(b"event: resp", b"onse.completed\nda", b'ta: {"type"', b": 1}\n", b"\n") == [
        ServerSentEvent("response.completed", '{"type": 1}', 4)
    ]


def test_split_inside_a_multibyte_character() -> None:
    encoded = "data: h\u00e9llo \u2603\n\n".encode()
    cut = encoded.index("\u2603".encode()) + 1
    assert events(encoded[:cut], encoded[cut:]) == [ServerSentEvent("", "h\u00e9llo \u2603", 1)]


def test_every_split_of_a_stream_gives_the_same_events() -> None:
    stream = b"event: a\r\ndata: 1\r\n\r\n: c\n\ndata: 2\ndata: 3\n\ndata: [DONE]\n\n"
    whole = [(e.event, e.data) for e in events(stream)]
    assert whole == [("a", "1"), ("", "2\n3"), ("", "[DONE]")]
    for size in range(1, len(stream) + 1):
        pieces = [stream[start : start + size] for start in range(0, len(stream), size)]
        assert [(e.event, e.data) for e in events(*pieces)] == whole, size


def test_missing_final_blank_line_still_yields_the_event() -> None:
    assert events(b"data: a\n\n", b"data: cut\n") == [ServerSentEvent("", "a", 0), ServerSentEvent("", "cut", 1)]


def test_missing_final_newline_still_yields_the_data() -> None:
    assert events(b"data: a\n\nevent: x\n", b"data: cut") == [
        ServerSentEvent("", "a", 0),
        ServerSentEvent("x", "cut", 1),
    ]


def test_unterminated_multi_line_data_keeps_all_lines() -> None:
    assert events(b"data: one\ndata: two") == [ServerSentEvent("", "one\ntwo", 0)]


def test_unterminated_line_removes_only_one_space() -> None:
    assert events(b"data:  x") == [ServerSentEvent("", " x", 0)]


def test_blank_lines_alone_dispatch_nothing() -> None:
    assert events(b"\n\n\r\n", b"\n") == []


def test_no_chunks_and_empty_chunks() -> None:
    assert events() == []
    assert events(b"", b"") == []
    assert events(b"", b"data: x\n\n", b"") == [ServerSentEvent("", "x", 1)]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert events(b"data: \xff\xfe\n\n") == [ServerSentEvent("", "\ufffd\ufffd", 0)]


def test_parse_events_is_lazy() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"data: first\n\n"
        raise AssertionError("read past the first event")

    iterator = parse_events(chunks())
    assert next(iterator) == ServerSentEvent("", "first", 0)


def test_an_event_without_data_is_not_dispatched() -> None:
    assert events(b"event: ping\n\nevent: message\ndata: x\n\n") == [ServerSentEvent("message", "x", 0)]


@pytest.mark.parametrize(
    ("data", "end"),
    [
        (b"", 0),
        (b"data: a", 0),
        (b"data: a\n", 0),
        (b"data: a\n\n", 9),
        (b"data: a\n\ndata: b", 9),
        (b"data: a\r\n\r\ndata: b\r\n", 11),
        (b"data: a\r\rdata: b\r", 9),
        (b"data: a\n\ndata: b\r\n\r\n", 20),
    ],
)
def test_complete_events_end(data: bytes, end: int) -> None:
    assert complete_events_end(data) == end


def test_split_event_blocks_keeps_every_byte() -> None:
    data = b"data: a\n\n: comment\n\nevent: e\r\ndata: b\r\n\r\ndata: c\r\rdata: tail"
    blocks = list(split_event_blocks(data))
    assert blocks == [b"data: a\n\n", b": comment\n\n", b"event: e\r\ndata: b\r\n\r\n", b"data: c\r\r", b"data: tail"]
    assert b"".join(blocks) == data
