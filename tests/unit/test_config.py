"""Unit tests for `glassgate.config`: YAML, `${ENV}` interpolation, `GLASSGATE_*` overrides, validation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from glassgate.config import (
    RESERVED_SEGMENTS,
    AzureServicePrincipalAuth,
    PassthroughAuth,
    StaticKeyAuth,
    load_settings,
)
from glassgate.config_files import interpolate_env, read_config_file
from glassgate.errors import ConfigError, GlassgateError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No GLASSGATE_* variable from the outside, and a working directory without glassgate.yaml."""
    for name in list(os.environ):
        if name.upper().startswith("GLASSGATE"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write_config(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path | None = None, **overrides: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(path, **overrides)
    return str(info.value)


# --- defaults and file discovery -------------------------------------------------------------


def test_defaults_without_any_config() -> None:
    settings = load_settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 4000
    assert settings.database_url is None
    assert settings.admin_token is None
    assert sorted(settings.upstreams) == ["anthropic", "openai"]
    assert settings.upstreams["openai"].url == "https://api.openai.com"
    assert settings.upstreams["anthropic"].url == "https://api.anthropic.com"
    assert isinstance(settings.upstreams["openai"].auth, PassthroughAuth)
    assert settings.proxy.max_body_bytes == 32 * 1024 * 1024
    assert settings.tracing.queue_size == 10_000


def test_config_file_in_working_directory_is_used(tmp_path: Path) -> None:
    write_config(tmp_path, "port: 4321\n", name="glassgate.yaml")
    assert load_settings().port == 4321


def test_glassgate_config_variable_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path, "port: 4500\n", name="elsewhere.yaml")
    write_config(tmp_path, "port: 4321\n", name="glassgate.yaml")
    monkeypatch.setenv("GLASSGATE_CONFIG", str(path))
    assert load_settings().port == 4500


def test_explicit_path_beats_glassgate_config_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = write_config(tmp_path, "port: 4600\n", name="explicit.yaml")
    monkeypatch.setenv("GLASSGATE_CONFIG", str(write_config(tmp_path, "port: 4500\n", name="env.yaml")))
    assert load_settings(explicit).port == 4600


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, ""))
    assert settings.port == 4000
    assert sorted(settings.upstreams) == ["anthropic", "openai"]


def test_upstreams_in_file_replace_the_default_upstreams(tmp_path: Path) -> None:
    path = write_config(tmp_path, "upstreams:\n  local:\n    vendor: openai\n    url: http://127.0.0.1:8080/v1/\n")
    settings = load_settings(path)
    assert list(settings.upstreams) == ["local"]
    assert settings.upstreams["local"].url == "http://127.0.0.1:8080/v1"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    message = config_error(tmp_path / "absent.yaml")
    assert "cannot read config file" in message
    assert "absent.yaml" in message


def test_invalid_yaml_is_a_config_error(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, "port: [unclosed\n"))
    assert "is not valid YAML" in message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, "- a\n- b\n"))
    assert "must be a mapping at the top level" in message


def test_config_error_is_a_glassgate_error() -> None:
    assert issubclass(ConfigError, GlassgateError)


# --- ${ENV} interpolation --------------------------------------------------------------------


def test_interpolates_variables_inside_strings() -> None:
    environ = {"HOST": "proxy.local", "PORT": "8443"}
    assert interpolate_env("https://${HOST}:${PORT}/v1", environ) == "https://proxy.local:8443/v1"


def test_interpolation_default_used_when_unset() -> None:
    assert interpolate_env("${REGION:-westeurope}", {}) == "westeurope"


def test_interpolation_variable_beats_default() -> None:
    assert interpolate_env("${REGION:-westeurope}", {"REGION": "eastus"}) == "eastus"


def test_interpolation_empty_default() -> None:
    assert interpolate_env("a${NOTHING:-}b", {}) == "ab"


def test_interpolation_default_used_when_set_but_empty() -> None:
    assert interpolate_env("${REGION:-westeurope}", {"REGION": ""}) == "westeurope"


def test_interpolation_missing_variable_names_it() -> None:
    with pytest.raises(ConfigError, match=r"\$\{AZURE_KEY\}"):
        interpolate_env("${AZURE_KEY}", {})


def test_interpolation_walks_lists_and_mappings_and_leaves_other_values() -> None:
    tree = {"a": ["${X}", {"b": "${Y:-y}"}], "n": 3, "flag": True, "none": None}
    assert interpolate_env(tree, {"X": "x"}) == {"a": ["x", {"b": "y"}], "n": 3, "flag": True, "none": None}


@pytest.mark.parametrize("text", ["$X", "${1X}", "${X-y}", "$${}", "{X}"])
def test_interpolation_ignores_what_is_not_a_reference(text: str) -> None:
    assert interpolate_env(text, {"X": "replaced"}) == text


def test_interpolation_value_is_not_interpolated_again() -> None:
    assert interpolate_env("${A}", {"A": "${B}", "B": "no"}) == "${B}"


