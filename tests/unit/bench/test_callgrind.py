"""bench.callgrind reads what valgrind's callgrind writes: the total, and self instructions by object."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.callgrind import read_profile

# The shape callgrind writes (name compression on, one event): costs after ob=/fn= are that
# function's own; the cost line after calls= is the call's inclusive cost, the callee's.
PROFILE = """\
version: 1
creator: callgrind-3.19.0
pid: 4242
cmd:  python glassgate serve
part: 1

positions: line
events: Ir
summary: 1000

ob=(1) /usr/lib/libpython3.11.so.1.0
fl=(1) ceval.c
fn=(1) _PyEval_EvalFrameDefault
10 600
cob=(2) /venv/zstandard/backend_c.so
cfi=(2) compress.c
cfn=(2) ZSTD_compress
calls=3 20
11 250
+2 50
ob=(2)
fl=(2)
fn=(2)
20 200
*  50
ob=(1)
fn=(1)
30 100

totals: 1250
"""


def test_the_total_is_the_summary_and_call_costs_count_once(tmp_path: Path) -> None:
    path = tmp_path / "callgrind.out.1"
    path.write_text(PROFILE)
    profile = read_profile(path)
    assert profile.instructions == 1000
    assert dict(profile.by_object) == {
        "/usr/lib/libpython3.11.so.1.0": 600 + 50 + 100,  # not the 250 of the call into zstd
        "/venv/zstandard/backend_c.so": 250,  # named first on the cob= line
    }
    assert profile.shares() == [("/usr/lib/libpython3.11.so.1.0", 0.75), ("/venv/zstandard/backend_c.so", 0.25)]


def test_a_profile_without_its_summary_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "callgrind.out.1"
    path.write_text(PROFILE.replace("summary: 1000\n", "").replace("totals: 1250\n", ""))
    with pytest.raises(ValueError, match="no summary line"):
        read_profile(path)
