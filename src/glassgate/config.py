"""Glassgate's settings: one frozen, typed object built from YAML, `${ENV}` and `GLASSGATE_*`.

Precedence, highest first: `GLASSGATE_*` environment variables (nested fields joined with
`__`, e.g. `GLASSGATE_UPSTREAMS__AZURE__URL`), then the YAML file, then the defaults below.
This module is the only reader of the environment; everything else receives `Settings`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from yarl import URL

from glassgate.config_files import describe_validation_error, read_config_file
from glassgate.config_flags import with_flags
from glassgate.errors import ConfigError
from glassgate.server_settings import ServerSettings

Vendor = Literal["openai", "azure", "anthropic", "bedrock"]

DEFAULT_VENDOR_URLS: dict[str, str] = {
    "openai": "https://api.openai.com",
    "anthropic": "https://api.anthropic.com",
    "bedrock": "https://bedrock-runtime.{region}.amazonaws.com",
}

# First path segments that belong to Glassgate itself and can never name an upstream.
RESERVED_SEGMENTS = frozenset({"api", "v1", "ui", "healthz", "readyz", "metrics", "assets", "favicon.ico"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PassthroughAuth(_Frozen):
    """The client's own vendor key goes to the vendor unchanged (the default)."""

    type: Literal["passthrough"] = "passthrough"


class StaticKeyAuth(_Frozen):
    """Glassgate holds one vendor key; clients authenticate with Glassgate keys."""

    type: Literal["static"] = "static"
    key: SecretStr = Field(description="The vendor API key Glassgate sends upstream.")


class AzureServicePrincipalAuth(_Frozen):
    """An Entra ID service principal; Glassgate fetches, caches and refreshes its token."""

    type: Literal["azure_service_principal"] = "azure_service_principal"
    tenant_id: str
    client_id: str
    client_secret: SecretStr
    authority_host: str = Field(
        default="https://login.microsoftonline.com",
        description="Entra authority; sovereign clouds and tests set their own.",
    )
    scope: str = "https://cognitiveservices.azure.com/.default"


class AzureIdentityAuth(_Frozen):
    """The Entra ID identity Glassgate runs as (AKS workload identity, a managed identity); no secret in config.

    Fields left out fall back to the variables Azure sets for the pod or VM (`AZURE_CLIENT_ID`,
    `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_AUTHORITY_HOST`), read by azure-identity.
    """

    type: Literal["azure_identity"] = "azure_identity"
    source: Literal["auto", "workload_identity", "managed_identity"] = Field(
        default="auto",
        description=(
            "auto: a service principal from AZURE_CLIENT_SECRET/CERTIFICATE, else workload identity, else a "
            "managed identity (never a developer's CLI login); or only workload_identity or managed_identity."
        ),
    )
    client_id: str | None = Field(
        default=None,
        description="The workload identity's app, or a user-assigned managed identity; else AZURE_CLIENT_ID.",
    )
    tenant_id: str | None = Field(default=None, description="workload_identity: the tenant; else AZURE_TENANT_ID.")
    token_file: Path | None = Field(
        default=None,
        description="workload_identity: the projected service-account token; else AZURE_FEDERATED_TOKEN_FILE.",
    )
    authority_host: str | None = Field(
        default=None, description="Entra authority for sovereign clouds; else AZURE_AUTHORITY_HOST or the public cloud."
    )
    scope: str = "https://cognitiveservices.azure.com/.default"

    @model_validator(mode="after")
    def _fields_for_source(self) -> AzureIdentityAuth:
        if self.source == "managed_identity" and (self.tenant_id or self.token_file):
            raise ValueError("tenant_id and token_file are for workload identity, not source 'managed_identity'")
        if self.source == "auto" and self.token_file:
            raise ValueError("token_file needs source 'workload_identity' (auto reads AZURE_FEDERATED_TOKEN_FILE)")
        return self