def test_read_config_file_interpolates(tmp_path: Path) -> None:
    path = write_config(tmp_path, "host: ${BIND:-0.0.0.0}\nadmin_token: ${TOKEN}\n")
    assert read_config_file(path, {"TOKEN": "t0k"}) == {"host": "0.0.0.0", "admin_token": "t0k"}


def test_yaml_interpolated_secret_and_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZ_KEY", "azure-secret")
    monkeypatch.setenv("PORT", "4100")
    path = write_config(
        tmp_path,
        "port: ${PORT}\n"
        "upstreams:\n"
        "  azure:\n"
        "    vendor: azure\n"
        "    url: https://res.openai.azure.com/\n"
        "    auth: {type: static, key: '${AZ_KEY}'}\n",
    )
    settings = load_settings(path)
    assert settings.port == 4100
    auth = settings.upstreams["azure"].auth
    assert isinstance(auth, StaticKeyAuth)
    assert auth.key.get_secret_value() == "azure-secret"
    assert "azure-secret" not in repr(settings)


def test_load_settings_reports_unset_variable(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, "admin_token: ${GG_UNIT_TEST_UNSET_TOKEN}\n"))
    assert "${GG_UNIT_TEST_UNSET_TOKEN}" in message


# --- GLASSGATE_* environment overrides -------------------------------------------------------


def test_environment_beats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLASSGATE_PORT", "4555")
    assert load_settings(write_config(tmp_path, "port: 4321\nhost: 0.0.0.0\n")).port == 4555


def test_environment_keeps_other_file_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLASSGATE_PORT", "4555")
    assert load_settings(write_config(tmp_path, "port: 4321\nhost: 0.0.0.0\n")).host == "0.0.0.0"


def test_nested_environment_override_of_one_upstream_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLASSGATE_UPSTREAMS__AZURE__URL", "https://other.openai.azure.com/")
    path = write_config(
        tmp_path,
        "upstreams:\n  azure:\n    vendor: azure\n    url: https://res.openai.azure.com\n"
        "    auth: {type: static, key: k}\n",
    )
    azure = load_settings(path).upstreams["azure"]
    assert azure.url == "https://other.openai.azure.com"
    assert azure.vendor == "azure"
    assert isinstance(azure.auth, StaticKeyAuth)


def test_nested_environment_override_of_a_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLASSGATE_PROXY__MAX_BODY_BYTES", "1024")
    monkeypatch.setenv("GLASSGATE_TRACING__BATCH_SIZE", "7")
    settings = load_settings()
    assert settings.proxy.max_body_bytes == 1024
    assert settings.proxy.connect_timeout_s == 10.0
    assert settings.tracing.batch_size == 7


def test_environment_upstream_adds_to_file_upstreams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLASSGATE_UPSTREAMS__EXTRA__VENDOR", "openai")
    settings = load_settings(write_config(tmp_path, "upstreams:\n  local:\n    vendor: openai\n    url: http://h:1\n"))
    assert sorted(settings.upstreams) == ["extra", "local"]
    assert settings.upstreams["extra"].url == "https://api.openai.com"


def test_environment_upstreams_suppress_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLASSGATE_UPSTREAMS__MINE__VENDOR", "anthropic")
    assert list(load_settings().upstreams) == ["mine"]


def test_lower_case_environment_upstreams_also_suppress_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("glassgate_upstreams__mine__vendor", "anthropic")
    assert list(load_settings().upstreams) == ["mine"]


def test_environment_value_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLASSGATE_PORT", "not-a-port")
    message = config_error()
    assert "port:" in message
    assert "valid integer" in message


def test_keyword_overrides_beat_the_file(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, "port: 4321\nhost: 0.0.0.0\n"), port=9000, host=None)
    assert settings.port == 9000
    assert settings.host == "0.0.0.0"  # a None override means "not given"


# --- validation messages name the field -------------------------------------------------------


def test_error_names_top_level_field(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, "port: 70000\n"))
    assert message.startswith("invalid configuration:")
    assert "\n  port: " in message


def test_error_names_nested_field(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, "proxy:\n  max_body_bytes: 0\n"))
    assert "proxy.max_body_bytes:" in message
    assert "greater than 0" in message


def test_error_lists_every_problem(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, "port: -1\ntracing:\n  batch_size: 0\n"))
    assert "port:" in message
    assert "tracing.batch_size:" in message


def test_unknown_top_level_key_is_rejected(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, "prot: 4000\n"))
    assert "prot: Extra inputs are not permitted" in message


def test_unknown_upstream_field_is_rejected(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, "upstreams:\n  x:\n    vendor: openai\n    ulr: http://h\n"))
    assert "upstreams.x.ulr:" in message


def test_unknown_vendor_is_rejected(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, "upstreams:\n  x:\n    vendor: cohere\n"))
    assert "upstreams.x.vendor:" in message


def test_static_auth_requires_a_key(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, "upstreams:\n  x:\n    vendor: openai\n    auth: {type: static}\n"))
    assert "upstreams.x.auth.static.key:" in message
    assert "Field required" in message


