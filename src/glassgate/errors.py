"""Glassgate's one exception tree.

    GlassgateError
    ├── ConfigError          invalid or missing configuration (names the field)
    ├── DatabaseError        the database cannot be reached or migrated
    └── UpstreamError        an upstream could not be reached or answered badly
        ├── UpstreamTimeout
        ├── UpstreamUnavailable
        └── UpstreamReset    (proxy.http1) the response body broke off

Foreign exceptions (pydantic, asyncpg, azure-identity) are converted into these once, at the
boundary where they are raised; nothing above that boundary catches library errors.
"""

from __future__ import annotations


class GlassgateError(Exception):
    """Base class for every error Glassgate raises on purpose."""


class ConfigError(GlassgateError):
    """The configuration is invalid. The message names the offending field."""


class DatabaseError(GlassgateError):
    """The database is unreachable or could not be prepared."""


class UpstreamError(GlassgateError):
    """An upstream vendor could not be reached or broke the connection."""


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer within the configured time."""


class UpstreamUnavailable(UpstreamError):
    """The upstream refused or reset the connection."""