class AwsAuth(_Frozen):
    """Glassgate re-signs Bedrock calls (SigV4) with its own AWS credentials.

    With no keys here, the default AWS chain is used (environment, profile, ECS task role,
    EKS IRSA web identity), refreshed as the credentials expire. Clients then sign with a
    Glassgate-issued key pair (`glassgate keys create --aws`), which Glassgate verifies.
    """

    type: Literal["aws"] = "aws"
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None

    @model_validator(mode="after")
    def _pair(self) -> AwsAuth:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("access_key_id and secret_access_key go together (or leave both out for the AWS chain)")
        return self


UpstreamAuth = Annotated[
    PassthroughAuth | StaticKeyAuth | AzureServicePrincipalAuth | AzureIdentityAuth | AwsAuth,
    Field(discriminator="type"),
]


def _check_upstream_name(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", name):
        raise ValueError(f"upstream name {name!r} must be lower-case letters, digits, '-' or '_'")
    if name in RESERVED_SEGMENTS:
        raise ValueError(f"upstream name {name!r} is reserved ({', '.join(sorted(RESERVED_SEGMENTS))})")
    return name


UpstreamName = Annotated[str, AfterValidator(_check_upstream_name)]


class UpstreamConfig(_Frozen):
    """One named upstream: requests to `/{name}/...` go to `url` + the rest of the path."""

    vendor: Vendor
    url: str = Field(default="", description="Base URL; defaults to the vendor's public API.")
    region: str | None = Field(default=None, description="AWS region (bedrock): the endpoint and the signing scope.")
    auth: UpstreamAuth = Field(default_factory=PassthroughAuth)
    inject_stream_usage: bool = Field(
        default=False,
        description=(
            "openai/azure: add stream_options.include_usage to streamed chat and completions requests, "
            "so their spans get the vendor's token counts; the usage chunks are removed from what the client receives."
        ),
    )

    @model_validator(mode="after")
    def _stream_usage_vendor(self) -> UpstreamConfig:
        # Only OpenAI's stream format has an include_usage flag to inject.
        if self.inject_stream_usage and self.vendor not in ("openai", "azure"):
            raise ValueError(f"inject_stream_usage is only for vendors 'openai' and 'azure', not {self.vendor!r}")
        return self

    @model_validator(mode="after")
    def _default_and_check_url(self) -> UpstreamConfig:
        if self.vendor == "bedrock":
            if not self.region:
                raise ValueError("region is required for vendor 'bedrock'")
            if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", self.region):
                raise ValueError(f"region {self.region!r} is not an AWS region name")
        elif isinstance(self.auth, AwsAuth):
            raise ValueError("auth type 'aws' is only for vendor 'bedrock'")
        url = self.url or DEFAULT_VENDOR_URLS.get(self.vendor, "").format(region=self.region)
        if not url:
            raise ValueError(f"url is required for vendor {self.vendor!r}")
        parsed = URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"url must be an absolute http(s) URL, got {url!r}")
        if parsed.user or parsed.password or parsed.query_string or parsed.fragment:
            raise ValueError("url must not carry credentials, a query or a fragment")
        object.__setattr__(self, "url", url.rstrip("/"))
        return self


class ProxySettings(_Frozen):
    """Data-plane limits and timeouts."""

    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0, description="Larger request bodies get 413.")
    connect_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=600.0, gt=0, description="Longest silence between upstream chunks.")
    drain_timeout_s: float = Field(
        default=30.0, ge=0, description="After a client disconnects, keep reading the upstream this long for usage."
    )
    max_connections_per_upstream: int = Field(default=512, gt=0)


