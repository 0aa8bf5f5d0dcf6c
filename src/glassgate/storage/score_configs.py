"""Score configs: what an annotation can say about a span, and how its value is stored.

Four kinds. `numeric` takes a number, optionally within [min_value, max_value]; `categorical`
takes one of its labels, each mapped to a number (so categories average and filter like
numbers); `boolean` takes true or false, stored as 1/0; `text` takes free text. Every
annotation stores a number (`value_number`, for averages and range filters) and/or a text
(`value_text`: the label, "true"/"false", or the text itself).

A config that annotations or queues use is archived instead of deleted, and its definition
(range, categories) is frozen: stored values keep the meaning they were given. Writers that
depend on a config read it `FOR SHARE`; changing or deleting it takes `FOR UPDATE` first and
only then looks for users, so the check cannot miss a writer that is committing meanwhile.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg
import orjson

from glassgate.storage.annotation_errors import Conflict, Invalid, NotFound

Kind = Literal["numeric", "categorical", "boolean", "text"]
KINDS: tuple[Kind, ...] = ("numeric", "categorical", "boolean", "text")
MAX_NAME_CHARS = 100
MAX_CATEGORIES = 50
MAX_TEXT_CHARS = 10_000
Value = float | bool | str


@dataclass(frozen=True)
class Category:
    label: str
    value: float


@dataclass(frozen=True)
class ScoreConfig:
    config_id: str
    name: str
    kind: Kind
    min_value: float | None
    max_value: float | None
    categories: tuple[Category, ...]
    description: str
    created_at: datetime
    archived_at: datetime | None


def check_name(name: str) -> str:
    stripped = name.strip()
    if not stripped or len(stripped) > MAX_NAME_CHARS:
        raise Invalid("name", f"must be 1 to {MAX_NAME_CHARS} characters")
    return stripped


def check_definition(
    kind: str, min_value: float | None, max_value: float | None, categories: Sequence[Category]
) -> tuple[Category, ...]:
    """The categories to store (labels trimmed); `Invalid` naming the field that breaks a rule."""
    if kind not in KINDS:
        raise Invalid("kind", f"must be one of {', '.join(KINDS)}")
    bounds = {"min_value": min_value, "max_value": max_value}
    for field, bound in bounds.items():
        if bound is not None and kind != "numeric":
            raise Invalid(field, "only numeric configs have a range")
        if bound is not None and not math.isfinite(bound):
            raise Invalid(field, "must be a finite number")
    if min_value is not None and max_value is not None and max_value <= min_value:
        raise Invalid("max_value", "must be greater than min_value")
    if kind != "categorical":
        if categories:
            raise Invalid("categories", "only categorical configs have categories")
        return ()
    if not categories or len(categories) > MAX_CATEGORIES:
        raise Invalid("categories", f"a categorical config needs 1 to {MAX_CATEGORIES} categories")
    labels: set[str] = set()
    values: set[float] = set()
    checked = []
    for index, category in enumerate(categories):
        label = category.label.strip()
        if not label or len(label) > MAX_NAME_CHARS:
            raise Invalid(f"categories.{index}.label", f"must be 1 to {MAX_NAME_CHARS} characters")
        if label in labels:
            raise Invalid(f"categories.{index}.label", f"{label!r} appears twice")
        if not math.isfinite(category.value):
            raise Invalid(f"categories.{index}.value", "must be a finite number")
        if category.value in values:
            raise Invalid(f"categories.{index}.value", f"{category.value:g} is taken by another label")
        labels.add(label)
        values.add(category.value)
        checked.append(Category(label, float(category.value)))
    return tuple(checked)


def encode_value(config: ScoreConfig, value: Value) -> tuple[float | None, str | None]:
    """(value_number, value_text) for `value` under `config`; `Invalid` on field "value" otherwise."""
    if config.kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise Invalid("value", f"score {config.name!r} takes a number")
        if config.min_value is not None and value < config.min_value:
            raise Invalid("value", f"{value:g} is below the minimum {config.min_value:g} of {config.name!r}")
        if config.max_value is not None and value > config.max_value:
            raise Invalid("value", f"{value:g} is above the maximum {config.max_value:g} of {config.name!r}")
        return float(value), None
    if config.kind == "categorical":
        for category in config.categories:
            if value == category.label:
                return category.value, category.label
        labels = ", ".join(repr(category.label) for category in config.categories)
        raise Invalid("value", f"score {config.name!r} takes one of the labels {labels}")
    if config.kind == "boolean":
        if not isinstance(value, bool):
            raise Invalid("value", f"score {config.name!r} takes true or false")
        return (1.0, "true") if value else (0.0, "false")
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT_CHARS:
        raise Invalid("value", f"score {config.name!r} takes text of 1 to {MAX_TEXT_CHARS} characters")
    return None, value


def decode_value(kind: str, number: float | None, text: str | None) -> Value | None:
    """What the caller sent, from the stored columns."""
    if kind == "numeric":
        return number
    if kind == "boolean":
        return None if number is None else number == 1
    return text


_SELECT = (
    "SELECT config_id, name, kind, min_value, max_value, categories::text, description, created_at, archived_at "
    "FROM score_configs"
)
_RETURNING = (
    "RETURNING config_id, name, kind, min_value, max_value, categories::text, description, created_at, archived_at"
)
# Values stored under the config's definition; queues only name it.
_ANNOTATED = "SELECT EXISTS (SELECT 1 FROM annotations WHERE config_id = $1)"
_QUEUED = "SELECT EXISTS (SELECT 1 FROM annotation_queues WHERE $1 = ANY (config_ids))"


def _config(record: asyncpg.Record) -> ScoreConfig:
    categories = tuple(Category(item["label"], item["value"]) for item in orjson.loads(record["categories"]))
    return ScoreConfig(**{**dict(record), "categories": categories})


def _categories_json(categories: Sequence[Category]) -> str:
    return orjson.dumps([asdict(category) for category in categories]).decode()


async def create_config(
    pool: asyncpg.Pool,
    *,
    name: str,
    kind: str,
    min_value: float | None = None,
    max_value: float | None = None,
    categories: Sequence[Category] = (),
    description: str = "",
) -> ScoreConfig:
    name = check_name(name)
    checked = check_definition(kind, min_value, max_value, categories)
    try:
        record = await pool.fetchrow(
            "INSERT INTO score_configs (config_id, name, kind, min_value, max_value, categories, description) "
            f"VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) {_RETURNING}",
            "sc_" + secrets.token_hex(8),
            name,
            kind,
            min_value,
            max_value,
            _categories_json(checked),
            description,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"a score config named {name!r} already exists") from None
    return _config(record)


async def list_configs(pool: asyncpg.Pool, include_archived: bool = False) -> list[ScoreConfig]:
    records = await pool.fetch(f"{_SELECT} WHERE $1 OR archived_at IS NULL ORDER BY name", include_archived)
    return [_config(record) for record in records]


async def get_config(pool: asyncpg.Pool, config_id: str) -> ScoreConfig:
    record = await pool.fetchrow(f"{_SELECT} WHERE config_id = $1", config_id)
    if record is None:
        raise NotFound("score config", config_id)
    return _config(record)


async def configs_for_use(
    connection: asyncpg.Connection, config_ids: Sequence[str], field: str = "config_id"
) -> dict[str, ScoreConfig]:
    """The live configs named, locked against change until the caller's transaction ends.

    Raises NotFound for an unknown id and Invalid (naming `field`) for an archived one.
    """
    records = await connection.fetch(f"{_SELECT} WHERE config_id = ANY ($1::text[]) FOR SHARE", list(config_ids))
    found = {record["config_id"]: _config(record) for record in records}
    for config_id in config_ids:
        if config_id not in found:
            raise NotFound("score config", config_id)
        if found[config_id].archived_at is not None:
            raise Invalid(field, f"score config {found[config_id].name!r} is archived")
    return found


async def _locked(connection: asyncpg.Connection, config_id: str) -> ScoreConfig:
    record = await connection.fetchrow(f"{_SELECT} WHERE config_id = $1 FOR UPDATE", config_id)
    if record is None:
        raise NotFound("score config", config_id)
    return _config(record)


async def update_config(pool: asyncpg.Pool, config_id: str, changes: Mapping[str, Any]) -> ScoreConfig:
    """Apply `changes` (name, description, archived, min_value, max_value, categories).

    The range and categories can change only while no annotation uses the config (Conflict).
    """
    try:
        async with pool.acquire() as connection, connection.transaction():
            current = await _locked(connection, config_id)
            min_value = changes.get("min_value", current.min_value)
            max_value = changes.get("max_value", current.max_value)
            categories = check_definition(
                current.kind, min_value, max_value, tuple(changes.get("categories", current.categories))
            )
            redefined = (min_value, max_value, categories) != (current.min_value, current.max_value, current.categories)
            if redefined and await connection.fetchval(_ANNOTATED, config_id):
                raise Conflict(
                    f"score config {current.name!r} has annotations: its range and categories cannot change "
                    "(archive it and create another)"
                )
            archived = changes.get("archived", current.archived_at is not None)
            record = await connection.fetchrow(
                "UPDATE score_configs SET name = $2, description = $3, min_value = $4, max_value = $5, "
                "categories = $6::jsonb, archived_at = CASE WHEN $7 THEN coalesce(archived_at, now()) END "
                f"WHERE config_id = $1 {_RETURNING}",
                config_id,
                check_name(changes["name"]) if "name" in changes else current.name,
                changes.get("description", current.description),
                min_value,
                max_value,
                _categories_json(categories),
                archived,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"a score config named {changes.get('name')!r} already exists") from None
    return _config(record)


async def delete_config(pool: asyncpg.Pool, config_id: str) -> Literal["deleted", "archived"]:
    """Delete the config, or archive it when annotations or queues use it."""
    async with pool.acquire() as connection, connection.transaction():
        await _locked(connection, config_id)
        if await connection.fetchval(_ANNOTATED, config_id) or await connection.fetchval(_QUEUED, config_id):
            await connection.execute(
                "UPDATE score_configs SET archived_at = coalesce(archived_at, now()) WHERE config_id = $1", config_id
            )
            return "archived"
        await connection.execute("DELETE FROM score_configs WHERE config_id = $1", config_id)
        return "deleted"
