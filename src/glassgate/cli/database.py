"""Resolve, check and migrate the database before anything serves."""

from __future__ import annotations

import asyncio

from glassgate.config import Settings
from glassgate.storage import db


def prepare_database(settings: Settings, *, migrate: bool = True) -> Settings:
    """Start the embedded database if no URL is set, check it answers, migrate; return settings with the URL."""
    url = settings.database_url or db.start_embedded(settings.data_dir)
    asyncio.run(db.check_connection(url))
    if migrate:
        db.migrate(url)
    return settings.model_copy(update={"database_url": url})