class TracingSettings(_Frozen):
    """The capture queue and the batch writer."""

    queue_size: int = Field(
        default=10_000, gt=0, description="Calls waiting to be written; beyond it, dropped and counted."
    )
    batch_size: int = Field(default=500, gt=0, description="Spans per insert; a full batch is written at once.")
    flush_interval_ms: int = Field(
        default=200,
        gt=0,
        description=(
            "Under steady traffic a partial batch is written at most once per interval (a lone call is written at "
            "once): the most a span waits before its insert, and what makes steady traffic be stored in batches of "
            "many spans, each cheaper per span."
        ),
    )
    spill_max_bytes: int = Field(
        default=1024 * 1024 * 1024,
        ge=0,
        description="Disk for spans spilled while the database is down (under data_dir/spill); 0 turns spilling off.",
    )
    capture_max_bytes: int = Field(
        default=4 * 1024 * 1024, gt=0, description="Bodies larger than this are stored truncated."
    )
    estimate_tokens: bool = Field(
        default=True,
        description="Estimate with tiktoken the tokens a vendor left out (~46 MB vocabulary, loaded at first need).",
    )
    preload_tokenizer: bool = Field(
        default=False,
        description="Load that vocabulary at start (in a thread) rather than at the first call without usage.",
    )
    write_timeout_s: float = Field(
        default=5.0, gt=0, description="A batch insert slower than this counts as failed: the batch is spilled."
    )
    retention_days: int | None = Field(
        default=None,
        gt=0,
        description="Keep spans this many days (whole months are dropped once past it); unset keeps everything.",
    )
    minute_rollup_days: int = Field(
        default=14,
        gt=0,
        description=(
            "Keep the per-minute dashboard rollups this many days (charts of older ranges read the hourly and "
            "daily ones, which follow retention_days): one row per minute × project × upstream × model adds up."
        ),
    )
    search_max_per_s: float = Field(
        default=2000.0,
        gt=0,
        description=(
            "Spans whose words are indexed for search, at most this many a second per replica: under a burst the "
            "writer keeps the CPU and search catches up after (glassgate_search_backlog in /metrics)."
        ),
    )
    search_interval_s: float = Field(
        default=0.5, gt=0, description="Seconds between looks for stored spans waiting to be indexed for search."
    )


class OtlpSettings(_Frozen):
    """OTLP/HTTP span export, from the standard OpenTelemetry variables (not GLASSGATE_*)."""

    endpoint: str | None = Field(default=None, description="Full traces URL; export is off without one.")
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = 10.0
    service_name: str = "glassgate"
    max_queue_size: int = 2048
    max_export_batch_size: int = 512
    schedule_delay_s: float = 5.0
    capture_messages: bool = Field(default=False, description="Also export prompts and answers (opt-in).")


