"""The `server:` section (`glassgate.server_settings`) and the command-line flags laid over it (`config_flags`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from glassgate.config import Settings, load_settings
from glassgate.errors import ConfigError
from glassgate.server_settings import ServerSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No GLASSGATE_* variable from the outside, and a working directory without glassgate.yaml."""
    for name in list(os.environ):
        if name.upper().startswith("GLASSGATE"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "glassgate.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path | None = None, **overrides: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(path, **overrides)
    return str(info.value)


def test_defaults_are_the_servers_former_constants() -> None:
    server = load_settings().server
    assert server == ServerSettings()
    assert (server.header_timeout_s, server.body_timeout_s) == (10.0, 60.0)
    assert server.keep_alive_s == 65, "above nginx's 60 s upstream keepalive and an ALB's default 60 s"
    assert (server.shutdown_delay_s, server.graceful_shutdown_s) == (0.0, 30)
    assert server.log_level == "info"


def test_every_field_is_documented() -> None:
    assert Settings.model_fields["server"].description
    undocumented = [name for name, field in ServerSettings.model_fields.items() if not field.description]
    assert undocumented == []


def test_the_file_sets_the_section_and_leaves_the_rest_at_defaults(tmp_path: Path) -> None:
    server = load_settings(config_file(tmp_path, "server:\n  keep_alive_s: 905\n  log_level: warning\n")).server
    assert (server.keep_alive_s, server.log_level) == (905, "warning")
    assert server.graceful_shutdown_s == 30


def test_environment_overrides_one_field_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLASSGATE_SERVER__SHUTDOWN_DELAY_S", "15")
    monkeypatch.setenv("GLASSGATE_SERVER__LOG_LEVEL", "DEBUG")  # as operators write it
    server = load_settings(config_file(tmp_path, "server:\n  shutdown_delay_s: 5\n  keep_alive_s: 905\n")).server
    assert (server.shutdown_delay_s, server.log_level) == (15.0, "debug")
    assert server.keep_alive_s == 905, "the file's other fields stay"


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("SHUTDOWN_DELAY_S", "-1", "server.shutdown_delay_s: Input should be greater than or equal to 0"),
        ("SHUTDOWN_DELAY_S", "15000", "server.shutdown_delay_s: Input should be less than or equal to 3600"),
        ("HEADER_TIMEOUT_S", "0", "server.header_timeout_s: Input should be greater than or equal to 0.1"),
        ("BODY_TIMEOUT_S", "0.01", "server.body_timeout_s: Input should be greater than or equal to 0.1"),
        ("KEEP_ALIVE_S", "0", "server.keep_alive_s: Input should be greater than or equal to 1"),
        ("KEEP_ALIVE_S", "65.5", "server.keep_alive_s: Input should be a valid integer"),
        ("GRACEFUL_SHUTDOWN_S", "-5", "server.graceful_shutdown_s: Input should be greater than or equal to 0"),
        ("LOG_LEVEL", "loud", "server.log_level: Input should be 'critical', 'error', 'warning', 'info' or 'debug'"),
    ],
)
def test_out_of_bounds_values_are_refused_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(f"GLASSGATE_SERVER__{variable}", value)
    assert problem in config_error()


def test_an_unknown_field_in_the_section_is_refused(tmp_path: Path) -> None:
    assert "server.shutdown_delay:" in config_error(config_file(tmp_path, "server:\n  shutdown_delay: 5\n"))


def test_command_line_flags_beat_the_environment_and_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLASSGATE_SERVER__SHUTDOWN_DELAY_S", "15")
    monkeypatch.setenv("GLASSGATE_PORT", "5000")
    path = config_file(tmp_path, "server:\n  header_timeout_s: 3\n  log_level: error\n")
    settings = load_settings(path, port=4100, server={"shutdown_delay_s": 2, "log_level": "DEBUG"})
    server = settings.server
    assert (server.shutdown_delay_s, server.log_level) == (2.0, "debug")
    assert server.header_timeout_s == 3.0, "a field without a flag keeps the config's value"
    assert settings.port == 4100


def test_a_flag_not_given_leaves_the_config_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLASSGATE_SERVER__SHUTDOWN_DELAY_S", "15")
    assert load_settings(server={"shutdown_delay_s": None}).server.shutdown_delay_s == 15.0


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        ({"shutdown_delay_s": -1}, "server.shutdown_delay_s: Input should be greater than or equal to 0"),
        ({"header_timeout_s": 0.05}, "server.header_timeout_s: Input should be greater than or equal to 0.1"),
        ({"log_level": "verbose"}, "server.log_level: Input should be"),
    ],
)
def test_command_line_flags_are_validated_against_the_field(flags: dict[str, Any], problem: str) -> None:
    assert problem in config_error(server=flags)


def test_the_section_is_frozen() -> None:
    server = load_settings(server={"shutdown_delay_s": 1}).server
    with pytest.raises(ValueError, match="frozen"):
        server.shutdown_delay_s = 2  # type: ignore[misc]
