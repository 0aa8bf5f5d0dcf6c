"""What every scenario shares: the options it runs with, its progress lines, how it rounds numbers."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    rate: float = 40.0  # calls per second, open loop
    clients: int = 4  # HTTP clients (each its own connection pool) the calls are spread over
    outage_s: float = 30.0  # how long the database is unavailable (stopped or frozen)
    warmup_s: float = 5.0
    recovery_s: float = 10.0  # load after the database is back
    drain_timeout_s: float = 60.0  # longest wait for the spans once the load stops
    keep_workdir: bool = False


def progress(message: str) -> None:
    """Progress goes to stderr; stdout holds only the report."""
    sys.stderr.write(f"[faults {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def rounded(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None