def otlp_from_environment(environ: Mapping[str, str]) -> OtlpSettings:
    """OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces, and OTEL_BSP_*."""

    def first(*names: str) -> str | None:
        return next((environ[name] for name in names if environ.get(name)), None)

    endpoint = first("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    base = first("OTEL_EXPORTER_OTLP_ENDPOINT")
    if endpoint is None and base is not None:
        endpoint = base.rstrip("/") + "/v1/traces"
    raw_headers = first("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS") or ""
    headers = {}
    for pair in raw_headers.split(","):
        name, _, value = pair.partition("=")
        if name.strip() and value:
            headers[unquote(name.strip())] = unquote(value.strip())
    values: dict[str, Any] = {"endpoint": endpoint, "headers": headers}
    timeout = first("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")
    if timeout:
        values["timeout_s"] = float(timeout) / 1000.0  # the variables are in milliseconds
    if first("OTEL_SERVICE_NAME"):
        values["service_name"] = first("OTEL_SERVICE_NAME")
    for variable, field in (
        ("OTEL_BSP_MAX_QUEUE_SIZE", "max_queue_size"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "max_export_batch_size"),
    ):
        if environ.get(variable):
            values[field] = int(environ[variable])
    if environ.get("OTEL_BSP_SCHEDULE_DELAY"):
        values["schedule_delay_s"] = int(environ["OTEL_BSP_SCHEDULE_DELAY"]) / 1000.0
    if environ.get("GLASSGATE_OTLP_CAPTURE_MESSAGES", "").lower() in ("1", "true", "yes"):
        values["capture_messages"] = True
    try:
        return OtlpSettings(**values)
    except ValidationError as exc:
        raise ConfigError(
            describe_validation_error(exc).replace("invalid configuration", "invalid OTEL_* variables")
        ) from None


GuardrailAction = Literal["block", "redact", "flag"]


class GuardrailProvider(_Frozen):
    """A remote service a policy's remote detector asks (glassgate/guard_providers); each type reads its own fields."""

    type: str = Field(description="azure_content_safety | bedrock_guardrail | llm_judge; also listed in `detectors`.")
    endpoint: str | None = Field(
        default=None,
        description=(
            "azure_content_safety: https://{resource}.cognitiveservices.azure.com; "
            "bedrock_guardrail: in place of https://bedrock-runtime.{region}.amazonaws.com."
        ),
    )
    key: SecretStr | None = Field(
        default=None,
        description="azure_content_safety: its key; llm_judge: the vendor key, for a passthrough upstream.",
    )
    region: str | None = Field(default=None, description="bedrock_guardrail: the AWS region (default AWS credentials).")
    guardrail_id: str | None = Field(default=None, description="bedrock_guardrail: the guardrail's id or ARN.")
    guardrail_version: str | None = Field(default=None, description="bedrock_guardrail: a version number or DRAFT.")
    upstream: str | None = Field(default=None, description="llm_judge: an openai, azure or anthropic upstream.")
    model: str | None = Field(default=None, description="llm_judge: the judge model (Azure: the deployment).")
    api_version: str | None = Field(default=None, description="llm_judge on azure: the api-version (2024-10-21).")
    timeout_ms: int = Field(
        default=1500, gt=0, le=60_000, description="One check, connecting included; past it, on_error decides."
    )


class GuardrailPolicy(_Frozen):
    """One policy: which detectors run on which text, where, and what a finding does."""

    name: str = Field(min_length=1, description="Unique; named in block messages and on findings.")
    detectors: list[str] = Field(
        min_length=1,
        description=(
            "pii, secrets, toxicity, profanity, injection, regex, presidio (optional package); "
            "remote (with `provider`): azure_content_safety, bedrock_guardrail, llm_judge"
        ),
    )
    phases: list[Literal["input", "output"]] = Field(default=["input"])
    action: GuardrailAction = "flag"
    upstreams: list[str] | None = Field(default=None, description="Only calls to these upstreams (default: all).")
    projects: list[str] | None = None
    models: list[str] | None = Field(default=None, description="Requested model names (Azure: deployment).")
    threshold: float = Field(default=0.5, ge=0.0, le=1.0, description="Minimum score of scored detectors.")
    categories: list[str] | None = Field(default=None, description="Only these categories (e.g. EMAIL, OPENAI_KEY).")
    patterns: list[str] | dict[str, str] | None = Field(default=None, description="For `regex`: Python regexes.")
    deny: list[str] | None = Field(default=None, description="For `regex`: phrases matched as whole words.")
    extra_words: list[str] | None = Field(default=None, description="For `profanity`: words added to its list.")
    allowed_words: list[str] | None = Field(default=None, description="For `profanity`: words never reported.")
    on_error: Literal["open", "closed"] = Field(
        default="open",
        description="A detector that fails (a remote one: times out, errs): open forwards the call, closed blocks it.",
    )
    provider: GuardrailProvider | None = Field(default=None, description="The remote detector's service, if any.")
    restore: bool = Field(
        default=False,
        description=(
            "With action redact on input: where the answer repeats a placeholder this policy put in the request "
            "(<EMAIL_1>), the client gets its own value back; the span keeps the placeholder. Not for a value an "
            "output block/redact policy of the call would catch (see README, Guardrails)."
        ),
    )

    @model_validator(mode="after")
    def _buildable(self) -> GuardrailPolicy:
        # The detectors and remote providers validate their own options.
        from glassgate.guard_providers import check_policy
        from glassgate.guardrails.policy import build_detectors

        check_policy(self)
        build_detectors(self)
        return self


class EmbeddingSettings(_Frozen):
    """Prompt embeddings for "find similar" and the map (stored 256-d in pgvector; see glassgate/embeddings)."""

    enabled: bool = Field(default=True, description="Embed new spans in the background; off: no worker, no search.")
    embedder: str = Field(
        default="hashed",
        description=(
            "`hashed` (default, offline, no model): a lexical embedding of words and word pairs; it finds prompts "
            "with similar WORDING, not similar meaning. `upstream`: a real embeddings model, called through "
            "Glassgate's own proxy port (traced, tagged glassgate-internal,embeddings). Plugins add more names, "
            "checked when the app is built (glassgate.embeddings registers them)."
        ),
    )
    upstream: str | None = Field(default=None, description="For `upstream`: a configured openai or azure upstream.")
    model: str = Field(default="text-embedding-3-small", description="For `upstream`: the model (Azure: deployment).")
    dimensions: int | None = Field(
        default=256,
        gt=0,
        le=256,
        description=(
            "For `upstream`: sent as `dimensions` (text-embedding-3 models shorten server-side); null for models "
            "that refuse it. Stored vectors are always 256-d: longer answers are cut and re-normalised (right for "
            "text-embedding-3, lossy for others), shorter ones padded with zeros (cosine unchanged)."
        ),
    )
    api_key: SecretStr | None = Field(
        default=None,
        description=(
            "For `upstream`: a Glassgate key when the upstream holds its own credential (static, Entra), "
            "or the vendor's key when it is passthrough."
        ),
    )
    api_version: str = Field(default="2024-10-21", description="For an azure upstream: the api-version query value.")
    batch_size: int = Field(default=64, gt=0, le=2048, description="Texts per embeddings call and per stored batch.")
    interval_s: float = Field(default=5.0, gt=0, description="Seconds between looks for spans without an embedding.")
    max_per_s: float = Field(
        default=50.0,
        gt=0,
        description=(
            "At most this many spans embedded per second: the worker's CPU (and an upstream's bill) stays a small, "
            "fixed share under any traffic; a backlog is caught up when traffic is lower."
        ),
    )
    timeout_s: float = Field(default=30.0, gt=0, description="For `upstream`: one embeddings call, retries aside.")


class JudgeSettings(_Frozen):
    """The model LLM judges ask, called through Glassgate's own proxy (traced, tagged glassgate-eval)."""

    upstream: str = Field(description="A configured openai, azure, anthropic or bedrock upstream.")
    model: str = Field(description="The judge model (Azure: the deployment; Bedrock: the model id or ARN).")
    api_version: str = Field(default="2024-10-21", description="For an azure upstream: the api-version query value.")
    max_tokens: int = Field(default=1024, gt=0, description="The judge's answer limit (explanation and label).")


class EvalAwsKey(_Frozen):
    """A key pair from `glassgate keys create --aws`: evaluation signs its Bedrock calls to the proxy with it."""

    access_key_id: str
    secret_access_key: SecretStr


class EvalSettings(_Frozen):
    """Evaluation workers: online rules and experiments (see glassgate/evals)."""

    worker: bool = Field(
        default=True,
        description="Run an evaluation worker in the serving process; `glassgate worker` runs more on other hosts.",
    )
    concurrency: int = Field(
        default=16, gt=0, le=1000, description="Jobs one worker runs at once (an experiment's own limit spans workers)."
    )
    judge: JudgeSettings | None = Field(
        default=None, description="The default judge of LLM evaluators (an evaluator may name its own)."
    )
    proxy_url: str | None = Field(
        default=None,
        description="Where workers reach Glassgate's proxy for judge and target calls; absent: this host's own port.",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description=(
            "Sent with judge and experiment calls: a Glassgate key when the upstream holds its own credential, "
            "or the vendor's key when it is passthrough."
        ),
    )
    api_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description=(
            "Per upstream name, in place of api_key for calls to that upstream; for a bedrock upstream, "
            "a Bedrock API key (sent as a Bearer token, passed through to AWS)."
        ),
    )
    aws_key: EvalAwsKey | None = Field(
        default=None,
        description=(
            "Signs judge and experiment calls to bedrock upstreams (SigV4 for Glassgate's host, verified by the "
            "proxy, which re-signs with its own AWS credentials). api_key is never sent to bedrock upstreams."
        ),
    )
    aws_keys: dict[str, EvalAwsKey] = Field(
        default_factory=dict, description="Per bedrock upstream name, in place of aws_key."
    )
    timeout_s: float = Field(default=120.0, gt=0, description="One judge or target call, retries aside.")
    lease_s: float = Field(
        default=60.0, ge=1, description="A claimed job's lease, renewed while it runs; a dead worker's job waits this."
    )
    poll_interval_s: float = Field(default=0.5, gt=0, description="Seconds between looks for jobs when idle.")
    rule_scan_interval_s: float = Field(default=5.0, gt=0, description="Seconds between looks for spans rules score.")
    max_attempts: int = Field(default=5, gt=0, description="Tries of one job (judge or database unreachable).")


