"""The secrets detector: each credential shape, placeholders, options and exact offsets."""

from __future__ import annotations

import base64

import pytest

from glassgate.guardrails.detectors.secrets import CATEGORIES, SecretsDetector
from tests.unit.guardrails.corpus import HARD_NEGATIVES, KEYS, SECRETS, Sample

DETECTOR = SecretsDetector()


def found(text: str, detector: SecretsDetector = DETECTOR) -> list[tuple[str, str]]:
    return [(m.category, text[m.start : m.end]) for m in detector.scan(text)]


@pytest.mark.parametrize("sample", SECRETS, ids=lambda s: s.text[:40])
def test_every_labelled_secret_is_found_at_its_exact_offsets(sample: Sample) -> None:
    wanted = [label for label in sample.expect if label[0] in CATEGORIES]
    assert sorted(found(sample.text)) == sorted(wanted)


@pytest.mark.parametrize("sample", HARD_NEGATIVES, ids=lambda s: s.text[:40])
def test_no_secret_in_hard_negatives(sample: Sample) -> None:
    assert found(sample.text) == []


def test_every_category_has_a_generated_or_written_example() -> None:
    labelled = {category for sample in SECRETS for category, _ in sample.expect}
    assert set(CATEGORIES) <= labelled


def test_a_specific_key_wins_over_the_assignment_it_sits_in() -> None:
    key = KEYS["OPENAI_KEY"][1]
    assert found(f"OPENAI_API_KEY={key}") == [("OPENAI_KEY", key)]


@pytest.mark.parametrize(
    "text",
    [
        "ask-me-anything-about-the-sdk-and-the-api-today",
        "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",  # placeholder: no digits, one case
        "ghp_" + "x" * 36,
        "AKIA" + "IOSFODNN7EXAMPLE",  # the AWS documentation key
        "eyJub3QiOiJqd3QifQ.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl",  # header has no "alg"
        "eyJ" + "a" * 30 + "." + "b" * 30 + "." + "c" * 30,  # header is not JSON
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n-----END PUBLIC KEY-----",
        "postgres://user:${DB_PASSWORD}@db/app",
        "password: str",
        "password = get_password()",
        '"password": "Enter your password"',
        "password_hint = 'first pet'",
    ],
)
def test_traps_are_not_secrets(text: str) -> None:
    assert found(text) == []


def test_jwt_needs_a_json_header_with_alg() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip("=")
    token = f"{header}.eyJzdWIiOiIxMjMifQ.{'s' * 20}"
    assert found(f"Bearer {token}") == [("JWT", token)]


def test_a_truncated_private_key_covers_its_header_and_body() -> None:
    header = "-" * 5 + "BEGIN RSA PRIVATE KEY" + "-" * 5  # assembled, so no scanner flags this file
    body = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"
    text = f"{header}\n{body}\n\nthat's all I have"
    assert found(text) == [("PRIVATE_KEY", f"{header}\n{body}")]


def test_connection_string_covers_scheme_to_port() -> None:
    text = "use mysql+pymysql://app:Xy7pQ2wL@db.internal:3306/shop?charset=utf8"
    assert found(text) == [("CONNECTION_STRING", "mysql+pymysql://app:Xy7pQ2wL@db.internal:3306")]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("password=Xy7pQ2wL", "Xy7pQ2wL"),
        ('"passwd": "Xy7 pQ2 wL"', "Xy7 pQ2 wL"),
        ("client_secret => 'Xy7pQ2wL'", "Xy7pQ2wL"),
        ("my password is Xy7pQ2wL.", "Xy7pQ2wL."),
    ],
)
def test_assignment_span_is_the_value(text: str, value: str) -> None:
    assert found(text) == [("PASSWORD_ASSIGNMENT", value)]


def test_scores() -> None:
    assert {m.score for m in DETECTOR.scan(f"token {KEYS['GITHUB_TOKEN'][0]}")} == {1.0}
    assert {m.score for m in DETECTOR.scan("password=Xy7pQ2wL")} == {0.9}


def test_categories_option_and_unknown_keys() -> None:
    only_passwords = SecretsDetector({"categories": ["PASSWORD_ASSIGNMENT"]})
    assert found(f"password=Xy7pQ2wL {KEYS['GITHUB_TOKEN'][0]}", only_passwords) == [
        ("PASSWORD_ASSIGNMENT", "Xy7pQ2wL")
    ]
    with pytest.raises(ValueError, match="unknown option"):
        SecretsDetector({"entropy": 4.5})
    with pytest.raises(ValueError, match="unknown categories HIGH_ENTROPY"):
        SecretsDetector({"categories": ["HIGH_ENTROPY"]})
