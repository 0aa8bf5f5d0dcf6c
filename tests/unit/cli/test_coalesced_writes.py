import asyncio

from glassgate.cli.coalesced_writes import CoalescingTransport


class RecordingTransport(asyncio.Transport):
    """Stands in for the socket's transport: records each write as one send."""

    def __init__(self) -> None:
        super().__init__()
        self.sends: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sends.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0


async def _turn() -> None:
    await asyncio.sleep(0)


async def test_a_head_leaves_with_the_body_that_follows_it_at_once() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert inner.sends == [] and transport.get_write_buffer_size() == 38
    transport.write(b"{}")  # not held for the rest of the turn: the client has its answer now
    assert inner.sends == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    await _turn()
    assert len(inner.sends) == 1


async def test_a_write_nothing_follows_leaves_when_the_turn_ends() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
    await _turn()
    assert inner.sends == [b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n"]


async def test_a_write_in_a_later_turn_is_not_held_back_by_an_earlier_one() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"head")
    await _turn()
    transport.write(b"data: 1\n\n")
    await _turn()
    assert inner.sends == [b"head", b"data: 1\n\n"]


async def test_large_writes_are_not_held_or_copied() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    big = b"x" * (128 * 1024)
    transport.write(big)
    assert inner.sends == [big]
    transport.write(b"head")
    transport.write(big)  # what was held goes first, in order, and the large write is not copied into it
    assert inner.sends == [big, b"head", big]
    assert transport.get_write_buffer_size() == 0


async def test_close_sends_what_was_written_and_abort_discards_it() -> None:
    loop = asyncio.get_running_loop()
    closing, aborting = RecordingTransport(), RecordingTransport()
    transport = CoalescingTransport(closing, loop)
    transport.write(b"last words")
    transport.close()
    assert closing.sends == [b"last words"] and closing.closed
    transport = CoalescingTransport(aborting, loop)
    transport.write(b"unsent")
    transport.abort()
    await _turn()
    assert aborting.sends == [] and aborting.aborted


async def test_everything_else_is_the_wrapped_transports() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    assert transport.is_closing() is False
    inner.closed = True
    transport.write(b"after the peer left")
    await _turn()
    assert transport.is_closing() is True and inner.sends == []