LimitDimension = Literal["key", "project", "model", "upstream", "global"]


class LimitRule(_Frozen):
    """One rate limit or budget: the calls it covers (scopes), how they are counted (`per`), the caps."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Unique; named in 429 messages and metrics, and part of the Redis keys (renaming restarts it).",
    )
    keys: list[str] | None = Field(default=None, description="Only calls with these Glassgate key ids (default: all).")
    projects: list[str] | None = Field(default=None, description="Only calls of these projects (default: all).")
    models: list[str] | None = Field(
        default=None, description="Only these requested models (Azure: the deployment; Bedrock: the model id)."
    )
    upstreams: list[str] | None = Field(default=None, description="Only calls to these upstreams (default: all).")
    per: LimitDimension | list[LimitDimension] = Field(
        default="global",
        description=(
            "Which calls share a counter: key, project, model, upstream, a list of them (per: [project, model] "
            "counts each pair apart), or global (one counter for every call the rule covers). Calls without a "
            "Glassgate key (passthrough upstreams) share the key '-'."
        ),
    )
    requests_per_minute: int | None = Field(default=None, gt=0, description="Calls per sliding minute.")
    tokens_per_minute: int | None = Field(
        default=None,
        gt=0,
        description="Input + output tokens per sliding minute: the worst case is reserved, the real count settled.",
    )
    usd_per_day: float | None = Field(
        default=None,
        gt=0,
        description="Spend per UTC day, priced with the price table (worst case reserved, real cost settled).",
    )

    @model_validator(mode="after")
    def _has_a_cap(self) -> LimitRule:
        if self.requests_per_minute is None and self.tokens_per_minute is None and self.usd_per_day is None:
            raise ValueError("a rule needs requests_per_minute, tokens_per_minute or usd_per_day")
        per = self.per if isinstance(self.per, list) else [self.per]
        if len(set(per)) != len(per):
            raise ValueError("per: a dimension is listed twice")
        if "global" in per and len(per) > 1:
            raise ValueError("per: global stands alone")
        return self

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The `per` dimensions in order; () for one global counter."""
        per = self.per if isinstance(self.per, list) else [self.per]
        return tuple(dimension for dimension in per if dimension != "global")


