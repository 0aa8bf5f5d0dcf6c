"""A sliding window over streamed tool-call arguments: JSON text that arrives in fragments.

A model writes a tool call's arguments as JSON text cut anywhere (`{"to": "ja`, `ne@exa`, …).
Detectors read what the JSON says, not how it is written: each string is decoded (`\\n`,
`\\u00e9`, `\\u003c`) and read through a `TextWindow` of its own, with its key as context
(`ssn: ` before the value of `"ssn"`), and so is each bare token (a card number written as a
JSON number). A match therefore never spans two values, a placeholder always lands inside a
string (a matched number becomes one), and the arguments stay valid JSON once assembled.

Released text is JSON text again: the model's own characters where nothing changed (escapes as
it wrote them), the JSON-escaped text where a value was redacted or, in the client's copy,
restored (so a restored value with a quote or a newline in it keeps the JSON valid). Only an
open string or token is ever held back: a well-formed call has released everything by its
closing brace. Arguments that do not start with `{` or `[` are not JSON and are read as text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from glassgate.guardrails.answers import AnswerGuard, Released, TextWindow

Path = tuple[str | int, ...]

_STRUCTURE = re.compile(r"[ \t\n\r{}\[\]:,]+")  # what sits between values: punctuation and JSON whitespace
_TOKEN = re.compile(r'[^ \t\n\r{}\[\]:,"]+')  # a bare token: a number, a literal, or text that is not JSON
_STRING_STOP = re.compile(r'["\\]')
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LITERALS = frozenset({"true", "false", "null"})
_ESCAPED = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_NOTHING: Released = ("", "")


def json_escaped(text: str) -> str:
    """`text` as the inside of a JSON string. A lone surrogate (half of a `\\ud83d\\ude00` pair
    cut apart by a redaction) is escaped again, as the model wrote it."""
    escaped = json.dumps(text, ensure_ascii=False)[1:-1]
    return _SURROGATE.sub(lambda found: f"\\u{ord(found[0]):04x}", escaped)


def _decoded_escape(raw: str) -> str:
    """The character a complete escape (`\\n`, `\\u00e9`) stands for; an invalid one as written."""
    if raw[1] == "u":
        return chr(int(raw[2:], 16)) if _HEX4.fullmatch(raw, 2) else raw
    return _ESCAPED.get(raw[1], raw)


@dataclass(slots=True)
class _Container:
    """An object or array the arguments are inside, and where its current value sits in it."""

    is_object: bool
    key: str | int  # the current key (object) or index (array)
    awaiting_key: bool = False  # an object whose next string is a key


@dataclass(slots=True)
class _OpenString:
    """A JSON string being read: its decoded text not yet released, and the raw text it came as.

    Most characters are written as themselves; `escapes` records the others (decoded position,
    how many more raw characters than decoded), to cut the raw text where the decoded is cut."""

    is_key: bool
    raw_start: int  # where its text starts in the arguments (after the opening quote)
    window: TextWindow = field(init=False)
    decoded: str = ""
    raw: str = ""
    total: int = 0  # decoded characters read
    released: int = 0  # decoded characters released
    escapes: list[tuple[int, int]] = field(default_factory=list)
    key_text: str = ""  # a key's whole text: the path and context of its value

    def add(self, decoded: str, raw: str) -> None:
        if len(raw) != len(decoded):
            self.escapes.append((self.total, len(raw) - len(decoded)))
        self.decoded += decoded
        self.raw += raw
        self.total += len(decoded)
        if self.is_key:
            self.key_text += decoded

    def raw_at(self, position: int) -> int:
        """The offset in the raw text of the decoded offset `position`."""
        return position + sum(extra for at, extra in self.escapes if at < position)

    def in_arguments(self, position: int) -> int:
        """The offset in the arguments, as the model wrote them, of the decoded offset `position`."""
        return self.raw_start + self.raw_at(position)

    def cut(self, upto: int) -> tuple[str, str]:
        """(decoded, raw) released up to decoded offset `upto`, dropped from what is held."""
        count, raw_count = upto - self.released, self.raw_at(upto) - self.raw_at(self.released)
        decoded, raw = self.decoded[:count], self.raw[:raw_count]
        self.decoded, self.raw, self.released = self.decoded[count:], self.raw[raw_count:], upto
        return decoded, raw


class _Output:
    """The JSON text released by one push, for the client and for the span."""

    __slots__ = ("client", "stored")

    def __init__(self) -> None:
        self.client: list[str] = []
        self.stored: list[str] = []

    def both(self, text: str) -> None:
        self.client.append(text)
        self.stored.append(text)

    def add(self, client: str, stored: str) -> None:
        self.client.append(client)
        self.stored.append(stored)

    def released(self) -> Released:
        return "".join(self.client), "".join(self.stored)


class ArgumentsWindow:
    """One streamed tool call's arguments: `push` each fragment, relay what comes back, `close`
    at the call's end. Each returns `Released` (client, stored) as JSON text.

    `json_text`: the assembled answer keeps the arguments as one JSON string (OpenAI's
    `arguments`): findings point at it, with offsets into it as the model wrote it. Otherwise
    (Anthropic's and Converse's `input`, an object) they point at each value, offsets into it."""

    __slots__ = (
        "_consumed",
        "_escape",
        "_guard",
        "_json_text",
        "_path",
        "_stack",
        "_started",
        "_string",
        "_text",
        "_token",
        "_token_at",
    )

    def __init__(self, guard: AnswerGuard, path: Path, *, json_text: bool) -> None:
        self._guard = guard
        self._path = path
        self._json_text = json_text
        self._consumed = 0  # characters of the arguments pushed before the current fragment
        self._started = False  # a character other than whitespace came: JSON or not is decided
        self._stack: list[_Container] = []
        self._string: _OpenString | None = None
        self._escape = ""  # an escape cut by the end of a fragment (`\`, `\u00`)
        self._token = ""  # a bare token not yet ended
        self._token_at = 0  # where it starts in the arguments
        self._text: TextWindow | None = None  # arguments that are not JSON, read as text

    def push(self, fragment: str) -> Released:
        """The JSON text to relay now for this fragment (possibly empty); nothing once blocked."""
        if self._guard.blocked_by is not None:
            return _NOTHING
        out = _Output()
        at = 0
        while at < len(fragment) and self._text is None and self._guard.blocked_by is None:
            at = self._read(fragment, at, out)
        if self._text is not None and at < len(fragment):
            out.add(*self._text.push(fragment[at:]))
        self._consumed += len(fragment)
        return out.released() if self._guard.blocked_by is None else _NOTHING

    def close(self) -> Released:
        """Everything still held, redacted and restored: the call ended (even cut short)."""
        if self._guard.blocked_by is not None:
            return _NOTHING
        out = _Output()
        if self._text is not None:
            out.add(*self._text.close())
        string, self._string = self._string, None
        if string is not None:
            if self._escape:  # cut inside an escape: kept as written
                string.add(self._escape, self._escape)
                out.add(*self._released(string, string.window.push(self._escape)))
            out.add(*self._released(string, string.window.close()))
        elif self._token:
            self._end_token(out)
        self._escape, self._stack = "", []
        return out.released() if self._guard.blocked_by is None else _NOTHING

    def _read(self, fragment: str, at: int, out: _Output) -> int:
        """Read one piece from `at` (a string's part, a bare token, punctuation); where it ends."""
        if self._string is not None:
            return self._read_string(fragment, at, out)
        char = fragment[at]
        if self._token or char not in ' \t\n\r{}[]:,"':
            if not self._started:
                return self._start_text(at)
            return self._read_token(fragment, at, out)
        if char == '"':
            self._started = True
            self._open_string(self._consumed + at + 1)
            out.both('"')
            return at + 1
        found = _STRUCTURE.match(fragment, at)
        assert found is not None
        self._follow(found.group())
        out.both(found.group())
        return found.end()

    def _start_text(self, at: int) -> int:
        """Arguments that start with neither `{` nor `[`: not JSON, read as plain text."""
        self._started = True
        start = self._consumed + at
        self._text = TextWindow(self._guard, self._path, locate=lambda offset: start + offset)
        return at

    def _follow(self, run: str) -> None:
        """Follow objects and arrays through punctuation, to know where the next value sits."""
        for char in run:
            top = self._stack[-1] if self._stack else None
            if char in "{[":
                self._started = True
                self._stack.append(_Container(char == "{", "" if char == "{" else 0, awaiting_key=char == "{"))
            elif char in "}]":
                if self._stack:
                    self._stack.pop()
            elif top is not None and char == ":":
                top.awaiting_key = False
            elif top is not None and char == ",":
                if top.is_object:
                    top.awaiting_key = True
                elif isinstance(top.key, int):
                    top.key += 1

    # --- strings --------------------------------------------------------------------------------

    def _open_string(self, raw_start: int) -> None:
        top = self._stack[-1] if self._stack else None
        is_key = top is not None and top.is_object and top.awaiting_key
        path = self._value_path(len(self._stack) - 1 if is_key else len(self._stack))
        context = "" if is_key else self._value_context()
        string = self._string = _OpenString(is_key, raw_start)
        locate = string.in_arguments if self._json_text else None
        string.window = TextWindow(self._guard, path, context=context, locate=locate)

    def _read_string(self, fragment: str, at: int, out: _Output) -> int:
        string = self._string
        assert string is not None
        read_before, closed = string.total, False
        while at < len(fragment):
            if self._escape:
                at = self._read_escape(fragment, at, string)
                continue
            stop = _STRING_STOP.search(fragment, at)
            end = stop.start() if stop is not None else len(fragment)
            if end > at:
                string.add(fragment[at:end], fragment[at:end])
            if stop is None:
                at = end
                break
            at = end + 1
            if stop.group() == '"':
                closed = True
                break
            self._escape = "\\"
        if string.total > read_before:
            new_text = string.decoded[read_before - string.released :]
            out.add(*self._released(string, string.window.push(new_text)))
        if closed and self._guard.blocked_by is None:
            out.add(*self._released(string, string.window.close()))
            out.both('"')
            self._string = None
            if string.is_key and self._stack:
                self._stack[-1].key = string.key_text
        return at

    def _read_escape(self, fragment: str, at: int, string: _OpenString) -> int:
        """Complete the escape begun in `_escape` from `fragment`; add it to `string` once whole."""
        escape = self._escape
        if len(escape) == 1:
            escape, at = escape + fragment[at], at + 1
        wanted = 6 if escape[1] == "u" else 2
        take = max(0, min(wanted - len(escape), len(fragment) - at))
        escape, at = escape + fragment[at : at + take], at + take
        if len(escape) < wanted:
            self._escape = escape
            return at
        self._escape = ""
        string.add(_decoded_escape(escape), escape)
        return at

    def _released(self, string: _OpenString, released: Released) -> Released:
        """The JSON text for what a string's window released: the raw text where it is unchanged."""
        upto = string.total - string.window.held
        if upto <= string.released:
            return _NOTHING
        decoded, raw = string.cut(upto)
        client, stored = released
        to_span = raw if stored == decoded else json_escaped(stored)
        if client == stored:
            return to_span, to_span
        return (raw if client == decoded else json_escaped(client)), to_span

    # --- bare tokens ----------------------------------------------------------------------------

    def _read_token(self, fragment: str, at: int, out: _Output) -> int:
        found = _TOKEN.match(fragment, at)
        if found is not None:
            if not self._token:
                self._token_at = self._consumed + at
            self._token += found.group()
            at = found.end()
        if at < len(fragment):  # a delimiter follows: the token is whole
            self._end_token(out)
        return at

    def _end_token(self, out: _Output) -> None:
        """Read a whole bare token; one that changes is written as a JSON string."""
        token, self._token = self._token, ""
        if token in _LITERALS:
            out.both(token)
            return
        start = self._token_at
        window = TextWindow(
            self._guard,
            self._value_path(len(self._stack)),
            context=self._value_context(),
            locate=(lambda offset: start + offset) if self._json_text else None,
        )
        first, rest = window.push(token), window.close()
        client, stored = first[0] + rest[0], first[1] + rest[1]
        to_span = token if stored == token else f'"{json_escaped(stored)}"'
        out.add(token if client == token else f'"{json_escaped(client)}"', to_span)

    # --- where a value sits ---------------------------------------------------------------------

    def _value_path(self, depth: int) -> Path:
        """Where findings point: the arguments string itself, or the value inside the input
        object (`depth` containers deep; a key points at its object)."""
        if self._json_text:
            return self._path
        return (*self._path, *(container.key for container in self._stack[: max(0, depth)]))

    def _value_context(self) -> str:
        """The key of the value about to be read, as the detectors' context ("ssn: ")."""
        for container in reversed(self._stack):
            if container.is_object and isinstance(container.key, str) and container.key:
                return f"{container.key}: "
        return ""
