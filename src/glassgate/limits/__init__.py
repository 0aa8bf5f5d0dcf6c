"""Rate limits and budgets per key, project, model and upstream, shared by every replica in Redis.

    rules      the config's rules compiled: which calls each counts, in which counter (pure)
    estimate   the most tokens a call can use, from its request (pure)
    windows    per-minute sliding windows and UTC days; how long a refused call waits (pure)
    refusals   the vendor's own 429 (or 503) headers and message (pure)
    plans      a kind of call's counters, Redis keys (hash tags in a cluster), encoded commands (pure)
    resp       Redis commands as bytes (pure)
    store      Redis: the Lua scripts, timeouts, outages
    endpoints  the connections: one Redis, or the nodes of a Redis Cluster (the only socket IO)
    limiter    reserve before forwarding, settle after, release when nothing was sent

Built by `create_app` only when `limits.rules` is set: without rules there is no limiter, no
Redis connection and no cost per call. This package never imports tracing or storage: the
price table comes in as a callable.

    GlassgateError
    └── LimitsUnavailable    Redis could not be asked; `on_redis_error` decides (open | closed)
"""

from glassgate.limits.limiter import FinishedCall, LimitCounters, Limiter, Pricer
from glassgate.limits.refusals import LimitRefusal
from glassgate.limits.store import LimitsUnavailable

__all__ = ["FinishedCall", "LimitCounters", "LimitRefusal", "Limiter", "LimitsUnavailable", "Pricer"]
