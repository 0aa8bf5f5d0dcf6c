"""Profanity: whole words from a word list (data/profanity_words.txt), seen through the usual disguises.

A word matches only as a whole word, so "Scunthorpe", "cocktail", "assume" and "class" never
match, and only words from the list match, so "kill the process" and "shoot me an email" do
not either. The disguises it sees through:

- case and accents: FUCK, fück, ｆｕｃｋ, and Latin look-alikes from Cyrillic or Greek in a word
  that also has Latin letters;
- letters written as digits or symbols: sh1t, b!tch, $hit, a$$, @ss (a word needs two letters
  other than digits, so codes such as "a55" pass);
- masked letters: f*ck, f**k, sh#t (matched against list words of the same length);
- stretched letters: fuuuuck, shiiit (runs of three or more; doubles are ordinary spelling);
- spaced letters: f u c k, s.h.i.t.

Every match scores 1.0 and covers the disguised word in the original text.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from glassgate.guardrails.base import Match
from glassgate.guardrails.detectors.options import check_keys

CATEGORY = "PROFANITY"
OPTIONS = ("extra_words", "allowed_words")
# Endings a "+" word also takes; those starting with a vowel (or y) may double the last consonant.
_ENDINGS = ("s", "es", "ed", "er", "ers", "ing", "ings", "in", "y")
_DOUBLING = ("ed", "er", "ers", "ing", "ings", "in", "y")
_ENTRY = re.compile(r"[a-z]{2,}[+~]?")

# Candidate words are runs of anything but space and these; the symbols that stand in for
# letters (@ $ !) or hide them (* #) stay inside words. Underscores and hyphens separate (fuck_you).
_SEPARATORS = "\"%&'()+,-./:;<=>?[\\]^_`{|}~‘’“”«»–—…·•"
_CANDIDATE = re.compile(f"[^\\s{re.escape(_SEPARATORS)}]+")
_BREAKS = str.maketrans(dict.fromkeys(_SEPARATORS, " "))
# Single letters joined by one or two of space . - * : "f u c k", "s.h.i.t".
_SPACED = re.compile(r"(?<![^\W_])[^\W\d_](?:[ .\-*]{1,2}[^\W\d_]){2,}(?![^\W_])")
# The same, looser and much faster (it starts with a literal), on lowered ASCII text whose
# separators, symbols and white space are all spaces: a hint that _SPACED may match.
_SPACED_HINT = re.compile(r" [a-z] {1,2}[a-z] {1,2}[a-z](?![a-z0-9])")
_ALL_BREAKS = str.maketrans(dict.fromkeys(_SEPARATORS + "@$!*#\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f", " "))
_STRETCH = re.compile(r"([^\W\d_])\1\1+", re.IGNORECASE)
_LEET_MAP = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
_LEET = str.maketrans(_LEET_MAP)
_LEET_L = str.maketrans({**_LEET_MAP, "1": "l"})  # 1 is l as often as i
_LOOK_ALIKES = str.maketrans(
    {"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ѕ": "s", "к": "k", "ο": "o"}
)
_MASKS = frozenset("*#")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Every accepted spelling of the list's words, mapped to the word it spells."""

    forms: Mapping[str, str]  # spelling -> list word
    not_title: frozenset[str]  # list words skipped when written Title-case (names: Dick)
    by_shape: Mapping[tuple[int, str], tuple[str, ...]]  # spellings by length and first letter (for f*ck)
    letters: str  # every letter in a spelling (the ones worth looking for stretched)

    @classmethod
    def of(cls, entries: Iterable[str], allowed: Iterable[str] = ()) -> Lexicon:
        allowed_set = frozenset(allowed)
        forms: dict[str, str] = {}
        not_title = set()
        for entry in entries:
            word = entry.rstrip("+~")
            if word in allowed_set:
                continue
            if entry.endswith("~"):
                not_title.add(word)
            for form in _spellings(word, inflect=entry.endswith("+")):
                if form not in allowed_set:
                    forms.setdefault(form, word)
        shapes: dict[tuple[int, str], list[str]] = {}
        for form in forms:
            shapes.setdefault((len(form), form[0]), []).append(form)
        by_shape = {shape: tuple(sorted(group)) for shape, group in shapes.items()}
        return cls(forms, frozenset(not_title), by_shape, "".join(sorted(set("".join(forms)))))


def _spellings(word: str, inflect: bool) -> Iterator[str]:
    yield word
    if inflect:
        for ending in _ENDINGS:
            yield word + ending
            if ending in _DOUBLING and word[-1] not in "aeiouy":
                yield word + word[-1] + ending