class LimitSettings(_Frozen):
    """Rate limits and budgets, counted in Redis (`redis_url`) so every replica shares them."""

    rules: list[LimitRule] = Field(
        default_factory=list, description="Every rule a call matches applies; none: no limiter, no Redis."
    )
    on_redis_error: Literal["open", "closed"] = Field(
        default="open",
        description="Redis down or slow: open forwards calls unchecked (counted, logged once); closed answers 503.",
    )
    redis_timeout_ms: int = Field(
        default=50, gt=0, le=10_000, description="One check's Redis call; past it, on_redis_error decides."
    )
    default_max_tokens: int = Field(
        default=4096, gt=0, description="Output tokens reserved for a call whose request sets no max_tokens."
    )
    key_prefix: str = Field(
        default="glassgate:limits",
        min_length=1,
        description=(
            "Prefix of the Redis keys (to share a Redis). In a Redis Cluster, a hash tag in it "
            "({glassgate}:limits) puts every counter in one slot: one node counts, every check is one script."
        ),
    )
    redis_cluster: bool = Field(
        default=False,
        description=(
            "redis_url names a Redis Cluster (ElastiCache or MemoryDB with cluster mode enabled: its configuration "
            "endpoint); the nodes are found from it, and each check goes to the node that holds its counters."
        ),
    )

    @field_validator("rules")
    @classmethod
    def _unique_rule_names(cls, value: list[LimitRule]) -> list[LimitRule]:
        names = [rule.name for rule in value]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"limit rule names must be unique: {', '.join(duplicated)}")
        return value


