"""AWS Signature Version 4: verify what a client signed for Glassgate, sign what Glassgate sends.

Pure (no IO). botocore is the reference implementation and the tests compare against it;
this module exists because botocore's signer costs ~150 µs per request and the proxy does
it twice per call (verify, then re-sign). Here the derived signing key is cached per
(secret, day, region, service), so a signature is one HMAC over two short strings.

Canonical request (matching botocore for non-S3 services):
    method \\n quote(remove_dot_segments(path), safe="/~") \\n sorted raw query pairs \\n
    name:trimmed value lines \\n signed names \\n sha256(body)
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW = timedelta(minutes=5)  # AWS's own tolerance for X-Amz-Date
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request,\s*"
    r"SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})\s*$"
)


class SignatureError(ValueError):
    """The request's signature cannot be accepted; the message says why (never a secret)."""


@dataclass(frozen=True, slots=True)
class SignedCredential:
    """What the client's Authorization header claims."""

    access_key_id: str
    day: str  # YYYYMMDD
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> SignedCredential:
    match = _AUTHORIZATION.match(value.strip())
    if match is None:
        raise SignatureError("the Authorization header is not a well-formed AWS4-HMAC-SHA256 signature")
    akid, day, region, service, signed, signature = match.groups()
    return SignedCredential(akid, day, region, service, tuple(signed.split(";")), signature)


def _remove_dot_segments(path: str) -> str:
    if not path:
        return "/"
    kept: list[str] = []
    for segment in path.split("/"):
        if segment and segment != ".":
            if segment == "..":
                if kept:
                    kept.pop()
            else:
                kept.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and kept else ""
    return first + "/".join(kept) + last


def canonical_uri(raw_path: str) -> str:
    """SigV4 double-encodes for non-S3 services: the raw `%3A` becomes `%253A`."""
    return quote(_remove_dot_segments(raw_path), safe="/~")


def canonical_query(raw_query: str) -> str:
    if not raw_query:
        return ""
    pairs = sorted(pair.partition("=")[::2] for pair in raw_query.split("&"))
    return "&".join(f"{key}={value}" for key, value in pairs)


def _trim(value: str) -> str:
    return " ".join(value.split())


def canonical_headers(headers: Iterable[tuple[str, str]], signed: Iterable[str]) -> str:
    wanted = set(signed)
    values: dict[str, list[str]] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in wanted:
            values.setdefault(lowered, []).append(_trim(value))
    return "\n".join(f"{name}:{','.join(values.get(name, []))}" for name in sorted(wanted))


@lru_cache(maxsize=1024)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature(
    *,
    secret: str,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    signed_headers: Iterable[str],
    body_sha256: str,
    timestamp: str,
    region: str,
    service: str,
) -> str:
    """The hex signature of one request, as AWS computes it."""
    signed = sorted(set(signed_headers))
    canonical_request = "\n".join(
        (
            method,
            canonical_uri(raw_path),
            canonical_query(raw_query),
            canonical_headers(headers, signed) + "\n",
            ";".join(signed),
            body_sha256,
        )
    )
    day = timestamp[:8]
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    return hmac.new(_signing_key(secret, day, region, service), string_to_sign.encode(), hashlib.sha256).hexdigest()


def verify(
    credential: SignedCredential,
    *,
    secret: str,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> None:
    """Raise `SignatureError` unless the client signed exactly this request with `secret`."""
    if "host" not in credential.signed_headers:
        raise SignatureError("the signature must cover the Host header")
    timestamp = headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError("X-Amz-Date is missing or not in the form YYYYMMDDTHHMMSSZ") from None
    if timestamp[:8] != credential.day:
        raise SignatureError("X-Amz-Date does not match the day in the credential scope")
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        raise SignatureError(
            "the signature has expired or is dated in the future (X-Amz-Date is more than 5 minutes off)"
        )
    missing = [name for name in credential.signed_headers if name not in headers]
    if missing:
        raise SignatureError(f"signed headers are missing from the request: {', '.join(missing)}")
    expected = signature(
        secret=secret,
        method=method,
        raw_path=raw_path,
        raw_query=raw_query,
        headers=headers.items(),
        signed_headers=credential.signed_headers,
        body_sha256=headers.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest(),
        timestamp=timestamp,
        region=credential.region,
        service=credential.service,
    )
    if not hmac.compare_digest(expected, credential.signature):
        raise SignatureError("the request signature does not match; check the secret access key issued by Glassgate")


# Headers botocore never signs; signing them would break when an intermediary changes them.
_UNSIGNABLE = frozenset({"user-agent", "expect", "x-amzn-trace-id", "content-length", "accept-encoding"})


def sign(
    *,
    access_key_id: str,
    secret: str,
    session_token: str | None,
    method: str,
    host: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    region: str,
    service: str,
    now: datetime,
) -> list[tuple[str, str]]:
    """Return `headers` plus Host, X-Amz-Date, the session token and Authorization, signed."""
    timestamp = now.strftime("%Y%m%dT%H%M%SZ")
    out = [*headers, ("Host", host), ("X-Amz-Date", timestamp)]
    if session_token:
        out.append(("X-Amz-Security-Token", session_token))
    signed = sorted({name.lower() for name, _ in out if name.lower() not in _UNSIGNABLE})
    value = signature(
        secret=secret,
        method=method,
        raw_path=raw_path,
        raw_query=raw_query,
        headers=out,
        signed_headers=signed,
        body_sha256=hashlib.sha256(body).hexdigest(),
        timestamp=timestamp,
        region=region,
        service=service,
    )
    scope = f"{timestamp[:8]}/{region}/{service}/aws4_request"
    out.append(
        (
            "Authorization",
            f"{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={';'.join(signed)}, Signature={value}",
        )
    )
    return out
