"""The regex detector: a policy's own patterns and deny-list, validated when the policy loads."""

from __future__ import annotations

import pytest

from glassgate.guardrails.detectors.regex import MAX_PATTERN_LENGTH, RegexDetector


def found(detector: RegexDetector, text: str) -> list[tuple[str, str]]:
    return [(m.category, text[m.start : m.end]) for m in detector.scan(text)]


def test_a_list_of_patterns_reports_custom() -> None:
    detector = RegexDetector({"patterns": [r"TICKET-\d+", r"project \w+"]})
    text = "see TICKET-42 about project apollo"
    assert found(detector, text) == [("CUSTOM", "TICKET-42"), ("CUSTOM", "project apollo")]


def test_a_mapping_names_each_category() -> None:
    detector = RegexDetector({"patterns": {"TICKET_ID": r"TICKET-\d+", "CODENAME": r"(?i)apollo"}})
    assert found(detector, "TICKET-42 is APOLLO") == [("TICKET_ID", "TICKET-42"), ("CODENAME", "APOLLO")]


def test_deny_list_is_case_insensitive_whole_words() -> None:
    detector = RegexDetector({"deny": ["acme corp", "Falcon", "c++"]})
    text = "ACME  Corp ships falcon, not Falconry; we use C++."
    assert found(detector, text) == [("DENY_LIST", "ACME  Corp"), ("DENY_LIST", "falcon"), ("DENY_LIST", "C++")]


def test_longer_phrase_wins_at_the_same_place() -> None:
    detector = RegexDetector({"deny": ["acme", "acme corp"]})
    assert found(detector, "acme corp") == [("DENY_LIST", "acme corp")]


def test_matches_come_in_order_of_start() -> None:
    detector = RegexDetector({"patterns": [r"b+"], "deny": ["a"]})
    assert [m.start for m in detector.scan("bb a bb a")] == [0, 3, 5, 8]


def test_empty_options_find_nothing() -> None:
    assert RegexDetector({}).scan("anything") == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"patterns": ["ok", "(unclosed"]}, r"invalid pattern '\(unclosed'"),
        ({"patterns": {"TICKET": "[z-a]"}}, r"invalid pattern '\[z-a\]'"),
        ({"patterns": ["x*"]}, "matches the empty string"),
        ({"patterns": ["a" * (MAX_PATTERN_LENGTH + 1)]}, "over 1000 characters"),
        ({"patterns": {"ticket id": "T-1"}}, "upper snake case"),
        ({"patterns": [42]}, "is not a string"),
        ({"patterns": "T-1"}, "must be a list or a mapping"),
        ({"deny": "acme"}, "must be a list"),
        ({"deny": ["  "]}, "non-empty"),
        ({"deny": ["acme"], "allow": ["x"]}, r"unknown option\(s\) allow"),
    ],
)
def test_bad_configuration_fails_at_creation(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RegexDetector(options)