@functools.cache
def default_entries() -> tuple[str, ...]:
    """The packaged list's entries (read once per process)."""
    text = resources.files("glassgate.guardrails").joinpath("data", "profanity_words.txt").read_text("utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(line for line in lines if line)


def _word_list(option: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"detector 'profanity': option {option} must be a list of words, got {value!r}")
    words = [str(item).strip().lower() for item in value]
    bad = [word for word in words if not _ENTRY.fullmatch(word)]
    if bad:
        raise ValueError(f"detector 'profanity': {option} takes words of two or more letters a–z, not {bad}")
    return words


class ProfanityDetector:
    """Whole words from the profanity list, also when disguised; options `extra_words`, `allowed_words`."""

    name = "profanity"

    def __init__(self, options: Mapping[str, Any]) -> None:
        check_keys(self.name, options, OPTIONS)
        extra = _word_list("extra_words", options.get("extra_words"))
        allowed = [word.rstrip("+~") for word in _word_list("allowed_words", options.get("allowed_words"))]
        self._lexicon = Lexicon.of([*default_entries(), *extra], allowed)

    def scan(self, text: str) -> list[Match]:
        if not self._may_match(text):
            return []  # most text: decided from its set of words, without finding offsets
        spans = set(self._words(text)) | set(self._spaced(text))
        return [Match(CATEGORY, start, end, 1.0) for start, end in sorted(spans)]

    def _may_match(self, text: str) -> bool:
        """False only if `scan` would find nothing (it may say True and find nothing)."""
        forms = self._lexicon.forms
        lowered = text.lower()
        # translate is fast on ASCII only; elsewhere the regex is quicker
        words = set(lowered.translate(_BREAKS).split() if lowered.isascii() else _CANDIDATE.findall(lowered))
        if not words.isdisjoint(forms):
            return True
        stretches = _stretches(lowered, self._lexicon.letters)
        for word in words:
            if not (word.isascii() and word.isalpha()) or (stretches and _stretched(word, stretches)):
                start, end = _trim(word, 0)
                if self._disguised(word[start:end]) is not None:
                    return True
        if lowered.isascii():
            return _SPACED_HINT.search(" " + lowered.translate(_ALL_BREAKS)) is not None
        return _SPACED.search(text) is not None

    def _words(self, text: str) -> Iterator[tuple[int, int]]:
        forms = self._lexicon.forms
        stretches = _stretches(text.lower(), self._lexicon.letters)
        for candidate in _CANDIDATE.finditer(text):
            token = candidate.group()
            lowered = token.lower()
            if lowered.isascii() and lowered.isalpha() and not (stretches and _stretched(lowered, stretches)):
                word = forms.get(lowered)  # the fast path: a plain word
                start, end = candidate.span()
            else:
                start, end = _trim(token, candidate.start())
                word = self._disguised(text[start:end])
            if word is not None and not (word in self._lexicon.not_title and text[start:end].istitle()):
                yield start, end

    def _disguised(self, token: str) -> str | None:
        """The list word `token` spells through any of the disguises, if one."""
        forms = self._lexicon.forms
        if not token:
            return None
        lowered = token.lower()
        if not lowered.isascii():
            lowered = _fold(lowered)
        # two letters at least, counting $ @ ! but not digits, so codes such as a55 pass
        if sum(char.isalpha() or char in "$@!" for char in lowered) < 2 or not any(c.isalpha() for c in lowered):
            return None
        spellings = [lowered.translate(_LEET)]
        if "1" in lowered:
            spellings.append(lowered.translate(_LEET_L))
        for spelling in spellings:
            if spelling in forms:
                return forms[spelling]
            if _MASKS.intersection(spelling):
                word = self._unmask(spelling)
            else:
                word = next((forms[s] for s in _unstretched(spelling) if s in forms), None)
            if word is not None:
                return word
        return None

    def _unmask(self, spelling: str) -> str | None:
        # f*ck and f**k, but not f*g (a product in maths) or ***k
        masks = sum(char in _MASKS for char in spelling)
        if len(spelling) < 4 or not spelling[0].isalpha() or 2 * masks > len(spelling):
            return None
        for form in self._lexicon.by_shape.get((len(spelling), spelling[0]), ()):
            if all(s == f or s in _MASKS for s, f in zip(spelling, form, strict=True)):
                return self._lexicon.forms[form]
        return None

    def _spaced(self, text: str) -> Iterator[tuple[int, int]]:
        forms = self._lexicon.forms
        for run in _SPACED.finditer(text):
            joined = "".join(char for char in run.group().lower() if char.isalpha())
            if joined in forms:
                yield run.span()


def _stretches(lowered: str, letters: str) -> list[str]:
    """The runs of three of a letter in `lowered` (fuuuck: uuu), for the letters list words use."""
    return [letter * 3 for letter in letters if letter * 3 in lowered]


def _stretched(word: str, stretches: list[str]) -> bool:
    return any(stretch in word for stretch in stretches)


def _trim(token: str, offset: int) -> tuple[int, int]:
    """Offsets of `token` without leading or trailing punctuation ($ and @ may stand for s and a)."""
    start, end = 0, len(token)
    while start < end and not (token[start].isalnum() or token[start] in "@$"):
        start += 1
    while end > start and not (token[end - 1].isalnum() or token[end - 1] == "$"):
        end -= 1
    return offset + start, offset + end


def _fold(word: str) -> str:
    """Accents off (fück), compatibility forms plain (ｆｕｃｋ), look-alikes Latin in mixed words."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    if any("a" <= c <= "z" for c in folded):  # a word all in Cyrillic is Russian, not a disguise
        folded = folded.translate(_LOOK_ALIKES)
    return folded.lower()


def _unstretched(spelling: str) -> Iterator[str]:
    """`spelling` with each run of 3+ letters cut to one and to two (fuuuck: fuck, fuuck)."""
    parts = _STRETCH.split(spelling)  # [text, letter, text, letter, …, text]
    texts, letters = parts[0::2], parts[1::2]
    choices = (1, 2) if len(letters) <= 4 else (1,)  # 2^runs spellings: keep that small
    for counts in itertools.product(choices, repeat=len(letters)):
        spelled = texts[0]
        for letter, count, text in zip(letters, counts, texts[1:], strict=True):
            spelled += letter * count + text
        yield spelled