def test_azure_requires_a_url(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, "upstreams:\n  az:\n    vendor: azure\n"))
    assert "upstreams.az" in message
    assert "url is required for vendor 'azure'" in message


def test_stream_usage_injection_is_off_by_default_and_for_openai_or_azure_only(tmp_path: Path) -> None:
    text = (
        "upstreams:\n  o: {vendor: openai}\n  p: {vendor: openai, inject_stream_usage: true}\n"
        "  az: {vendor: azure, url: https://r.openai.azure.com, inject_stream_usage: true}\n"
    )
    upstreams = load_settings(write_config(tmp_path, text)).upstreams
    assert [upstreams[name].inject_stream_usage for name in ("o", "p", "az")] == [False, True, True]


@pytest.mark.parametrize(
    "upstream",
    [{"vendor": "anthropic"}, {"vendor": "bedrock", "region": "us-east-1"}],
)
def test_stream_usage_injection_is_refused_for_other_vendors(upstream: dict[str, Any]) -> None:
    message = config_error(upstreams={"x": {**upstream, "inject_stream_usage": True}})
    assert "upstreams.x:" in message
    assert "inject_stream_usage is only for vendors 'openai' and 'azure'" in message


def test_service_principal_auth_defaults(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "upstreams:\n  az:\n    vendor: azure\n    url: https://r.openai.azure.com\n"
        "    auth: {type: azure_service_principal, tenant_id: t, client_id: c, client_secret: s}\n",
    )
    auth = load_settings(path).upstreams["az"].auth
    assert isinstance(auth, AzureServicePrincipalAuth)
    assert auth.authority_host == "https://login.microsoftonline.com"
    assert auth.scope == "https://cognitiveservices.azure.com/.default"
    assert auth.client_secret == SecretStr("s")


@pytest.mark.parametrize("name", sorted(RESERVED_SEGMENTS - {"favicon.ico"}))
def test_reserved_upstream_names_are_rejected(name: str) -> None:
    message = config_error(upstreams={name: {"vendor": "openai"}})
    assert f"upstream name {name!r} is reserved" in message
    assert message.count("\n  upstreams") == 1


@pytest.mark.parametrize("name", ["OpenAI", "-lead", "_lead", "has space", "dot.ted", "a" * 64, ""])
def test_invalid_upstream_names_are_rejected(name: str) -> None:
    message = config_error(upstreams={name: {"vendor": "openai"}})
    assert "must be lower-case letters, digits" in message


@pytest.mark.parametrize("name", ["a", "0", "my-azure_2", "a" * 63])
def test_valid_upstream_names(name: str) -> None:
    assert list(load_settings(upstreams={name: {"vendor": "openai"}}).upstreams) == [name]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com", "absolute http(s) URL"),
        ("example.com/v1", "absolute http(s) URL"),
        ("/relative/path", "absolute http(s) URL"),
        ("http://", "absolute http(s) URL"),
        ("https://user:pw@example.com", "credentials, a query or a fragment"),
        ("https://example.com/v1?api-version=1", "credentials, a query or a fragment"),
        ("https://example.com/v1#frag", "credentials, a query or a fragment"),
    ],
)
def test_invalid_upstream_urls_are_rejected(url: str, problem: str) -> None:
    message = config_error(upstreams={"x": {"vendor": "openai", "url": url}})
    assert "upstreams.x:" in message
    assert problem in message


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://example.com/", "https://example.com"),
        ("http://127.0.0.1:8080/base//", "http://127.0.0.1:8080/base"),
        ("https://res.openai.azure.com", "https://res.openai.azure.com"),
    ],
)
def test_valid_upstream_urls_lose_trailing_slashes(url: str, stored: str) -> None:
    assert load_settings(upstreams={"x": {"vendor": "openai", "url": url}}).upstreams["x"].url == stored


@pytest.mark.parametrize("url", ["postgresql://u@h/db", "postgres://h/db"])
def test_database_url_accepts_postgres_schemes(url: str) -> None:
    assert load_settings(database_url=url).database_url == url


def test_database_url_rejects_other_schemes() -> None:
    message = config_error(database_url="mysql://h/db")
    assert "database_url:" in message
    assert "must start with postgresql://" in message


def test_settings_are_frozen() -> None:
    settings = load_settings()
    for target, field, value in ((settings, "port", 1), (settings.upstreams["openai"], "url", "https://evil.example")):
        with pytest.raises(ValidationError, match="frozen"):
            setattr(target, field, value)
    assert settings.port == 4000
    assert settings.upstreams["openai"].url == "https://api.openai.com"


def test_command_line_flags_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLASSGATE_PORT", "5000")
    monkeypatch.setenv("GLASSGATE_HOST", "0.0.0.0")
    settings = load_settings(port=4100)
    assert (settings.port, settings.host) == (4100, "0.0.0.0")


def test_command_line_flags_are_validated() -> None:
    with pytest.raises(ConfigError, match="port: Input should be less than or equal to 65535"):
        load_settings(port=70000)
