"""The YAML config file as written: parsed, its `${ENV}` references filled in, and the wording
of validation errors, which name the dotted path of each field at fault."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from glassgate.errors import ConfigError

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate_env(value: Any, environ: Mapping[str, str]) -> Any:
    """Replace `${NAME}` and `${NAME:-default}` in every string of a parsed YAML tree."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = environ.get(name)
            if default is not None and not value:
                return default  # as in the shell: `:-` also replaces an empty value
            if value is not None:
                return value
            raise ConfigError(f"config refers to ${{{name}}}, which is not set in the environment")

        return _ENV_REFERENCE.sub(substitute, value)
    if isinstance(value, list):
        return [interpolate_env(item, environ) for item in value]
    if isinstance(value, dict):
        return {key: interpolate_env(item, environ) for key, item in value.items()}
    return value


def read_config_file(path: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """Parse the YAML file and interpolate `${ENV}` references."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must be a mapping at the top level")
    result: dict[str, Any] = interpolate_env(raw, environ)
    return result


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, each starting with the dotted field path."""
    lines = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem["loc"] if part not in ("function-after",))
        lines.append(f"{location or '(top level)'}: {problem['msg']}")
    return "invalid configuration:\n  " + "\n  ".join(lines)
