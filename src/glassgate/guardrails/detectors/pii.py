"""Structured personal data (detector `pii`): e-mail addresses, phone numbers, payment cards,
US social security numbers, IBANs, IP addresses and, on request, street addresses.

How it stays fast (the budget is a fraction of a millisecond per 1.5 KB): Python's `re`
costs ~7 ns per character for a pattern that starts with a character class, but ~1 µs per
1.5 KB for one that starts with a literal. So there is a single character-class scan, for
"number runs" (digits mixed with spaces, dashes, dots, brackets, `+`, `/` and capitals), and
the number patterns then run only inside those short runs. E-mail addresses are found from
each `@`, IPv6 addresses from each `:`.

Precision rules (each is tested by the quality corpus in tests/unit/guardrails/corpus.py):
- Numbers glued to a longer number, a word, a path or a version (`v1.2.3.4`, `/123-45-6789`,
  `555-123-4567-8`) are not findings; the patterns look one character beyond each end.
- CREDIT_CARD: 13–19 digits, single spaces or dashes used uniformly, first group of 4 when
  grouped, a known issuer prefix and length, and the Luhn check. A candidate that runs on into
  the next number ("4111 1111 1111 1111 12/27") is retried without its trailing groups.
- IBAN: a country from the ISO 13616 length table, exactly that many characters, and mod-97.
- US_SSN: `AAA-GG-SSSS` (area not 000, 666 or 9xx; group not 00; serial not 0000; not the
  famous specimen numbers). The space-separated and bare 9-digit forms need "SSN" or "social
  security" in the 40 characters before.
- PHONE: `+` international (8–15 digits), North American `(415) 555-2671` / `415-555-2671`
  (area and exchange 2–9, separators required), or a European national number with a trunk 0
  (`020 7946 0958`, `(020) 7946 0958`, 9–12 digits, separated). Dates, times and bare digit
  strings never match.
- PHONE and US_SSN: a number whose last word before it is "order", "invoice", "ref", "ticket",
  `#` (but not "phone #" or "ssn#") and similar is an identifier, not personal data.
- IP_ADDRESS: IPv4 with octets 0–255, not 0.x.x.x and not a 255.x netmask, and not right
  after a version word (version, release, build, firmware, section, step, `==`, `>=`, …):
  a bare `1.2.3.4` is a valid address and is reported. IPv6 full or compressed, checked by the
  standard library's `ipaddress`, with at least two groups and a digit (so `cafe::`, `std::`
  and times such as 10:30:45 are not addresses).
- STREET_ADDRESS (off by default, score 0.7): US/UK "123 Main Street" with a street-type word,
  and only when an address cue is next to it (a comma and a capitalised place after, an
  apartment or suite, or "address", "live at", "ship to", … before).

Scores: 1.0 for checksum- or rule-validated values (cards, IBANs, SSNs, e-mail and IP
addresses), 0.9 for international and North American phones, 0.8 for European national phones,
0.7 for street addresses.

Person names are not detected: no cheap offline method reaches 0.9 precision (capitalised word
pairs fire on product names, places and greetings; spaCy NER costs 30–60 ms per 1.5 KB and its
models are not on PyPI, see the guardrails feasibility study).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

from glassgate.guardrails.base import Match
from glassgate.guardrails.detectors.checksums import IBAN_LENGTHS, card_number_ok, iban_ok
from glassgate.guardrails.detectors.options import check_keys, pick_categories
from glassgate.guardrails.detectors.spans import ascii_lower, keep_best

CATEGORIES = ("CREDIT_CARD", "IBAN", "US_SSN", "EMAIL", "IP_ADDRESS", "PHONE", "STREET_ADDRESS")
DEFAULT_CATEGORIES = frozenset(CATEGORIES) - {"STREET_ADDRESS"}

_RUN = re.compile(r"[0-9][0-9A-Z ().+/-]{5,}[0-9A-Z]")
_DIGITS = frozenset("0123456789")
_DROP_DIGITS = str.maketrans("", "", "0123456789")

# Shared edges: not glued to a word, a longer number, a version, a path or an e-mail address.
_LEFT = r"(?<![\w+.@/-])(?<![0-9][ .])"
_RIGHT = r"(?![0-9]|[ .-][0-9])"

# Cards, SSNs and phones in one pattern, so each number run costs one call; the alternative
# that matched is the match's `lastgroup`. Each alternative has its own right edge.
_NUMBER = re.compile(
    _LEFT
    + r"""(?:
        (?P<card>[0-9](?:[ -]?[0-9]){12,18})(?![\w])
      | (?P<ssn>(?P<area>[0-9]{3})(?P<dash>[- ]?)(?P<group>[0-9]{2})(?P=dash)(?P<serial>[0-9]{4}))(?![\w-]|[ .][0-9])
      | (?P<phone>
            \+[1-9][0-9]{6,14}
          | \+[1-9][0-9]{0,3}(?:[ .-]?\([0-9]{1,4}\)[0-9]{0,4}|[ .-][0-9]{1,8}){2,7}
          | (?:1[ .-])?(?:\([2-9][0-9]{2}\)\ ?|[2-9][0-9]{2}(?P<sep>[ .-]))[2-9][0-9]{2}(?(sep)(?P=sep)|[ .-])[0-9]{4}
          | 0[1-9][0-9]{0,3}(?:[ -][0-9]{2,8}){1,4}
          | \(0[1-9][0-9]{0,3}\)\ ?[0-9]{2,8}(?:[ -][0-9]{2,8}){0,3}
        )"""
    + _RIGHT
    + ")",
    re.VERBOSE,
)
_SSN_SPECIMENS = frozenset({"078051120", "219099999", "123456789"})
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = re.compile(rf"(?<![\w.-]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w-]|\.[0-9])")
# One pattern per IBAN length: the match ends exactly after the country's number of characters.
_IBAN = {
    length: re.compile(rf"(?<![A-Za-z0-9])[A-Z]{{2}}[0-9]{{2}}(?: ?[A-Z0-9]){{{length - 4}}}(?![A-Za-z0-9])")
    for length in set(IBAN_LENGTHS.values())
}

# The word right before a number says what it is: "Order #", "invoice no.", "ref:" name an
# identifier; "phone #", "ssn#" do not. Filler words between are skipped.
_CONTEXT_TOKEN = re.compile(r"[a-z]+|#")
_ID_WORDS = frozenset((
    "order", "invoice", "inv", "ref", "reference", "ticket", "case", "tracking", "sku", "serial", "account",
    "acct", "id", "po", "isbn", "model", "part", "batch", "lot", "receipt", "transaction", "txn",
    "confirmation", "booking", "claim", "policy", "member",
))  # fmt: skip
_FILLER = frozenset({"is", "was", "no", "nr", "num", "number"})
_HASH_OWNERS = frozenset({"phone", "tel", "mobile", "cell", "fax", "ssn", "ss", "number", "no"})
_SSN_CUE = re.compile(r"\bssn\b#?|\bss#|social security|\bsocial sec")
# A dotted quad right after a version word or a pin operator is a version, not an address.
_VERSION_TOKEN = re.compile(r"[a-z]+|~>|[=~<>^]=?|§")
_VERSION_WORDS = frozenset((
    "v", "version", "ver", "release", "rel", "build", "firmware", "fw", "kernel", "patch", "update",
    "upgrade", "upgraded", "downgrade", "downgraded", "sdk", "section", "chapter", "fig", "figure", "table",
    "step", "rule", "clause", "item", "paragraph", "§", "==", "~=", ">=", "<=", "^", "~>",
))  # fmt: skip

_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-'")
_EMAIL_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24})(?![A-Za-z0-9-])")
_IMAGE_SUFFIXES = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp"})

_HEX = frozenset("0123456789abcdefABCDEF")
_COLON_RUN = re.compile(r":[0-9A-Fa-f:.]*")

_STREET = re.compile(
    r"[0-9](?<![\w.][0-9])[0-9]{0,4}[A-Z]?\s+(?:[A-Z][a-z]+\.?\s+){1,3}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Terrace|Crescent"
    r"|Close|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Gardens|Row|Mews)\b\.?"
)
_STREET_AFTER = re.compile(r",\s*(?:[A-Z][a-z]|[A-Z]{2}\s+[0-9])|\s*,?\s*(?:Apt|Apartment|Suite|Unit|Flat|#)\b")
_STREET_BEFORE = re.compile(
    r"\b(?:address|addr|live|lives|living|located|ship|shipped|send|sent|deliver|delivered|mail|mailed|visit"
    r"|move|moved|moving|office|at|to|from)\b[\s:]*$"
)


class PiiDetector:
    """Finds structured PII; option `categories` picks a subset of CATEGORIES."""

    name = "pii"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        options = options or {}
        check_keys(self.name, options, {"categories"})
        self.categories = pick_categories(self.name, options, CATEGORIES, DEFAULT_CATEGORIES)

    def scan(self, text: str) -> list[Match]:
        wanted = self.categories
        found: list[Match] = []
        if "EMAIL" in wanted and "@" in text:
            found.extend(_emails(text))
        if wanted & {"CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS", "PHONE"}:
            found.extend(_numbers(text, wanted))
        if "IP_ADDRESS" in wanted and ("::" in text or text.count(":") >= 7):
            found.extend(_ipv6(text))
        if "STREET_ADDRESS" in wanted:
            found.extend(_streets(text))
        return keep_best(found, CATEGORIES)


def _numbers(text: str, wanted: frozenset[str]) -> Iterator[Match]:
    for run in _RUN.finditer(text):
        start, hi = run.span()
        lo = max(start - 2, 0)
        chunk = run.group()
        if _count_digits(chunk) >= 8 and wanted & _NUMBER_KINDS:
            pos = lo
            while (m := _NUMBER.search(text, pos, hi)) is not None:
                kind = m.lastgroup
                match = _card(m) if kind == "card" else _ssn(text, m) if kind == "ssn" else _phone(text, m)
                if match is not None and match.category in wanted:
                    yield match
                pos = m.end() if match is None else match.end
        if "." in chunk and "IP_ADDRESS" in wanted:
            yield from _ipv4s(text, lo, hi)
        if "IBAN" in wanted and start >= 2 and text[start - 2 : start] in IBAN_LENGTHS:
            iban = _IBAN[IBAN_LENGTHS[text[start - 2 : start]]].match(text, start - 2)
            if iban is not None and iban_ok(iban.group().replace(" ", "")):
                yield Match("IBAN", iban.start(), iban.end(), 1.0)


_NUMBER_KINDS = frozenset({"CREDIT_CARD", "US_SSN", "PHONE"})


def _count_digits(chunk: str) -> int:
    return len(chunk) - len(chunk.translate(_DROP_DIGITS))


def _card(m: re.Match[str]) -> Match | None:
    """The candidate, or failing that the candidate without its last groups ("4111 … 1111 12/27")."""
    value = m.group()
    while value:
        separators = set(value.translate(_DROP_DIGITS))
        # one kind of separator, and a first group of four digits if grouped
        grouped_well = len(separators) <= 1 and (not separators or value[4:5] in separators)
        if grouped_well and card_number_ok(value.replace(" ", "").replace("-", "")):
            return Match("CREDIT_CARD", m.start(), m.start() + len(value), 1.0)
        cut = max(value.rfind(" "), value.rfind("-"))
        value = value[:cut] if cut > 0 else ""
    return None


def _ssn(text: str, m: re.Match[str]) -> Match | None:
    area, group, serial = m.group("area", "group", "serial")
    if area in {"000", "666"} or area[0] == "9" or group == "00" or serial == "0000":
        return None
    if area + group + serial in _SSN_SPECIMENS:
        return None
    context = text[max(m.start() - 40, 0) : m.start()]
    if m.group("dash") != "-" and not _SSN_CUE.search(ascii_lower(context)):
        return None  # 123 45 6789 and 123456789 only right after "SSN" or "social security"
    if _names_identifier(context):
        return None
    return Match("US_SSN", m.start(), m.end(), 1.0)


def _phone(text: str, m: re.Match[str]) -> Match | None:
    value = m.group()
    digits = _count_digits(value)
    if value[0] == "+":
        ok, score = 8 <= digits <= 15, 0.9
    elif value[0] == "0" or value.startswith("(0"):
        ok, score = 9 <= digits <= 12, 0.8
    else:
        ok, score = digits in (10, 11), 0.9
    if not ok or _names_identifier(text[max(m.start() - 24, 0) : m.start()]):
        return None
    return Match("PHONE", m.start(), m.end(), score)


def _names_identifier(before: str) -> bool:
    """True if the last word before a number names an identifier ("Order #", "invoice no.")."""
    tokens = _CONTEXT_TOKEN.findall(ascii_lower(before[-24:]))
    for index in range(len(tokens) - 1, -1, -1):
        token = tokens[index]
        if token == "#":
            return index == 0 or tokens[index - 1] not in _HASH_OWNERS
        if token not in _FILLER:
            return token in _ID_WORDS
    return False


def _ipv4s(text: str, lo: int, hi: int) -> Iterator[Match]:
    for m in _IPV4.finditer(text, lo, hi):
        first = m.group().split(".", 1)[0]
        if first in {"0", "255"} or _after_version_word(text[max(m.start() - 20, 0) : m.start()]):
            continue
        yield Match("IP_ADDRESS", m.start(), m.end(), 1.0)


def _after_version_word(before: str) -> bool:
    for token in reversed(_VERSION_TOKEN.findall(ascii_lower(before))):
        if token not in {"is", "was", "to"}:
            return token in _VERSION_WORDS
    return False


def _emails(text: str) -> Iterator[Match]:
    at = text.find("@")
    while at != -1:
        match = _email_at(text, at)
        if match is not None:
            yield match
        at = text.find("@", at + 1)


def _email_at(text: str, at: int) -> Match | None:
    start = at
    while start > 0 and text[start - 1] in _EMAIL_LOCAL and at - start <= 64:
        start -= 1
    while start < at and text[start] in ".'":  # a quote before the address is not part of it
        start += 1
    if start == at or at - start > 64 or text[at - 1] == "." or (start > 0 and text[start - 1].isalnum()):
        return None
    domain = _EMAIL_DOMAIN.match(text, at + 1)
    if domain is None:
        return None
    end = domain.end()
    # scp-style remotes (git@github.com:org/repo) and URL credentials (scheme://user:pw@host).
    if text[end : end + 1] == ":" and text[end + 1 : end + 2].strip():
        return None
    token_start = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start), start - 200, 0)
    if "://" in text[token_start:start]:
        return None
    if domain.group(1).lower() in _IMAGE_SUFFIXES and domain.group().count(".") == 1:
        return None  # icon@2x.png
    return Match("EMAIL", start, end, 1.0)


def _ipv6(text: str) -> Iterator[Match]:
    for m in _COLON_RUN.finditer(text):
        start = m.start()
        while start > 0 and m.start() - start < 4 and text[start - 1] in _HEX:
            start -= 1
        end = m.end()
        while end > start and text[end - 1] == ".":
            end -= 1
        if text[end - 1] == ":" and text[end - 2 : end] != "::":
            end -= 1
        token = text[start:end]
        if (start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_:.")) or (
            end < len(text) and (text[end].isalnum() or text[end] == "_")
        ):
            continue
        if not ("::" in token or token.count(":") == 7) or not any(char in _DIGITS for char in token):
            continue
        if sum(1 for group in token.split(":") if group) < 2:
            continue
        try:
            ipaddress.IPv6Address(token)
        except ValueError:
            continue
        yield Match("IP_ADDRESS", start, end, 1.0)


def _streets(text: str) -> Iterator[Match]:
    for m in _STREET.finditer(text):
        before = ascii_lower(text[max(m.start() - 24, 0) : m.start()])
        if _STREET_AFTER.match(text, m.end()) or _STREET_BEFORE.search(before):
            yield Match("STREET_ADDRESS", m.start(), m.end(), 0.7)
