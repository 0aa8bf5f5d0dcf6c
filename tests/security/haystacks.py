"""Where a secret could end up, gathered as bytes, and the forms a secret could take there.

`forms(secret)` is the secret itself, percent-encoded, and its base64 (standard and URL-safe)
at each of the three byte alignments it could have inside a longer base64 text (a Basic
header, a JWT, a protobuf field), so a secret embedded in someone else's base64 is found too.

`dump_database` reads every column of every table the database has (listed from
information_schema, not from our schema), as text; bytea columns raw and, when they are zstd
frames (storage/bodies.py), decompressed as well.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import asyncpg
import zstandard

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    found = {raw, quote(secret, safe="").encode()}
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + raw).rstrip(b"=")
            # Drop the characters that mix in the bytes before the secret, and the last one,
            # which mixes in whatever follows: what remains appears in any longer encoding.
            start = (offset * 4 + 2) // 3
            core = encoded[start:-1]
            if len(core) >= 8:
                found.add(core)
    return sorted(found)


@dataclass(frozen=True)
class Leak:
    secret_name: str
    form: bytes
    context: bytes  # the bytes around it, to say where


def find(haystack: bytes, secrets: dict[str, str]) -> list[Leak]:
    leaks = []
    for name, secret in secrets.items():
        for form in forms(secret):
            at = haystack.find(form)
            if at != -1:
                leaks.append(Leak(name, form, haystack[max(0, at - 80) : at + len(form) + 80]))
    return leaks


def read_tree(root: Path) -> bytes:
    """Every file under `root`, concatenated (an empty tree is empty bytes)."""
    return b"\n".join(path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file())


async def dump_database(database_url: str) -> tuple[bytes, list[str]]:
    """(every value of every column of every table, the tables read)."""
    connection = await asyncpg.connect(database_url)
    try:
        columns = await connection.fetch(
            "SELECT c.table_schema, c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE t.table_type = 'BASE TABLE' AND c.table_schema NOT IN ('pg_catalog', 'information_schema') "
            "ORDER BY c.table_schema, c.table_name, c.ordinal_position"
        )
        tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for column in columns:
            key = (column["table_schema"], column["table_name"])
            tables.setdefault(key, []).append((column["column_name"], column["data_type"]))
        parts: list[bytes] = []
        for (schema, table), table_columns in tables.items():
            selected = ", ".join(
                f'"{name}"' if data_type == "bytea" else f'"{name}"::text' for name, data_type in table_columns
            )
            for record in await connection.fetch(f'SELECT {selected} FROM "{schema}"."{table}"'):
                for value in record.values():
                    parts.extend(_as_bytes(value))
        return b"\n".join(parts), [f"{schema}.{table}" for schema, table in tables]
    finally:
        await connection.close()


def _as_bytes(value: object) -> list[bytes]:
    if value is None:
        return []
    if isinstance(value, bytes):
        if value.startswith(_ZSTD_MAGIC):
            return [value, zstandard.ZstdDecompressor().decompress(value)]
        return [value]
    return [str(value).encode()]
