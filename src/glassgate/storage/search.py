"""Words for full-text search, cut the same way when spans are stored and when they are sought.

The search indexer, behind the writer (storage.search_indexer), turns each span's previews
into a `tsvector` literal itself: PostgreSQL then only parses a list of words instead of
running its text parser over a kilobyte of prose per span, which cost more than the rest of
the insert. Queries cut the search box the same way, so what is stored and what is sought
always agree.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+")
# For ASCII text (most prompts) the same cut is three times faster by mapping every ASCII
# character that is not a letter or digit to a space and splitting.
_ASCII_SEPARATORS = str.maketrans({code: " " for code in range(128) if not chr(code).isalnum()})
MAX_WORD_CHARS = 64  # longer runs (base64, hashes) are kept by their start, which prefix search finds
MAX_QUERY_WORDS = 16


def _split(text: str) -> list[str]:
    lowered = text.lower()
    split: list[str] = lowered.translate(_ASCII_SEPARATORS).split() if lowered.isascii() else _WORD.findall(lowered)
    return split


def words(text: str) -> list[str]:
    """Lower-case runs of letters and digits, in order, each cut to MAX_WORD_CHARS."""
    return [word[:MAX_WORD_CHARS] for word in _split(text)]


# The writer's cut, on UTF-8 bytes: every ASCII letter lower-cased, every other ASCII character
# a space, other bytes kept. Translating through a 256-byte table and keeping words as bytes
# until the one final join costs a fraction of cutting a str. Only the few chunks holding
# non-ASCII characters are cut again as text; in prose those are rare, but never absent: a
# clipped preview ends with "…", which used to send the whole text down the regex path (105 µs
# for two 1,000-character previews of prose; 55 µs now, most of it one object per word).
_WORD_BYTES = bytes(ord(chr(code).lower()) if chr(code).isalnum() else 32 for code in range(128)) + bytes(
    range(128, 256)
)


def document(*texts: str | None) -> str | None:
    """A tsvector literal of the distinct words of `texts` (only letters and digits: no quoting needed)."""
    ascii_words: set[bytes] = set()
    other_words: set[bytes] = set()  # cut before encoding: a byte cut could split a character
    for text in texts:
        if not text:
            continue
        chunks = text.encode(errors="replace").translate(_WORD_BYTES).split()  # a lone surrogate: "?"
        if text.isascii():
            ascii_words.update(chunks)
            continue
        for chunk in chunks:
            if chunk.isascii():
                ascii_words.add(chunk)
            else:
                # Bounded by ASCII separators in the whole text too, so cut alone it gives
                # the words `words(text)` would (lower-casing included).
                other_words.update(word.encode() for word in words(chunk.decode()))
    # Cutting after de-duplication touches each distinct word once, and long ones are rare.
    if max(map(len, ascii_words), default=0) > MAX_WORD_CHARS:
        ascii_words = {word[:MAX_WORD_CHARS] for word in ascii_words}
    found = ascii_words | other_words if other_words else ascii_words
    return b" ".join(found).decode() if found else None


def query(text: str) -> str | None:
    """A to_tsquery expression: every word must appear, the last one as a prefix (search as you type)."""
    sought = words(text)[:MAX_QUERY_WORDS]
    if not sought:
        return None
    return " & ".join([*sought[:-1], sought[-1] + ":*"])
