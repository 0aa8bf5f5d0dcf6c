"""The SIGTERM sequence of `glassgate serve`: readiness off at once, the server's drain after the delay."""

from __future__ import annotations

import signal
import time
from typing import Any

import uvicorn

from glassgate.cli.drain import DrainingServer


class App:
    def __init__(self) -> None:
        self.draining = False

    def begin_drain(self) -> None:
        self.draining = True

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("never served here")


def server(delay_s: float) -> tuple[DrainingServer, App]:
    app = App()
    return DrainingServer(uvicorn.Config(app), app, delay_s), app


def test_sigterm_turns_readiness_off_at_once_and_stops_the_server_after_the_delay() -> None:
    draining, app = server(0.3)
    draining.handle_exit(signal.SIGTERM, None)
    assert app.draining and not draining.should_exit
    time.sleep(0.6)
    assert draining.should_exit and not draining.force_exit


def test_a_second_sigterm_skips_the_rest_of_the_delay() -> None:
    draining, app = server(60)
    draining.handle_exit(signal.SIGTERM, None)
    assert not draining.should_exit
    draining.handle_exit(signal.SIGTERM, None)
    assert draining.should_exit and app.draining


def test_sigint_stops_at_once() -> None:
    draining, app = server(60)
    draining.handle_exit(signal.SIGINT, None)
    assert draining.should_exit and app.draining


def test_without_a_delay_sigterm_stops_at_once() -> None:
    draining, app = server(0)
    draining.handle_exit(signal.SIGTERM, None)
    assert draining.should_exit and app.draining
