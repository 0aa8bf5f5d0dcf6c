"""The profanity detector: whole words only, the usual disguises, options, exact offsets."""

from __future__ import annotations

import itertools
import random

import pytest

from glassgate.guardrails.detectors.profanity import ProfanityDetector, default_entries
from tests.unit.guardrails.toxicity_corpus import BENIGN, ODD_INPUTS, TOXIC

HARD_NEGATIVES = [
    "kill the process",
    "shoot me an email",
    "assume",
    "Scunthorpe",
    "cocktail",
    "class",
    "hello",
    "Please assess the classic glass bass passage in Essex and Sussex.",
    "Moby Dick was written by Herman Melville.",
    "He cocked his head and graduated cum laude.",
    "The shiitake mushrooms from Penistone are great.",
    "Compute f*g for two functions, then a**b and x*y.",
    "Order A55 and part 7175 shipped; the hash is a5s1e4.",
    "Hmmm, sooo good, yesss!",
    "What the heck, darn it, that sucks.",
]


def found(text: str, detector: ProfanityDetector | None = None) -> list[str]:
    matches = (detector or ProfanityDetector({})).scan(text)
    assert all(m.category == "PROFANITY" and m.score == 1.0 for m in matches)
    return [text[m.start : m.end] for m in matches]


@pytest.mark.parametrize("text", [*BENIGN, *HARD_NEGATIVES])
def test_no_false_positives_on_benign_text(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What the fuck is wrong with you?", ["fuck"]),
        ("This is the dumbest FUCKING question.", ["FUCKING"]),
        ("Go to hell, you piece of shit.", ["shit"]),
        ("Fuckin' hell, motherfucker!", ["Fuckin", "motherfucker"]),
        ("such bullshit (utter horseshit)", ["bullshit", "horseshit"]),
        ("two bitches and a shitty jackass", ["bitches", "shitty", "jackass"]),
        ("f*ck you, f**k, sh#t", ["f*ck", "f**k", "sh#t"]),
        ("sh1t b!tch $hit a$$ @ss bu11shit", ["sh1t", "b!tch", "$hit", "a$$", "@ss", "bu11shit"]),
        ("fuuuuck and SHIIIIT", ["fuuuuck", "SHIIIIT"]),
        ("f u c k, s.h.i.t and a-s-s", ["f u c k", "s.h.i.t", "a-s-s"]),
        ("fück ｆｕｃｋ fuсk", ["fück", "ｆｕｃｋ", "fuсk"]),  # accent, full width, Cyrillic с
        ("**fuck** and shit!!! and mother-fucker", ["fuck", "shit", "fucker"]),
        ("fuck_you and you_dipshits", ["fuck", "dipshits"]),
        ("don't be a dick, DICK", ["dick", "DICK"]),
        ("Stop whining, you spineless little twat.", ["twat"]),
    ],
)
def test_profanity_is_found_with_exact_offsets(text: str, expected: list[str]) -> None:
    assert found(text) == expected


def test_matches_come_in_order_and_never_overlap() -> None:
    text = "s h i t, then fuck, then f.u.c.k"
    matches = ProfanityDetector({}).scan(text)
    assert [m.start for m in matches] == sorted(m.start for m in matches)
    assert all(a.end <= b.start for a, b in itertools.pairwise(matches))
    assert found(text) == ["s h i t", "fuck", "f.u.c.k"]


def test_the_toxic_corpus_mostly_has_no_profanity_at_all() -> None:
    # Profanity is the narrow check; insults without swear words are the toxicity detector's job.
    hits = [text for text in TOXIC if found(text)]
    assert 8 <= len(hits) < len(TOXIC)


def test_extra_and_allowed_words() -> None:
    text = "Damn, this crap is shit."
    assert found(text) == ["shit"]
    assert found(text, ProfanityDetector({"extra_words": ["damn", "crap"]})) == ["Damn", "crap", "shit"]
    assert found(text, ProfanityDetector({"allowed_words": ["shit"]})) == []
    # allowing a word allows every form of it; allowing one form keeps the others
    assert found("shitty shits", ProfanityDetector({"allowed_words": ["shit"]})) == []
    assert found("shitty shits", ProfanityDetector({"allowed_words": ["shitty"]})) == ["shits"]
    # extra words take the list's markers: + for endings
    assert found("frakking frak", ProfanityDetector({"extra_words": ["frak+"]})) == ["frakking", "frak"]
    assert found("Dang it", ProfanityDetector({"extra_words": ["DANG"]})) == ["Dang"]


@pytest.mark.parametrize(
    "options",
    [
        {"extra_words": "damn"},
        {"extra_words": ["two words"]},
        {"allowed_words": ["x"]},
        {"allowed_words": 3},
        {"words": ["damn"]},
    ],
)
def test_bad_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="profanity"):
        ProfanityDetector(options)


def test_the_packaged_list_is_well_formed() -> None:
    entries = default_entries()
    assert 50 <= len(entries) <= 500
    assert all(entry.rstrip("+~").isalpha() and entry.islower() for entry in entries)
    assert len(set(entries)) == len(entries)
    forbidden = {"kill", "shoot", "hell", "class", "cocktail", "assume", "hello", "scunthorpe"}
    assert not forbidden & {entry.rstrip("+~") for entry in entries}


@pytest.mark.parametrize("text", ODD_INPUTS)
def test_odd_inputs_never_raise(text: str) -> None:
    for match in ProfanityDetector({}).scan(text):
        assert 0 <= match.start < match.end <= len(text)


def test_long_inputs_with_disguises_stay_linear() -> None:
    text = ("sh1t f*ck fuuuck s.h.i.t plain words here " * 2000)[:100_000]
    assert len(found(text)) > 1000


def test_the_quick_check_never_hides_a_match() -> None:
    """scan() skips the offset-finding pass when the word set rules a match out; that must be safe."""
    detector = ProfanityDetector({})
    pieces = [
        *["fuck", "Fuck", "f*ck", "f**k", "sh1t", "$hit", "a$$", "@ss", "fuuuck", "SHIIIT", "f u c k", "s.h.i.t"],
        *["f*u*c*k", "a*s*s", "fück", "ｆｕｃｋ", "fuсk", "Dick", "dick", "bu11shit", "b!tch", "sh#t", "asses"],
        *["hello", "class", "Scunthorpe", "İstanbul", "ǅ", "ß", "é", "—", "’", "word", "x", "a", "b", "1", "5"],
        *["-", "_", ".", "!", "$", "@", "*", "#", " ", "  ", "\n", "\t", "\xa0", "\u2003"],
    ]
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(pieces) + rng.choice(["", " ", ".", "-", "*", "$"]) for _ in range(rng.randint(1, 6)))
        full = set(detector._words(text)) | set(detector._spaced(text))
        assert not full or detector._may_match(text), text
