"""Secrets Glassgate makes for itself when the config gives none, kept in `data_dir` (mode 0600).

- the admin token for /api (`admin_token`), printed once when generated;
- the key that encrypts stored secrets such as AWS key pairs (`secret_key`). Replicas must
  share it: set it in the config (or `GLASSGATE_SECRET_KEY`) when running more than one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from glassgate.config import Settings


def token_file(settings: Settings) -> Path:
    return settings.data_dir / "admin_token"


def _resolve(configured: SecretStr | None, path: Path, prefix: str) -> tuple[str, bool]:
    if configured is not None:
        return configured.get_secret_value(), False
    if path.is_file():
        return path.read_text(encoding="utf-8").strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    value = prefix + secrets.token_urlsafe(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="utf-8").strip(), False
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value, True


def resolve_admin_token(settings: Settings) -> tuple[str, bool]:
    """(token, newly generated)."""
    return _resolve(settings.admin_token, token_file(settings), "gga-")


def resolve_secret_key(settings: Settings) -> str:
    return _resolve(settings.secret_key, settings.data_dir / "secret_key", "ggs-")[0]
