"""Read a callgrind profile: the instructions it counted, in all and by shared object.

Only what `bench.instructions` needs, straight from the file (callgrind_annotate prints by
function, and its inclusive view of an interpreter is one call tree deep in `_PyEval_*`).
The format (valgrind's "Callgrind Format Specification"): `ob=`/`fn=` lines name the object
and function that the cost lines after them belong to, `(id)` compresses a name given once;
a `calls=` line says that the cost line after it is a call's inclusive cost, which belongs to
the callee and is counted there already; the `summary:` line holds the total.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_NAMED = re.compile(r"\((\d+)\)(?: (.*))?")


@dataclass(frozen=True)
class Profile:
    instructions: int
    by_object: Counter[str]  # self instructions of each shared object (libpython, uvloop, …)

    def shares(self) -> list[tuple[str, float]]:
        """Each object's part of the self instructions, largest first."""
        counted = sum(self.by_object.values()) or 1
        return [(name, cost / counted) for name, cost in self.by_object.most_common()]


def read_profile(path: Path) -> Profile:
    total: int | None = None
    by_object: Counter[str] = Counter()
    names: dict[str, str] = {}
    current = "?"
    callee_cost_next = False
    with path.open() as lines:
        for line in lines:
            if line[:1].isdigit() or line[:1] in "+-*":
                if callee_cost_next:
                    callee_cost_next = False
                else:
                    fields = line.split()
                    if len(fields) > 1:
                        by_object[current] += int(fields[1])
            elif line.startswith("ob="):
                current = _resolve(line[3:].strip(), names)
            elif line.startswith("cob="):
                _resolve(line[4:].strip(), names)  # may name an object first; the costs stay the caller's
            elif line.startswith("calls="):
                callee_cost_next = True
            elif line.startswith("summary:") or (line.startswith("totals:") and total is None):
                # What callgrind_annotate reports. `totals:` (the sum of the cost lines) can be
                # larger, by the calls still on the stack when the counters were zeroed.
                total = int(line.split(":", 1)[1].split()[0])
    if total is None:
        raise ValueError(f"{path} has no summary line: not a complete callgrind profile")
    return Profile(total, by_object)


def _resolve(text: str, names: dict[str, str]) -> str:
    """`(3) /usr/lib/x.so` names object 3; a later `(3)` means the same one."""
    match = _NAMED.fullmatch(text)
    if match is None:
        return text
    number, name = match.groups()
    if name is not None:
        names[number] = name
    return names.get(number, text)
