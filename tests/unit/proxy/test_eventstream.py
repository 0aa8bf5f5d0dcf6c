"""Unit tests for `glassgate.proxy.eventstream`: AWS event-stream frames from captured chunks."""

from __future__ import annotations

import json
import struct
import zlib

import pytest

from glassgate.proxy.eventstream import DecodedStream, Frame, decode_frames
from tests.fakes import eventstream as es

START = es.event("messageStart", {"role": "assistant"})
DELTA = es.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hel"}})
STOP = es.event("messageStop", {"stopReason": "end_turn"})
STREAM = [START, DELTA, STOP]


def raw_frame(header_bytes: bytes, payload: bytes) -> bytes:
    """A frame with correct CRCs around arbitrary header bytes (the fake encodes strings only)."""
    prelude = struct.pack("!II", 16 + len(header_bytes) + len(payload), len(header_bytes))
    frame = prelude + struct.pack("!I", zlib.crc32(prelude)) + header_bytes + payload
    return frame + struct.pack("!I", zlib.crc32(frame))


def header(name: str, kind: int, value: bytes) -> bytes:
    return struct.pack("!B", len(name)) + name.encode() + struct.pack("!B", kind) + value


def bare_prelude(total_length: int, headers_length: int = 0) -> bytes:
    """Only a prelude, with a valid prelude CRC: botocore's own checks do not all catch this."""
    prelude = struct.pack("!II", total_length, headers_length)
    return prelude + struct.pack("!I", zlib.crc32(prelude))


def kinds(decoded: DecodedStream) -> list[tuple[int, str, str]]:
    return [(frame.index, frame.message_type, frame.kind) for frame in decoded.frames]


# --- whole frames ------------------------------------------------------------------------------


def test_one_frame_per_chunk_is_tagged_with_its_chunk() -> None:
    decoded = decode_frames(STREAM)
    assert kinds(decoded) == [
        (0, "event", "messageStart"),
        (1, "event", "contentBlockDelta"),
        (2, "event", "messageStop"),
    ]
    assert json.loads(decoded.frames[2].payload) == {"stopReason": "end_turn"}
    assert decoded.corrupt is None and decoded.corrupt_chunk is None and decoded.incomplete_bytes == 0


def test_the_reference_frame_from_wire_formats_decodes() -> None:
    # The 122-byte messageStop frame printed in wire-formats.md §3.4.
    frame = bytes.fromhex(
        "00 00 00 7a 00 00 00 51 ca 2c 46 65 0b 3a 65 76"
        "65 6e 74 2d 74 79 70 65 07 00 0b 6d 65 73 73 61"
        "67 65 53 74 6f 70 0d 3a 63 6f 6e 74 65 6e 74 2d"
        "74 79 70 65 07 00 10 61 70 70 6c 69 63 61 74 69"
        "6f 6e 2f 6a 73 6f 6e 0d 3a 6d 65 73 73 61 67 65"
        "2d 74 79 70 65 07 00 05 65 76 65 6e 74 7b 22 73"
        "74 6f 70 52 65 61 73 6f 6e 22 3a 22 65 6e 64 5f"
        "74 75 72 6e 22 7d 5f bf 09 fc"
    )
    decoded = decode_frames([frame])
    assert decoded.corrupt is None
    assert decoded.frames == [Frame(0, "event", "messageStop", b'{"stopReason":"end_turn"}')]


def test_several_frames_in_one_chunk_all_complete_in_that_chunk() -> None:
    decoded = decode_frames([b"", START + DELTA, STOP])
    assert kinds(decoded) == [
        (1, "event", "messageStart"),
        (1, "event", "contentBlockDelta"),
        (2, "event", "messageStop"),
    ]


def test_invoke_chunk_payload_is_left_for_the_caller_to_unwrap() -> None:
    (frame,) = decode_frames([es.chunk({"outputText": "Hi"})]).frames
    assert (frame.message_type, frame.kind) == ("event", "chunk")
    assert set(json.loads(frame.payload)) == {"bytes", "p"}


def test_modelled_exception_frames_carry_their_type_and_json() -> None:
    (frame,) = decode_frames([es.exception("throttlingException", "Too many requests")]).frames
    assert (frame.message_type, frame.kind) == ("exception", "throttlingException")
    assert json.loads(frame.payload) == {"message": "Too many requests"}


def test_unmodelled_error_frames_carry_their_message_from_the_header() -> None:
    headers = {":message-type": "error", ":error-code": "InternalFailure", ":error-message": "it broke"}
    (frame,) = decode_frames([es.message(headers, b"")]).frames
    assert frame == Frame(0, "error", "InternalFailure", b"it broke")


def test_a_frame_without_message_type_is_an_event() -> None:
    (frame,) = decode_frames([es.message({":event-type": "metadata"}, b"{}")]).frames
    assert (frame.message_type, frame.kind) == ("event", "metadata")


def test_non_string_header_values_are_read_as_text() -> None:
    headers = header(":event-type", 6, struct.pack("!H", 5) + b"chunk") + header(":flag", 0, b"")
    (frame,) = decode_frames([raw_frame(headers, b"{}")]).frames
    assert (frame.message_type, frame.kind) == ("event", "chunk")


