"""What `glassgate serve` hands the server, from the `server:` settings and the flags that beat them.

The database, the app and the server itself are swapped out (`_prepared`, `create_app`,
`drain.run`): a real server started this way is tested in tests/e2e/test_health_and_shutdown.py.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from glassgate import app as app_module
from glassgate import gc_policy
from glassgate.cli import drain, main
from glassgate.config import Settings


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """The options `serve` would start the server with, and the level it would log at."""
    for name in list(os.environ):
        if name.upper().startswith("GLASSGATE"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    options: dict[str, Any] = {}

    def prepared(settings: Settings, *, migrate: bool = True) -> Settings:
        return settings.model_copy(update={"database_url": "postgresql://unused/db", "admin_token": "t"})

    def run(application: Any, **given: Any) -> None:
        options.update(given)

    def basic_config(**given: Any) -> None:
        options["logging_level"] = given["level"]

    monkeypatch.setattr(main, "_prepared", prepared)
    monkeypatch.setattr(main, "resolve_admin_token", lambda settings: ("t", False))
    monkeypatch.setattr(app_module, "create_app", lambda settings: object())
    monkeypatch.setattr(drain, "run", run)
    monkeypatch.setattr(gc_policy, "settle", lambda: None)  # no gc.freeze in the test process
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # the test process keeps its handlers
    monkeypatch.setattr(logging, "basicConfig", basic_config)
    return options


def serve(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main.app, ["serve", *args], env={"COLUMNS": "200", **(env or {})})
    return result.exit_code, result.output


def test_without_settings_the_server_gets_the_defaults(started: dict[str, Any]) -> None:
    assert serve()[0] == 0
    assert started["shutdown_delay_s"] == 0.0
    assert (started["http"].head_timeout_s, started["http"].body_timeout_s) == (10.0, 60.0)
    assert (started["timeout_keep_alive"], started["timeout_graceful_shutdown"]) == (65, 30)
    assert (started["log_level"], started["logging_level"]) == ("info", "INFO")


def test_the_server_section_of_the_environment_reaches_the_server(started: dict[str, Any]) -> None:
    env = {
        "GLASSGATE_SERVER__SHUTDOWN_DELAY_S": "15",
        "GLASSGATE_SERVER__HEADER_TIMEOUT_S": "3",
        "GLASSGATE_SERVER__BODY_TIMEOUT_S": "20",
        "GLASSGATE_SERVER__KEEP_ALIVE_S": "905",
        "GLASSGATE_SERVER__GRACEFUL_SHUTDOWN_S": "45",
        "GLASSGATE_SERVER__LOG_LEVEL": "WARNING",
    }
    assert serve(env=env)[0] == 0
    assert started["shutdown_delay_s"] == 15.0
    assert (started["http"].head_timeout_s, started["http"].body_timeout_s) == (3.0, 20.0)
    assert (started["timeout_keep_alive"], started["timeout_graceful_shutdown"]) == (905, 45)
    assert (started["log_level"], started["logging_level"]) == ("warning", "WARNING")


def test_flags_beat_the_config_file_and_the_environment(started: dict[str, Any], tmp_path: Path) -> None:
    config = tmp_path / "glassgate.yaml"
    config.write_text("server:\n  header_timeout_s: 4\n  body_timeout_s: 30\n  keep_alive_s: 120\n")
    env = {"GLASSGATE_SERVER__SHUTDOWN_DELAY_S": "15", "GLASSGATE_SERVER__LOG_LEVEL": "error"}
    flags = ["--shutdown-delay", "2", "--header-timeout", "1", "--log-level", "debug"]
    assert serve("--config", str(config), *flags, env=env)[0] == 0
    assert (started["shutdown_delay_s"], started["log_level"]) == (2.0, "debug")
    assert started["http"].head_timeout_s == 1.0
    assert started["http"].body_timeout_s == 30.0, "no flag: the file's value"
    assert started["timeout_keep_alive"] == 120


@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [
        ("--shutdown-delay", "-1", "server.shutdown_delay_s"),
        ("--header-timeout", "0", "server.header_timeout_s"),
        ("--log-level", "loud", "server.log_level"),
    ],
)
def test_a_flag_out_of_bounds_stops_serve_naming_the_field(
    started: dict[str, Any], flag: str, value: str, field: str
) -> None:
    code, output = serve(flag, value)
    assert code == 2 and f"{field}:" in output, output
    assert started == {}, "nothing was started"
