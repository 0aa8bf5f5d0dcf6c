import os
import re

from glassgate.proxy import ids


def test_ids_are_hex_of_the_asked_size_and_do_not_repeat() -> None:
    drawn = [ids.random_hex(8) for _ in range(5000)] + [ids.random_hex(16) for _ in range(5000)]
    assert all(re.fullmatch(r"[0-9a-f]{16}", value) for value in drawn[:5000])
    assert all(re.fullmatch(r"[0-9a-f]{32}", value) for value in drawn[5000:])
    assert len(set(drawn)) == len(drawn)  # spans several refills of the block


def test_a_forked_child_draws_other_ids_than_its_parent() -> None:
    ids.random_hex(8)  # the parent holds a partly used block
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover -- runs in the child
        os.write(writer, ids.random_hex(8).encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    in_child = os.read(reader, 64).decode()
    os.close(reader)
    assert re.fullmatch(r"[0-9a-f]{16}", in_child)
    assert in_child != ids.random_hex(8)
