"""Words for full-text search, cut the same way when spans are stored and when they are sought.

The writer turns each span's previews into a `tsvector` literal itself: PostgreSQL then only
parses a list of words instead of running its text parser over a kilobyte of prose per span,
which cost more than the rest of the insert. Queries cut the search box the same way, so
what is stored and what is sought always agree.
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


def document(*texts: str | None) -> str | None:
    """A tsvector literal of the distinct words of `texts` (only letters and digits: no quoting needed)."""
    found: set[str] = set()
    for text in texts:
        if text:
            found.update(_split(text))
    if not found:
        return None
    # Cutting after de-duplication touches each distinct word once, and long ones are rare.
    return " ".join({word[:MAX_WORD_CHARS] for word in found} if any(len(w) > MAX_WORD_CHARS for w in found) else found)


def query(text: str) -> str | None:
    """A to_tsquery expression: every word must appear, the last one as a prefix (search as you type)."""
    sought = words(text)[:MAX_QUERY_WORDS]
    if not sought:
        return None
    return " & ".join([*sought[:-1], sought[-1] + ":*"])
