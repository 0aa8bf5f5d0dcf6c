import os
import subprocess
import sys
import textwrap

from glassgate import malloc_policy

# A child process (this one has threads and arenas already): four threads allocate, then
# glibc's malloc_info reports one <heap> element per arena.
_COUNT_ARENAS = textwrap.dedent(
    """
    import ctypes, sys, tempfile, threading
    from glassgate import malloc_policy
    if sys.argv[1] == "limited":
        assert malloc_policy.limit_arenas({})
    held = []
    def allocate():
        held.extend(bytearray(4096) for _ in range(200))
    threads = [threading.Thread(target=allocate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    libc = ctypes.CDLL(None)
    libc.fopen.restype = ctypes.c_void_p
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    with tempfile.NamedTemporaryFile() as report:
        stream = libc.fopen(report.name.encode(), b"w")
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        print(open(report.name).read().count("<heap nr="))
    """
)


def _arenas(mode: str) -> int:
    environ = {name: value for name, value in os.environ.items() if name != "MALLOC_ARENA_MAX"}
    argv = [sys.executable, "-c", _COUNT_ARENAS, mode]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, env=environ)
    return int(done.stdout)


def test_threads_share_one_arena_once_limited() -> None:
    assert _arenas("default") > 1  # glibc's own behaviour: the limit below is what changes it
    assert _arenas("limited") == malloc_policy.ARENAS == 1


def test_an_operators_own_setting_wins() -> None:
    assert malloc_policy.limit_arenas({"MALLOC_ARENA_MAX": "4"}) is False
