"""The request head, byte for byte: what the caller gave, plus Host and Content-Length only.

The head is built as one `str` and encoded once (latin-1, so each character is one byte, the
same mapping the proxy used to decode the client's header bytes). Validation works on the
joined header block with a few C-speed scans instead of per-header checks: the block is valid
only if its CR and LF counts both equal its line count, which rules out header injection and
request splitting whichever field the bad byte hid in. The client owns the message framing,
so a caller's own Content-Length or Transfer-Encoding is refused rather than sent twice.
"""

from __future__ import annotations

# Methods whose requests carry a body by definition: they get `Content-Length: 0` even when
# empty, as some servers answer 411 Length Required otherwise.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def host_header(scheme: str, host: str, port: int) -> str:
    """The Host value for an origin: the port only when it is not the scheme's default."""
    name = f"[{host}]" if ":" in host else host  # an IPv6 literal
    default = 443 if scheme == "https" else 80
    return name if port == default else f"{name}:{port}"


def encode_head(method: str, target: str, headers: list[tuple[str, str]], body_length: int, host: str) -> bytes:
    """The request line and header block, ending in the blank line.

    Raises ValueError for a head that cannot be sent as is: CR, LF or NUL in a header, a
    method that is not letters only, a target with spaces or control characters or not in
    origin-form ("/…", or "*"), a framing header (Content-Length, Transfer-Encoding) among
    `headers`, or a character outside latin-1.
    """
    fields = "".join([f"{name}: {value}\r\n" for name, value in headers])
    # A leading CRLF makes "name at the start of a line" one substring test per name.
    probe = "\r\n" + fields.lower()
    if "\r\ncontent-length:" in probe or "\r\ntransfer-encoding:" in probe:
        raise ValueError("Content-Length and Transfer-Encoding are set by the HTTP client, not by the caller")
    count = len(headers)
    if fields.count("\n") != count or fields.count("\r") != count or "\0" in fields:
        raise ValueError("CR, LF and NUL are not allowed in header names or values")
    if not method.isalpha():
        raise ValueError("the method must be letters only")
    if " " in target or not target.isprintable() or not (target.startswith("/") or target == "*"):
        raise ValueError("the request target must be origin-form ('/path?query'), without spaces or controls")
    host_line = "" if "\r\nhost:" in probe else f"Host: {host}\r\n"
    length_line = f"Content-Length: {body_length}\r\n" if body_length or method in _BODY_METHODS else ""
    head = f"{method} {target} HTTP/1.1\r\n{host_line}{fields}{length_line}\r\n"
    try:
        return head.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("the request head must be latin-1 text") from None
