"""The contract of a remote guardrail provider, and the registry the built-ins join as plugins would.

A provider is the one part of guardrails that does IO: it sends the text of a request or an
answer to a service (Azure AI Content Safety, a Bedrock guardrail, a judge model) and turns
the service's verdict into findings. Like a detector it never returns the text itself; unlike
one it may fail in ways that are nobody's bug — a timeout, a refused connection, an answer
that makes no sense — and says so with `ProviderError`, whose message the span records (it
never carries a key or the scanned text). The caller bounds each check with the policy's
`timeout_ms` and applies its `on_error`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from glassgate.errors import GlassgateError
from glassgate.guardrails.text import TextField

if TYPE_CHECKING:
    from glassgate.config import GuardrailPolicy, GuardrailProvider
    from glassgate.proxy.credentials import CredentialProvider

Phase = Literal["input", "output"]


class ProviderError(GlassgateError):
    """A check that could not be done: the service was unreachable, refused, or answered nonsense."""


@dataclass(frozen=True, slots=True)
class RemoteFinding:
    """One thing a provider found, without the text it found."""

    field: int | None  # index into the texts checked; None: the texts as a whole
    category: str  # upper snake case: HATE, VIOLENCE, EMAIL, PROMPT_INJECTION…
    score: float  # 0–1
    start: int | None = None  # offsets into that field's text, when the provider locates what it found
    end: int | None = None


@dataclass(slots=True)
class Assessment:
    """What one check found, and anything the span should know about how it checked."""

    findings: list[RemoteFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the span (the caller names the policy and provider)


class RemoteCheck(Protocol):
    """Asks one remote service about texts; built once per policy, shared by every call."""

    name: str  # the detector name policies list: azure_content_safety, bedrock_guardrail, llm_judge

    async def check(self, texts: Sequence[TextField], phase: Phase) -> Assessment:
        """Findings for `texts` (never empty); ProviderError when the service cannot say."""
        ...

    async def close(self) -> None:
        """Let go of connections."""
        ...


class Response(Protocol):
    """An answer as glassgate.proxy.http1 gives it: status and headers, then the body in chunks."""

    status: int
    raw_headers: list[tuple[bytes, bytes]]

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    def release(self) -> None: ...


class Pool(Protocol):
    """Keep-alive connections to one origin (glassgate.proxy.http1.ConnectionPool; a fake in tests)."""

    async def request(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> Response: ...

    async def close(self) -> None: ...


PoolFactory = Callable[[str, str, int, float], Pool]  # scheme, host, port, timeout in seconds


class Upstream(Protocol):
    """What a provider may use of a configured upstream (glassgate.proxy.upstream.Upstream)."""

    vendor: str
    base_path: str

    @property
    def pool(self) -> Pool | None: ...  # None until the proxy has opened it

    @property
    def credential(self) -> CredentialProvider | None: ...  # None for passthrough


class Upstreams(Protocol):
    def get(self, name: str) -> Upstream | None: ...


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """What a provider may need from the proxy: the upstreams (a judge is called through one), and
    how to open a pool to its own service (the transport seam: tests pass a fake)."""

    upstreams: Upstreams
    open_pool: PoolFactory | None = None  # None: glassgate.proxy.http1.ConnectionPool


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """A provider type: the `provider` fields it needs and reads, and how to build it."""

    name: str
    required: frozenset[str]
    optional: frozenset[str]
    locates: bool  # its findings carry offsets, so a `redact` policy can use it
    factory: Callable[[GuardrailProvider, ProviderContext], RemoteCheck]
    check: Callable[[GuardrailProvider], None] = lambda options: None  # more validation; ValueError


_REGISTRY: dict[str, ProviderSpec] = {}
_COMMON_FIELDS = frozenset({"type", "timeout_ms"})


def register(spec: ProviderSpec) -> None:
    """Make a remote detector available to policies under `spec.name`."""
    _REGISTRY[spec.name] = spec


def registered() -> list[str]:
    return sorted(_REGISTRY)


def spec_of(name: str) -> ProviderSpec:
    return _REGISTRY[name]


def create(options: GuardrailProvider, context: ProviderContext) -> RemoteCheck:
    return _REGISTRY[options.type].factory(options, context)


def check_policy(policy: GuardrailPolicy) -> None:
    """A policy's remote detector and its `provider` block agree; ValueError naming the field."""
    remote = [name for name in policy.detectors if name in _REGISTRY]
    provider = policy.provider
    where = f"policy {policy.name!r}"
    if provider is None:
        if remote:
            raise ValueError(f"{where}: detector {remote[0]!r} is a remote provider; configure it in `provider`")
        return
    if provider.type not in _REGISTRY:
        raise ValueError(f"{where}: provider.type {provider.type!r} is unknown; known: {', '.join(registered())}")
    if remote != [provider.type]:
        raise ValueError(
            f"{where}: list exactly one remote detector, {provider.type!r} (provider.type), in `detectors`"
        )
    spec = _REGISTRY[provider.type]
    given = provider.model_fields_set - _COMMON_FIELDS
    _check_fields(where, spec, given)
    if policy.action == "redact" and not spec.locates:
        raise ValueError(
            f"{where}: {spec.name} does not say where in the text it found something, so it cannot redact; "
            "use action block or flag"
        )
    try:
        spec.check(provider)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _check_fields(where: str, spec: ProviderSpec, given: Collection[str]) -> None:
    missing = sorted(spec.required - set(given))
    if missing:
        raise ValueError(f"{where}: {spec.name} needs provider.{', provider.'.join(missing)}")
    unused = sorted(set(given) - spec.required - spec.optional)
    if unused:
        raise ValueError(f"{where}: {spec.name} does not use provider.{', provider.'.join(unused)}")
