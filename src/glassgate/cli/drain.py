"""Graceful shutdown for `glassgate serve`: stop looking ready first, then drain.

On SIGTERM:

1. /readyz answers 503 at once (`Glassgate.begin_drain`), while every request is still served,
   for `server.shutdown_delay_s` (settings, or `--shutdown-delay`): long enough for a load
   balancer that polls /readyz (or Kubernetes, whose endpoint removal races the signal) to stop
   sending new requests here.
2. uvicorn's own drain: the listening socket closes (new connections are refused, so a load
   balancer retries them elsewhere), idle keep-alive connections close, calls in flight —
   streams included — run to their end, for up to `server.graceful_shutdown_s`.
3. The lifespan shutdown: the span writer flushes every span it accepted (or spills them
   to disk when the database is down), the exporters flush, then the process exits 0.

A second SIGTERM, or SIGINT (Ctrl-C), skips the rest of the delay.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from types import FrameType
from typing import Any, Protocol

import uvicorn

_STARTUP_FAILURE = 3  # what uvicorn.run exits with when the lifespan startup fails


class Drainable(Protocol):
    def begin_drain(self) -> None:
        """Answer /readyz with 503 from now on (called from a signal handler: set a flag, nothing more)."""
        ...


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: Drainable, shutdown_delay_s: float) -> None:
        super().__init__(config)
        self._app = app
        self._delay = shutdown_delay_s
        self._timer: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Runs as a signal handler: it only sets flags and starts a timer thread.
        self._app.begin_drain()
        if sig == signal.SIGTERM and self._delay > 0 and self._timer is None:
            self._timer = threading.Timer(self._delay, super().handle_exit, (sig, frame))
            self._timer.daemon = True
            self._timer.start()
            return
        if self._timer is not None:
            self._timer.cancel()
        super().handle_exit(sig, frame)


def run(app: Any, *, shutdown_delay_s: float = 0.0, **options: Any) -> None:
    """`uvicorn.run(app, **options)` for the Glassgate app, with the drain above; exits 3 if it cannot start."""
    server = DrainingServer(uvicorn.Config(app, **options), app, shutdown_delay_s)
    with contextlib.suppress(KeyboardInterrupt):  # SIGINT, re-raised by uvicorn once drained
        server.run()
    if not server.started:
        sys.exit(_STARTUP_FAILURE)
