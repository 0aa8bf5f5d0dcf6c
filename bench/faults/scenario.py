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
    fault_s: float = 30.0  # `upstream`: how long faulty calls are mixed in
    loris: int = 1000  # `slowloris`: slow clients, half dribbling a head, half a body
    header_timeout_s: float = 10.0  # `slowloris`: glassgate serve --header-timeout (its default)
    body_timeout_s: float = 60.0  # `slowloris`: glassgate serve --body-timeout (its default)
    streams: int = 1000  # `streams`: streams open at once
    stream_s: float = 10.0  # `streams`: how long each one lasts
    soak_minutes: float = 10.0  # `soak`: how long the measured part lasts
    soak_sample_s: float = 5.0  # `soak`: RSS sampled this often
    keep_workdir: bool = False


def progress(message: str) -> None:
    """Progress goes to stderr; stdout holds only the report."""
    sys.stderr.write(f"[faults {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def rounded(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None
