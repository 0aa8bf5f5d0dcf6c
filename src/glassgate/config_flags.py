"""Command-line values laid over settings already built from the file and the environment.

A flag beats everything, the environment included, so it cannot simply be passed to `Settings`
with the file's values (pydantic-settings would let `GLASSGATE_*` win again). Each flag is
validated alone against its field's type and constraints, and the frozen object copied with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from glassgate.errors import ConfigError

SettingsT = TypeVar("SettingsT", bound=BaseModel)


def validate_flag(model: type[BaseModel], path: str, value: Any) -> Any:
    """`value` checked against the field at `path` (`port`, or `server.shutdown_delay_s` in a section)."""
    *sections, name = path.split(".")
    for section in sections:
        model = model.model_fields[section].annotation  # type: ignore[assignment]  # a section is a model
    field = model.model_fields[name]
    try:
        # The field's type with its own constraints (ge/le, validators), built at run time.
        field_type: Any = Annotated[field.annotation, field]
        return TypeAdapter[Any](field_type).validate_python(value)
    except ValidationError as exc:
        problems = "\n  ".join(f"{path}: {problem['msg']}" for problem in exc.errors())
        raise ConfigError(f"invalid configuration:\n  {problems}") from None


def with_flags(settings: SettingsT, flags: Mapping[str, Any]) -> SettingsT:
    """`settings` with the flags given (dotted paths, at most one section deep); a None value is a flag not given."""
    top: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {}
    for path, value in flags.items():
        if value is None:
            continue
        section, _, name = path.rpartition(".")
        (sections.setdefault(section, {}) if section else top)[name] = validate_flag(type(settings), path, value)
    for section, values in sections.items():
        top[section] = getattr(settings, section).model_copy(update=values)
    return settings.model_copy(update=top)
