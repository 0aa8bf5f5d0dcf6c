"""The pii detector: each category, its precision rules, options and exact offsets."""

from __future__ import annotations

import pytest

from glassgate.guardrails.detectors.checksums import card_number_ok, iban_ok, luhn_ok
from glassgate.guardrails.detectors.pii import CATEGORIES, DEFAULT_CATEGORIES, PiiDetector
from tests.unit.guardrails.corpus import HARD_NEGATIVES, PII, Sample, params

DETECTOR = PiiDetector()
EVERYTHING = PiiDetector({"categories": list(CATEGORIES)})


def found(text: str, detector: PiiDetector = DETECTOR) -> list[tuple[str, str]]:
    return [(m.category, text[m.start : m.end]) for m in detector.scan(text)]


@pytest.mark.parametrize("sample", params(PII, "a documented miss"))
def test_every_labelled_value_is_found_at_its_exact_offsets(sample: Sample) -> None:
    wanted = [label for label in sample.expect if label[0] in EVERYTHING.categories]
    assert sorted(found(sample.text, EVERYTHING)) == sorted(wanted)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me: jane@example.com.", [("EMAIL", "jane@example.com")]),
        ("call (212) 555-0187 now", [("PHONE", "(212) 555-0187")]),
        ("card 4111-1111-1111-1111", [("CREDIT_CARD", "4111-1111-1111-1111")]),
        ("SSN 536-22-1234", [("US_SSN", "536-22-1234")]),
        ("IBAN GB82 WEST 1234 5698 7654 32 thanks", [("IBAN", "GB82 WEST 1234 5698 7654 32")]),
        ("host 10.1.2.3:22", [("IP_ADDRESS", "10.1.2.3")]),
        ("host fe80::1ff:fe23:4567:890a", [("IP_ADDRESS", "fe80::1ff:fe23:4567:890a")]),
    ],
)
def test_each_category(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Order #123-456-7890",  # area code 123 cannot exist, and "#" names an identifier
        "Order #234-567-8901",
        "invoice no. 415-555-2671",
        "version 1.2.3.4",
        "upgrade to 10.0.0.1 please",
        "requests==2.31.0.1",
        "2024-01-02 10:30:45",
        "4111 1111 1111 1112",  # Luhn fails
        "4111 1111-1111 1111",  # mixed separators
        "DE89 3704 0044 0532 0130 01",  # mod-97 fails
        "000-12-3456 666-12-3456 912-12-3456 123-00-4567 123-45-0000 078-05-1120",
        "123 45 6789",  # spaced SSN shape without "SSN" before it
        "1704153600",
        "git@github.com:org/repo.git",
        "postgres://user:pw9@db.example.com/app",
        "icon@2x.png",
        "255.255.255.0 and 0.0.0.0",
        "std::vector and cafe::beef and 12:34:56",
    ],
)
def test_traps_are_not_pii(text: str) -> None:
    assert found(text) == []


def test_a_phone_word_before_the_hash_keeps_it_a_phone() -> None:
    assert found("phone #: 415-555-2671") == [("PHONE", "415-555-2671")]
    assert found("ssn# 536-22-1234") == [("US_SSN", "536-22-1234")]


def test_a_card_followed_by_its_expiry() -> None:
    assert found("card 4111 1111 1111 1111 12/27") == [("CREDIT_CARD", "4111 1111 1111 1111")]
    assert found("card 4111111111111111 020 nothing") == [("CREDIT_CARD", "4111111111111111")]


def test_a_bare_dotted_quad_is_an_address() -> None:
    assert found("ping 1.2.3.4") == [("IP_ADDRESS", "1.2.3.4")]


def test_scores_say_how_sure_the_pattern_is() -> None:
    scores = {m.category: m.score for m in DETECTOR.scan("x@y.io, 4111111111111111, +1 415 555 2671")}
    assert scores == {"EMAIL": 1.0, "CREDIT_CARD": 1.0, "PHONE": 0.9}
    assert [m.score for m in DETECTOR.scan("020 7946 0958")] == [0.8]


def test_street_addresses_are_opt_in() -> None:
    text = "I live at 123 Main Street, Springfield."
    assert found(text) == []
    assert found(text, PiiDetector({"categories": ["STREET_ADDRESS"]})) == [("STREET_ADDRESS", "123 Main Street")]
    assert "STREET_ADDRESS" not in DEFAULT_CATEGORIES


def test_categories_option_picks_a_subset() -> None:
    detector = PiiDetector({"categories": ["email"]})
    assert found("a@b.io 4111111111111111", detector) == [("EMAIL", "a@b.io")]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"categorie": ["EMAIL"]}, r"unknown option\(s\) categorie"),
        ({"categories": ["EMAIL", "PASSPORT"]}, "unknown categories PASSPORT"),
        ({"categories": "EMAIL"}, "must be a list"),
    ],
)
def test_bad_options_fail_at_creation(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PiiDetector(options)


def test_offsets_survive_characters_that_lower_to_two() -> None:
    text = "İİİ call 415-555-2671 or mail İ@x.io x@y.io"
    assert found(text) == [("PHONE", "415-555-2671"), ("EMAIL", "x@y.io")]


def test_hard_negatives_have_no_default_pii() -> None:
    assert [(s.text, found(s.text)) for s in HARD_NEGATIVES if found(s.text)] == []


def test_check_digits() -> None:
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
    assert card_number_ok("378282246310005") and not card_number_ok("1234567812345670")  # no such issuer
    assert not card_number_ok("4111111111111")  # Luhn fails
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST12345698765433")
    assert not iban_ok("XX82WEST12345698765432") and not iban_ok("GB82WEST1234569876543")