def test_no_bytes_means_no_frames() -> None:
    assert decode_frames([]) == DecodedStream()
    assert decode_frames([b"", b""]) == DecodedStream()


# --- frames split across chunks ------------------------------------------------------------------


@pytest.mark.parametrize("cut", range(1, len(START + DELTA)))
def test_a_split_anywhere_yields_the_same_frames_completed_in_the_right_chunk(cut: int) -> None:
    data = START + DELTA
    decoded = decode_frames([data[:cut], data[cut:]])
    expected_first = 0 if cut >= len(START) else 1
    assert kinds(decoded) == [(expected_first, "event", "messageStart"), (1, "event", "contentBlockDelta")]
    assert decoded.corrupt is None and decoded.incomplete_bytes == 0


def test_one_byte_chunks_tag_each_frame_with_its_last_byte() -> None:
    data = b"".join(STREAM)
    decoded = decode_frames([bytes([byte]) for byte in data])
    ends = [len(START) - 1, len(START + DELTA) - 1, len(data) - 1]
    assert [frame.index for frame in decoded.frames] == ends
    assert [frame.payload for frame in decoded.frames] == [frame.payload for frame in decode_frames(STREAM).frames]


def test_a_large_coalesced_chunk_decodes_every_frame() -> None:
    # Far more than one feed piece: frames straddle the pieces the decoder feeds botocore.
    frames = [es.chunk({"type": "content_block_delta", "delta": {"text": f"piece {n} " * 20}}) for n in range(400)]
    decoded = decode_frames([b"".join(frames), STOP])
    assert len(decoded.frames) == 401
    assert {frame.index for frame in decoded.frames[:400]} == {0} and decoded.frames[400].index == 1
    assert decoded.corrupt is None and decoded.incomplete_bytes == 0


def test_a_stream_cut_mid_frame_reports_the_leftover_not_corruption() -> None:
    decoded = decode_frames([START, DELTA[:-5]])
    assert kinds(decoded) == [(0, "event", "messageStart")]
    assert decoded.corrupt is None
    assert decoded.incomplete_bytes == len(DELTA) - 5


def test_a_cut_inside_the_prelude_counts_as_leftover_too() -> None:
    decoded = decode_frames([START, DELTA[:7]])
    assert decoded.incomplete_bytes == 7 and decoded.corrupt is None


# --- corruption never raises ----------------------------------------------------------------


@pytest.mark.parametrize("position", [0, 5, 9, 14, 30, len(DELTA) - 10, len(DELTA) - 1])
def test_a_flipped_byte_stops_decoding_and_says_so(position: int) -> None:
    damaged = bytearray(DELTA)
    damaged[position] ^= 0x40
    decoded = decode_frames([START, bytes(damaged), STOP])
    assert kinds(decoded) == [(0, "event", "messageStart")]
    assert decoded.corrupt is not None and decoded.corrupt_chunk == 1


def test_a_payload_flip_is_reported_as_a_checksum_mismatch() -> None:
    damaged = bytearray(STOP)
    damaged[-8] ^= 0x01
    decoded = decode_frames([START, bytes(damaged)])
    assert decoded.corrupt is not None and decoded.corrupt.startswith("ChecksumMismatch")


def test_garbage_is_corrupt() -> None:
    decoded = decode_frames([b"this is not an event stream at all, just text"])
    assert decoded.frames == [] and decoded.corrupt is not None and decoded.corrupt_chunk == 0


def test_a_bare_prelude_that_botocore_accepts_is_still_corrupt() -> None:
    decoded = decode_frames([START, bare_prelude(12), STOP])
    assert kinds(decoded) == [(0, "event", "messageStart")]
    assert decoded.corrupt == "impossible frame lengths" and decoded.corrupt_chunk == 1


def test_a_zero_length_prelude_is_corrupt_not_an_exception() -> None:
    decoded = decode_frames([bare_prelude(0) + b"\x00" * 8])
    assert decoded.corrupt is not None and decoded.frames == []


def test_an_unknown_header_type_is_corrupt_not_an_exception() -> None:
    decoded = decode_frames([raw_frame(header(":event-type", 42, b"xx"), b"{}")])
    assert decoded.corrupt is not None and decoded.corrupt.startswith("KeyError")


def test_a_header_name_that_is_not_utf8_is_corrupt_not_an_exception() -> None:
    bad_name = struct.pack("!B", 2) + b"\xff\xfe" + b"\x07" + struct.pack("!H", 1) + b"x"
    decoded = decode_frames([raw_frame(bad_name, b"{}")])
    assert decoded.corrupt is not None and decoded.corrupt.startswith("UnicodeDecodeError")


def test_an_oversized_declared_payload_is_corrupt() -> None:
    decoded = decode_frames([bare_prelude(64 * 1024 * 1024)])
    assert decoded.corrupt is not None and decoded.corrupt.startswith("InvalidPayloadLength")
