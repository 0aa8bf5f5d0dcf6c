"""Credentials pasted into a prompt (detector `secrets`): vendor API keys, tokens, private keys,
connection strings with a password, and `password=…`-style assignments.

The shapes follow what gitleaks and detect-secrets document about each vendor's format (the
facts, not their code). Every pattern starts with a literal (`sk-`, `ghp_`, `AKIA`, `eyJ`,
`://`, …) and runs only after cheap `in` checks find that literal, so a clean 1.5 KB prompt
costs ~15 µs. There is deliberately no generic "high-entropy string" rule: base64 blobs in
code, hashes, UUIDs and git SHAs are not secrets, and flagging them would make the detector
unusable for blocking.

Rules beyond the shape:
- Random-looking bodies must mix upper case, lower case and digits (Slack's: letters and
  digits), so placeholders such as `sk-xxxxxxxx…` or `ghp_your_token_here` are not reported;
  nor are keys glued to a longer word (`ask-me-…`, `task-1234-…`).
- AWS documentation keys ending in `EXAMPLE` / `EXAMPLEKEY` are not reported.
- SLACK_TOKEN covers `xox[abprs]-` tokens and incoming-webhook URLs.
- AWS_SECRET_ACCESS_KEY (score 0.9): a 40-character base64 token within 120 characters after
  "aws" or "secret".
- AZURE_KEY: in a text that mentions Azure, a 32-hex key right after `api-key`, `api key`,
  `Ocp-Apim-Subscription-Key`, `azure…key` or any `…key:` / `…key=` setting (0.8); anywhere,
  the `AccountKey=` / `SharedAccessKey=` value of a connection string (1.0).
- JWT: three base64url parts whose first decodes to a JSON object with "alg".
- CONNECTION_STRING: `scheme://user:password@host[:port]` for database, queue, mail, LDAP,
  SSH and HTTP(S)/FTP schemes; the span is the whole URL up to the port.
- PASSWORD_ASSIGNMENT (0.9): `password`, `passwd`, `passphrase`, `pwd`, `api_key`,
  `secret_key`, `client_secret`, `access_token` or `auth_token` ending a setting name, then
  `=`, `:`, `:=`, `=>` or, in prose, "is"/"was", then a value; the span is the value. Not
  reported: placeholders (`${DB_PASSWORD}`, `<password>`, `****`, `changeme`, "your
  password"); unquoted values without a digit that are identifiers or follow "is"
  (`password=settings.db_password`, `password: str`, "the password is required"); paths
  (`PWD=/home/app`); and quoted phrases of plain words (labels such as "Mot de passe").
  An unquoted value ends at whitespace, a quote or `,;&<>()[]{}`.

Everything else scores 1.0.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from glassgate.guardrails.base import Match
from glassgate.guardrails.detectors.options import check_keys, pick_categories
from glassgate.guardrails.detectors.spans import ascii_lower, keep_best

CATEGORIES = (
    "PRIVATE_KEY",
    "JWT",
    "CONNECTION_STRING",
    "ANTHROPIC_KEY",
    "OPENAI_KEY",
    "GITHUB_TOKEN",
    "SLACK_TOKEN",
    "STRIPE_KEY",
    "GOOGLE_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AZURE_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "PASSWORD_ASSIGNMENT",
)

_END = r"(?![A-Za-z0-9_-])"
# Each pattern starts with its literal; the look-behind placed after it keeps that literal a
# search prefix (a leading look-behind would make `re` try every position of the text). The
# random part is the group `body` (must mix upper case, lower case and digits) or `alnum`
# (letters and digits: Slack's user tokens end in lower-case hex).
# (category, a character the key must contain, literals one of which it must contain, pattern).
# Both are checked with `in` before the pattern runs: a one-character `in` costs ~0.05 µs per
# 1.5 KB, a longer one ~0.8 µs, a pattern without a literal prefix ~10 µs. With no literals the
# pattern's own literal prefix is the check.
_SIMPLE: tuple[tuple[str, str, tuple[str, ...], re.Pattern[str]], ...] = (
    ("ANTHROPIC_KEY", "-", ("sk-ant-",), re.compile(r"sk-ant-(?<![\w-]sk-ant-)(?P<body>[A-Za-z0-9_-]{32,300})" + _END)),
    (
        "OPENAI_KEY",
        "-",
        ("sk-",),
        re.compile(
            r"sk-(?<![\w-]sk-)(?:(?:proj|svcacct|admin|None)-(?P<body>[A-Za-z0-9_-]{20,300})|(?P<legacy>[A-Za-z0-9]{32,300}))"
            + _END
        ),
    ),
    ("GITHUB_TOKEN", "_", (), re.compile(r"gh[pousr]_(?<![\w-]gh[pousr]_)(?P<body>[A-Za-z0-9]{36,255})" + _END)),
    (
        "GITHUB_TOKEN",
        "_",
        (),
        re.compile(r"github_pat_(?<![\w-]github_pat_)(?P<body>[A-Za-z0-9_]{22,255})" + _END),
    ),
    (
        "SLACK_TOKEN",
        "-",
        ("xox",),
        re.compile(r"xox[abprs]-(?<![\w-]xox[abprs]-)[0-9]{1,14}-(?P<alnum>[A-Za-z0-9-]{10,250})" + _END),
    ),
    (
        "SLACK_TOKEN",
        "/",
        ("hooks.slack.com",),
        re.compile(r"https://hooks\.slack\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{16,40}" + _END),
    ),
    (
        "STRIPE_KEY",
        "_",
        ("k_live_", "k_test_"),
        re.compile(r"[sr]k_(?:live|test)_(?<![\w-][sr]k_[a-z]{4}_)(?P<body>[A-Za-z0-9]{16,247})" + _END),
    ),
    ("GOOGLE_API_KEY", "A", (), re.compile(r"AIza(?<![\w-]AIza)[0-9A-Za-z_-]{35}" + _END)),
    (
        "AWS_ACCESS_KEY_ID",
        "A",
        (),
        re.compile(r"A(?:KIA|SIA|BIA|CCA)(?<![A-Za-z0-9]A[A-Z]{3})[A-Z2-7]{16}(?![A-Za-z0-9])"),
    ),
)
_MAX_JWT_HEADER = 400  # real headers are 36–200 characters; the cap bounds json.loads' nesting

_JWT = re.compile(r"eyJ(?<![\w-]eyJ)[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}" + _END)
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY = re.compile(r"(?:\s*[A-Za-z0-9+/=]{16,})*")

_URL_CREDENTIALS = re.compile(
    r"://(?P<user>[^\s:/?#@'\"<>]{1,128}):(?P<password>[^\s/@'\"<>]{1,256})@"
    r"(?:[A-Za-z0-9._-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?"
)
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.:-")
_CREDENTIAL_SCHEMES = frozenset((
    "postgres", "postgresql", "mysql", "mariadb", "mongodb", "redis", "rediss", "amqp", "amqps",
    "mssql", "sqlserver", "oracle", "cockroachdb", "clickhouse", "snowflake", "cassandra",
    "couchdb", "neo4j", "nats", "kafka", "memcached", "elasticsearch", "opensearch", "db2",
    "sybase", "smtp", "smtps", "imap", "imaps", "pop3", "ldap", "ldaps", "ftp", "ftps", "sftp",
    "ssh", "http", "https",
))  # fmt: skip

_B64_40 = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}")
_B64_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+=")
# In a text that mentions Azure: a named key header or setting, or any `…key:`/`…key=` setting.
_AZURE_CUE = re.compile(
    r"(?:(?:ocp-apim-subscription-key|subscription[-_ ]?key|azure[a-z_-]{0,30}key|api[-_ ]?key)[\"']?\s*(?::=|=>|[:=])?"
    r"|key[\"']?\s*(?::=|=>|[:=]))\s*[\"']?(?=[0-9a-f]{32}(?![0-9a-z]))"
)
_ACCOUNT_KEY = re.compile(r"[A-Za-z0-9+/]{20,}={0,2}")

_CUES = ("aws", "secret", "azure", "ocp-apim", "pass", "pwd", "key", "token")
# Setting names, found from the cue they contain: `pass` starts one, the others end one
# (api_key, client_secret, …). A name must end there: password_hint and api_key_id are not secrets.
_NAME_AT_CUE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("pass", re.compile(r"pass(?:word|wd|phrase)")),
    ("pwd", re.compile(r"pwd")),
    ("key", re.compile(r"(?:api[_-]?|secret[_-]?)key\Z")),
    ("secret", re.compile(r"client[_-]?secret\Z")),
    ("token", re.compile(r"(?:access|auth)[_-]?token\Z")),
)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")
_VALUE = re.compile(
    r"(?:[\"']?[ \t]*(?:=>|:=|=(?!=)|:(?!:))|[ \t]+(?P<prose>is|was))[ \t]*"
    r"(?:\"(?P<dq>[^\"\r\n]{1,256})\"|'(?P<sq>[^'\r\n]{1,256})'|(?P<bare>[^\s\"'`,;&<>(){}\[\]]{1,256}))"
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_PLAIN_WORDS = re.compile(r"[^\W\d_]+(?:[ '-][^\W\d_]+)+")
_PLACEHOLDER_WORDS = frozenset((
    "password", "passwd", "pass", "pwd", "secret", "token", "apikey", "api_key", "none", "null",
    "nil", "undefined", "true", "false", "string", "str", "text", "required", "optional", "example",
    "sample", "dummy", "redacted", "hidden", "masked", "empty", "todo", "tbd", "changeme",
    "change_me", "mypassword", "my_password", "yourpassword", "your_password", "your-password",
))  # fmt: skip
_PLACEHOLDER_PARTS = ("your", "example", "xxxx", "****", "${", "{{", "<", "placeholder", "redacted", "changeme")
_PLACEHOLDER_START = frozenset("$%{<[(@#*")


class SecretsDetector:
    """Finds credentials; option `categories` picks a subset of CATEGORIES."""

    name = "secrets"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        options = options or {}
        check_keys(self.name, options, {"categories"})
        self.categories = pick_categories(self.name, options, CATEGORIES, CATEGORIES)

    def scan(self, text: str) -> list[Match]:
        wanted = self.categories
        found: list[Match] = []
        for category, char, literals, pattern in _SIMPLE:
            if category in wanted and char in text and (not literals or any(lit in text for lit in literals)):
                found.extend(_simple(text, category, pattern))
        if "JWT" in wanted and "." in text:
            found.extend(_jwts(text))
        if "PRIVATE_KEY" in wanted and "-" in text and "PRIVATE KEY" in text:
            found.extend(_private_keys(text))
        if "CONNECTION_STRING" in wanted and "@" in text and "://" in text:
            found.extend(_connection_strings(text))
        low = ascii_lower(text)
        cues = {cue for cue in _CUES if cue in low}
        if "AWS_SECRET_ACCESS_KEY" in wanted and cues & {"aws", "secret"}:
            found.extend(_aws_secrets(text, low))
        if "AZURE_KEY" in wanted and (cues & {"azure", "ocp-apim"} or ("key" in cues and "key=" in low)):
            found.extend(_azure_keys(text, low))
        if "PASSWORD_ASSIGNMENT" in wanted and cues & {"pass", "pwd", "key", "secret", "token"}:
            found.extend(_assignments(text, low, cues))
        return keep_best(found, CATEGORIES)


def _mixed(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isupper() for c in value) and any(c.islower() for c in value)


def _simple(text: str, category: str, pattern: re.Pattern[str]) -> Iterator[Match]:
    for m in pattern.finditer(text):
        groups = m.groupdict()
        body = groups.get("body") or groups.get("legacy")
        if body is not None and not _mixed(body):
            continue
        alnum = groups.get("alnum")
        if alnum is not None and not (any(c.isdigit() for c in alnum) and any(c.isalpha() for c in alnum)):
            continue
        if m.group().endswith("EXAMPLE"):
            continue
        yield Match(category, m.start(), m.end(), 1.0)


def _jwts(text: str) -> Iterator[Match]:
    for m in _JWT.finditer(text):
        header = m.group().split(".", 1)[0]
        if len(header) > _MAX_JWT_HEADER:
            continue
        try:
            decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        except (binascii.Error, ValueError):  # ValueError covers bad UTF-8 and bad JSON
            continue
        if isinstance(decoded, dict) and "alg" in decoded:
            yield Match("JWT", m.start(), m.end(), 1.0)


def _private_keys(text: str) -> Iterator[Match]:
    for m in _PEM_BEGIN.finditer(text):
        end = _PEM_END.search(text, m.end())
        if end is not None:
            yield Match("PRIVATE_KEY", m.start(), end.end(), 1.0)
        else:  # truncated paste: the header and the base64 lines that follow it
            body = _PEM_BODY.match(text, m.end())
            yield Match("PRIVATE_KEY", m.start(), body.end() if body else m.end(), 1.0)


def _connection_strings(text: str) -> Iterator[Match]:
    for m in _URL_CREDENTIALS.finditer(text):
        start = m.start()
        while start > 0 and m.start() - start < 40 and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        scheme = ascii_lower(text[start : m.start()]).removeprefix("jdbc:").split("+", 1)[0]
        if scheme not in _CREDENTIAL_SCHEMES or _placeholder(m.group("password")):
            continue
        yield Match("CONNECTION_STRING", start, m.end(), 1.0)


def _aws_secrets(text: str, low: str) -> Iterator[Match]:
    for cue in ("aws", "secret"):
        at = low.find(cue)
        while at != -1:
            for m in _B64_40.finditer(text, at, at + 120):
                value = m.group()
                if text[m.end() : m.end() + 1] not in _B64_CHARS and _mixed(value) and "EXAMPLE" not in value:
                    yield Match("AWS_SECRET_ACCESS_KEY", m.start(), m.end(), 0.9)
            at = low.find(cue, at + 1)


def _azure_keys(text: str, low: str) -> Iterator[Match]:
    if "azure" in low or "ocp-apim" in low or "cognitiveservices" in low:
        for m in _AZURE_CUE.finditer(low):
            value = low[m.end() : m.end() + 32]
            if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
                yield Match("AZURE_KEY", m.end(), m.end() + 32, 0.8)
    for cue in ("accountkey=", "sharedaccesskey="):
        at = low.find(cue)
        while at != -1:
            key = _ACCOUNT_KEY.match(text, at + len(cue))
            if key is not None and _mixed(key.group()):
                yield Match("AZURE_KEY", key.start(), key.end(), 1.0)
            at = low.find(cue, at + 1)


def _setting_names(low: str, cues: set[str]) -> Iterator[int]:
    """End offsets of the secret-setting names in `low`."""
    for cue, name in _NAME_AT_CUE:
        if cue not in cues:
            continue
        at = low.find(cue)
        while at != -1:
            end = at + len(cue)
            found = name.match(low, at) if cue == "pass" else name.search(low, max(at - 8, 0), end)
            if found is not None and low[found.end() : found.end() + 1] not in _NAME_CHARS:
                yield found.end()
            at = low.find(cue, end)


def _assignments(text: str, low: str, cues: set[str]) -> Iterator[Match]:
    for end in _setting_names(low, cues):
        m = _VALUE.match(text, end)
        if m is None:
            continue
        group = "dq" if m.group("dq") is not None else "sq" if m.group("sq") is not None else "bare"
        value = m.group(group)
        if len(value) < 4 or _placeholder(value) or (group == "bare" and value[0] in "/~."):
            continue
        bare_word = group == "bare" and not any(c.isdigit() for c in value)
        if bare_word and (_IDENTIFIER.fullmatch(value) or m.group("prose")):
            continue  # a variable, a type or a prose word: password=settings.password, password: str
        if group != "bare" and _PLAIN_WORDS.fullmatch(value):
            continue  # a label: "password": "Mot de passe"
        yield Match("PASSWORD_ASSIGNMENT", m.start(group), m.end(group), 0.9)


def _placeholder(value: str) -> bool:
    lowered = value.strip().lower()
    if not lowered or lowered in _PLACEHOLDER_WORDS or value[0] in _PLACEHOLDER_START:
        return True
    if len(set(lowered)) == 1 or set(lowered) <= set("x*•.#_-"):
        return True
    return any(part in lowered for part in _PLACEHOLDER_PARTS)
