"""The `server:` section of the settings: how `glassgate serve` listens, times clients out and shuts down.

Kept apart from config.py (which imports it into `Settings`) because these are the knobs an
operator tunes against the load balancer and the orchestrator in front of Glassgate, not the
proxy's own behaviour. Every field is also a `glassgate serve` flag, which beats the config.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _lower_case(value: object) -> object:
    # GLASSGATE_SERVER__LOG_LEVEL=INFO is as natural to write as `info`.
    return value.lower() if isinstance(value, str) else value


LogLevel = Annotated[Literal["critical", "error", "warning", "info", "debug"], BeforeValidator(_lower_case)]

# No bound below is a limit of the server: each catches a value in the wrong unit (milliseconds).
_HOUR = 3600


class ServerSettings(BaseModel):
    """`glassgate serve`'s HTTP server: client deadlines, keep-alive and the SIGTERM sequence."""

    model_config = ConfigDict(frozen=True, extra="forbid")  # as every other section of `Settings`

    header_timeout_s: float = Field(
        default=10.0,
        ge=0.1,
        le=_HOUR,
        description="A client sends a request's line and headers within this (else the connection is closed).",
    )
    body_timeout_s: float = Field(
        default=60.0,
        ge=0.1,
        le=_HOUR,
        description="A client sends a request body within this (else 408), or leaves its answer unread no longer.",
    )
    keep_alive_s: int = Field(
        default=65,
        ge=1,
        le=2 * _HOUR,
        description=(
            "An idle client connection is closed after this. Keep it above the idle timeout of the load balancer "
            "in front (nginx upstream keepalive 60 s; an ALB's, 60 s by default and up to 4,000): a server that "
            "closes an idle connection first races the balancer's next request on it, which then fails (a 502)."
        ),
    )
    shutdown_delay_s: float = Field(
        default=0.0,
        ge=0,
        le=_HOUR,
        description=(
            "After SIGTERM, /readyz answers 503 for this long while every request is still served, before the "
            "drain: the time a load balancer needs to stop sending calls here (two health-check intervals, or "
            "its deregistration's propagation). 0: the drain starts at once."
        ),
    )
    graceful_shutdown_s: int = Field(
        default=30,
        ge=0,
        le=_HOUR,
        description=(
            "Then, with the listener closed, calls in flight and streams get this long to finish. The "
            "orchestrator's stop timeout must exceed shutdown_delay_s + graceful_shutdown_s + the span flush."
        ),
    )
    log_level: LogLevel = Field(default="info", description="critical, error, warning, info or debug.")
