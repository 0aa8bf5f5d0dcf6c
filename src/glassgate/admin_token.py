"""The admin token for /api: from config, or generated once and kept in `data_dir`."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from glassgate.config import Settings


def token_file(settings: Settings) -> Path:
    return settings.data_dir / "admin_token"


def resolve_admin_token(settings: Settings) -> tuple[str, bool]:
    """(token, newly generated). A generated token is written with mode 0600."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value(), False
    path = token_file(settings)
    if path.is_file():
        return path.read_text(encoding="utf-8").strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = "gga-" + secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token, True