class Settings(BaseSettings):
    """Everything Glassgate is configured with. Built once by the CLI; frozen afterwards."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", env_prefix="GLASSGATE_", env_nested_delimiter="__")

    data_dir: Path = Field(default=Path(".glassgate"), description="Embedded database, admin token, local state.")
    database_url: str | None = Field(default=None, description="Absent: embedded PostgreSQL under data_dir.")
    admin_token: SecretStr | None = Field(default=None, description="Bearer token for /api; generated if absent.")
    secret_key: SecretStr | None = Field(
        default=None,
        description="Encrypts stored secrets (AWS key pairs); generated in data_dir if absent; replicas share it.",
    )
    tls_cert: Path | None = Field(default=None, description="Serve HTTPS with this certificate (PEM).")
    tls_key: Path | None = Field(default=None, description="The certificate's private key (PEM).")
    host: str = "127.0.0.1"
    port: int = Field(default=4000, ge=0, le=65535)
    server: ServerSettings = Field(
        default_factory=ServerSettings, description="Client deadlines, keep-alive and shutdown of `glassgate serve`."
    )
    upstreams: dict[UpstreamName, UpstreamConfig] = Field(default_factory=dict)
    proxy: ProxySettings = Field(default_factory=ProxySettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)
    otlp: OtlpSettings = Field(default_factory=OtlpSettings, description="Set from the OTEL_* variables.")
    guardrails: list[GuardrailPolicy] | None = Field(
        default=None, description="Absent: the default policy (flag PII, secrets and prompt injection in requests)."
    )
    embeddings: EmbeddingSettings = Field(
        default_factory=EmbeddingSettings, description="Prompt embeddings: similar spans and the map of prompts."
    )
    evals: EvalSettings = Field(default_factory=EvalSettings, description="Evaluation workers and the judge.")
    redis_url: str | None = Field(
        default=None,
        description=(
            "redis://, rediss:// or unix:// URL of the Redis that limits are counted in (limits.rules), "
            "or a Redis Cluster's configuration endpoint with limits.redis_cluster."
        ),
    )
    limits: LimitSettings = Field(
        default_factory=LimitSettings, description="Rate limits and budgets per key, project, model and upstream."
    )
    first_user_setup: bool | None = Field(
        default=None,
        description=(
            "Let the first visitor of the web app create the admin account while no user exists. "
            "Absent: on with the embedded database (a local install), off with database_url "
            "(create users with `glassgate users create`)."
        ),
    )

    @field_validator("guardrails")
    @classmethod
    def _unique_policy_names(cls, value: list[GuardrailPolicy] | None) -> list[GuardrailPolicy] | None:
        names = [policy.name for policy in value or []]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"guardrail policy names must be unique: {', '.join(duplicated)}")
        return value

    @model_validator(mode="after")
    def _embeddings_upstream(self) -> Settings:
        embeddings = self.embeddings
        if embeddings.enabled and embeddings.embedder == "upstream":
            upstream = self.upstreams.get(embeddings.upstream or "")
            if upstream is None:
                known = ", ".join(sorted(self.upstreams)) or "none"
                raise ValueError(f"embeddings.upstream: {embeddings.upstream!r} is not a configured upstream ({known})")
            if upstream.vendor not in ("openai", "azure"):
                raise ValueError(
                    f"embeddings.upstream: {embeddings.upstream!r} is a {upstream.vendor} upstream; "
                    "embeddings need an openai or azure one"
                )
        return self

    @model_validator(mode="after")
    def _judge_upstream(self) -> Settings:
        judge = self.evals.judge
        if judge is not None:
            upstream = self.upstreams.get(judge.upstream)
            if upstream is None:
                known = ", ".join(sorted(self.upstreams)) or "none"
                raise ValueError(f"evals.judge.upstream: {judge.upstream!r} is not a configured upstream ({known})")
        return self

    @model_validator(mode="after")
    def _guardrail_judge_upstreams(self) -> Settings:
        for index, policy in enumerate(self.guardrails or []):
            provider = policy.provider
            if provider is None or provider.type != "llm_judge":
                continue
            where = f"guardrails.{index}.provider"
            upstream = self.upstreams.get(provider.upstream or "")
            if upstream is None:
                known = ", ".join(sorted(self.upstreams)) or "none"
                raise ValueError(f"{where}.upstream: {provider.upstream!r} is not a configured upstream ({known})")
            if upstream.vendor == "bedrock":
                raise ValueError(f"{where}.upstream: the judge is called in the openai, azure or anthropic format")
            if isinstance(upstream.auth, PassthroughAuth) and provider.key is None:
                raise ValueError(f"{where}.key: upstream {provider.upstream!r} is passthrough: the judge needs a key")
        return self

    @model_validator(mode="after")
    def _limits_need_redis(self) -> Settings:
        if self.limits.rules and self.redis_url is None:
            raise ValueError("redis_url: limits.rules are counted in Redis; set redis_url (redis://host:6379/0)")
        if self.limits.redis_cluster and self.redis_url is not None:
            if self.redis_url.startswith("unix://"):
                raise ValueError(
                    "redis_url: a Redis Cluster (limits.redis_cluster) is reached by redis:// or rediss://"
                )
            if URL(self.redis_url).path.strip("/") not in ("", "0"):
                raise ValueError("redis_url: a Redis Cluster (limits.redis_cluster) has only database 0")
        for index, rule in enumerate(self.limits.rules):
            unknown = sorted(set(rule.upstreams or ()) - set(self.upstreams))
            if unknown:
                known = ", ".join(sorted(self.upstreams)) or "none"
                raise ValueError(f"limits.rules.{index}.upstreams: {', '.join(unknown)} not configured ({known})")
        return self

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("redis_url must start with redis://, rediss:// or unix://")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("database_url must start with postgresql://")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file (passed as init kwargs), so operators can override one field.
        return (env_settings, init_settings)


def default_upstreams() -> dict[str, Any]:
    """The public vendors under their own names, used when the config names no upstream."""
    upstreams: dict[str, Any] = {"openai": {"vendor": "openai"}, "anthropic": {"vendor": "anthropic"}}
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
    if region:
        upstreams["bedrock"] = {"vendor": "bedrock", "region": region, "auth": {"type": "aws"}}
    return upstreams


def load_settings(
    config_path: Path | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    server: Mapping[str, Any] | None = None,
    **values_like_file: Any,
) -> Settings:
    """Build `Settings` from a YAML file (or `GLASSGATE_CONFIG`, or ./glassgate.yaml) and the environment.

    `values_like_file` stand in for the file's top-level fields (the environment still beats
    them); `host`, `port` and `server` (fields of the `server:` section, such as
    `{"shutdown_delay_s": 15}`) are command-line flags and beat everything. None means not given.
    """
    if config_path is None and os.environ.get("GLASSGATE_CONFIG"):
        config_path = Path(os.environ["GLASSGATE_CONFIG"])
    if config_path is None and Path("glassgate.yaml").is_file():
        config_path = Path("glassgate.yaml")
    values = read_config_file(config_path, os.environ) if config_path is not None else {}
    values.update({key: value for key, value in values_like_file.items() if value is not None})
    # pydantic-settings matches variable names case-insensitively; so must this check.
    has_env_upstreams = any(key.upper().startswith("GLASSGATE_UPSTREAMS") for key in os.environ)
    if "upstreams" not in values and not has_env_upstreams:
        values["upstreams"] = default_upstreams()
    try:
        values.setdefault("otlp", otlp_from_environment(os.environ))
        settings = Settings(**values)
    except (ValidationError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            raise ConfigError(describe_validation_error(exc)) from None
        raise ConfigError(f"invalid OTEL_* variables: {exc}") from None
    server_flags = {f"server.{name}": value for name, value in (server or {}).items()}
    return with_flags(settings, {"host": host, "port": port, **server_flags})
