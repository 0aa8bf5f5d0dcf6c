"""Reading judges' answers: well-formed, sloppy and malformed, never raising."""

from __future__ import annotations

import random

import pytest

from glassgate.evals.judges.verdict import Labels, Range, Scale, instructions, normal, parse_verdict

FACTUAL = Labels({"factual": 1, "hallucinated": 0})
GRADED = Labels({"correct": 1, "partially_correct": 0.5, "incorrect": 0})
TOXIC = Labels({"non_toxic": 1, "toxic": 0})
FIVE = Range(1, 5)
NO_LABEL = "judge answer matches no label: "

# (scale, answer, label, score, explanation) — explanation None: not checked
Readable = tuple[Scale, str, str | None, float | None, str | None]
WELL_FORMED: list[Readable] = [
    (
        FACTUAL,
        "EXPLANATION: Every claim is in the context.\nLABEL: factual",
        "factual",
        1.0,
        "Every claim is in the context.",
    ),
    (FACTUAL, "LABEL: hallucinated\nEXPLANATION: The date is invented.", "hallucinated", 0.0, "The date is invented."),
    (FACTUAL, '{"label": "factual", "explanation": "All supported."}', "factual", 1.0, "All supported."),
    (GRADED, "EXPLANATION: Misses the unit.\nLABEL: partially_correct", "partially_correct", 0.5, "Misses the unit."),
    (FIVE, "EXPLANATION: Faithful and complete.\nSCORE: 5", None, 5.0, "Faithful and complete."),
    (FIVE, '{"score": 3, "explanation": "Misses a point."}', None, 3.0, "Misses a point."),
    (TOXIC, "EXPLANATION: Polite.\nLABEL: non_toxic", "non_toxic", 1.0, "Polite."),
]
SLOPPY: list[Readable] = [
    (FACTUAL, "label: FACTUAL", "factual", 1.0, ""),
    (FACTUAL, "LaBeL: HaLLuCiNaTeD", "hallucinated", 0.0, None),
    (FACTUAL, "**Label:** Factual.", "factual", 1.0, None),
    (FACTUAL, "**LABEL**: **hallucinated**", "hallucinated", 0.0, None),
    (FACTUAL, "Label: `factual`", "factual", 1.0, None),
    (FACTUAL, 'LABEL: "factual"', "factual", 1.0, None),
    (FACTUAL, "LABEL: [hallucinated]", "hallucinated", 0.0, None),
    (FACTUAL, "LABEL = factual", "factual", 1.0, None),
    (FACTUAL, "LABEL - hallucinated", "hallucinated", 0.0, None),
    (FACTUAL, "LABEL：factual", "factual", 1.0, None),  # a full-width colon
    (FACTUAL, "LABEL: Factual – every claim is supported.", "factual", 1.0, None),
    (FACTUAL, "LABEL: factual, nothing hallucinated", "factual", 1.0, None),
    (FACTUAL, "LABEL: The answer is hallucinated.", "hallucinated", 0.0, None),
    (FACTUAL, "## Label\n\n**factual**", "factual", 1.0, None),
    (FACTUAL, "LABEL:\nhallucinated", "hallucinated", 0.0, None),
    (FACTUAL, "Let me think.\nThe dates match.\n\nLABEL: factual\n\nI hope this helps!", "factual", 1.0, None),
    (FACTUAL, "LABEL: factual\n(on reflection)\nLABEL: hallucinated", "hallucinated", 0.0, None),  # the last wins
    (FACTUAL, 'LABEL: factual\n```json\n{"label": "hallucinated", "explanation": "x"}\n```', "hallucinated", 0.0, "x"),
    (FACTUAL, '{"label": "factual"}\nOn second thought:\nLABEL: hallucinated', "hallucinated", 0.0, None),
    (FACTUAL, '```json\n{\n  "explanation": "All there.",\n  "label": "Factual"\n}\n```', "factual", 1.0, "All there."),
    (FACTUAL, '{"Label": "FACTUAL.", "Reasoning": "fine"}', "factual", 1.0, "fine"),
    (FACTUAL, "The claims check out.\n\nFactual", "factual", 1.0, "The claims check out."),
    (FACTUAL, "Verdict: hallucinated", "hallucinated", 0.0, None),
    (FACTUAL, "Final answer: factual", "factual", 1.0, None),
    (FACTUAL, "Answer: The capital is Paris.\nLABEL: factual", "factual", 1.0, None),  # LABEL beats answer
    (FACTUAL, "<think>LABEL: hallucinated?</think>\nLABEL: factual", "factual", 1.0, None),
    (FACTUAL, "<think>\nweighing it\n</think>", None, None, None),  # nothing outside, nothing inside either
    (GRADED, "LABEL: Partially Correct", "partially_correct", 0.5, None),
    (GRADED, "LABEL: partially-correct.", "partially_correct", 0.5, None),
    (GRADED, "LABEL: incorrect", "incorrect", 0.0, None),  # not "correct" inside "incorrect"
    (GRADED, "LABEL: correct", "correct", 1.0, None),
    (TOXIC, "LABEL: Non-Toxic", "non_toxic", 1.0, None),
    (TOXIC, "LABEL: non toxic, the text is polite", "non_toxic", 1.0, None),
    (TOXIC, "LABEL: toxic", "toxic", 0.0, None),
    (FIVE, "SCORE: 4/5", None, 4.0, None),
    (FIVE, "Score: 3.5 out of 5", None, 3.5, None),
    (FIVE, "**Rating:** 2", None, 2.0, None),
    (FIVE, "SCORE: 5.", None, 5.0, None),
    (FIVE, "The summary is faithful.\n4", None, 4.0, "The summary is faithful."),
    (FIVE, '{"score": "4", "explanation": "ok"}', None, 4.0, "ok"),
    (FIVE, "LABEL: 2", None, 2.0, None),  # a label line, for want of a SCORE line
    (FIVE, "SCORE: 1\nEXPLANATION: first line\nsecond line", None, 1.0, "first line\nsecond line"),
]
MALFORMED: list[tuple[Scale, str, str]] = [
    (FACTUAL, "", "judge answer is empty"),
    (FACTUAL, "   \n\t", "judge answer is empty"),
    (FACTUAL, "LABEL: banana", NO_LABEL),
    (FACTUAL, "LABEL: not factual", NO_LABEL),
    (FACTUAL, "LABEL: factual or hallucinated", NO_LABEL),
    (FACTUAL, "LABEL: factual, though one claim is hallucinated", NO_LABEL),
    (FACTUAL, "LABEL: <exactly one of: factual, hallucinated>", NO_LABEL),
    (FACTUAL, "I cannot decide.", NO_LABEL),
    (FACTUAL, "The answer is not hallucinated but I am unsure whether it is factual", NO_LABEL),
    (FACTUAL, "LABEL: factual\nLABEL: unsure", NO_LABEL),  # the final verdict rules, and it names no label
    (FACTUAL, '{"label": 7}', NO_LABEL),
    (FACTUAL, '{"label": {"nested": "factual"}}', NO_LABEL),
    (FACTUAL, "{label: factual", NO_LABEL),  # broken JSON, but a readable line: see below
    (TOXIC, "LABEL: not toxic", NO_LABEL),
    (FIVE, "SCORE: 7", "judge score 7 is outside the range 1–5: 'SCORE: 7'"),
    (FIVE, "SCORE: 0", "judge score 0 is outside the range 1–5"),
    (FIVE, "SCORE: -1", "judge score -1 is outside the range 1–5"),
    (FIVE, "SCORE: four", "judge answer has no score in 1–5"),
    (FIVE, '{"score": NaN}', "judge score nan is not a finite number"),
    (FIVE, '{"score": [4]}', "judge answer has a list where its verdict should be"),
    (FIVE, '{"score": true}', "judge score True is not a number"),
    (FIVE, "SCORE: 1e999", "judge score inf is not a finite number"),
    (FIVE, "It was decent overall.", "judge answer has no score in 1–5"),
    (FIVE, "Overall 4 of 5 points", "judge answer has no score in 1–5"),
]


@pytest.mark.parametrize(("scale", "answer", "label", "score", "explanation"), WELL_FORMED + SLOPPY)
def test_readable_answers(
    scale: Scale, answer: str, label: str | None, score: float | None, explanation: str | None
) -> None:
    result = parse_verdict(answer, scale)
    if score is None:
        assert result.error is not None and result.error.startswith(NO_LABEL)
        return
    assert (result.label, result.score, result.error) == (label, score, None)
    if explanation is not None:
        assert result.explanation == explanation


@pytest.mark.parametrize(("scale", "answer", "error"), MALFORMED)
def test_malformed_answers_are_item_errors(scale: Scale, answer: str, error: str) -> None:
    result = parse_verdict(answer, scale)
    if answer == "{label: factual":
        # Not JSON, but its line reads as "label: factual": accepted (the brace is stripped).
        assert result.label == "factual"
        return
    assert (result.score, result.label) == (None, None)
    assert result.error is not None and result.error.startswith(error), result.error


def test_the_table_is_big_enough() -> None:
    assert len(WELL_FORMED) + len(SLOPPY) + len(MALFORMED) >= 30


def test_a_no_label_error_quotes_the_answer_and_names_the_labels() -> None:
    result = parse_verdict("Thinking...\nLABEL: maybe", FACTUAL)
    assert result.error == "judge answer matches no label: 'Thinking... LABEL: maybe' (labels: factual, hallucinated)"
    long = parse_verdict("x" * 1000 + " LABEL: maybe", FACTUAL)
    assert (
        long.error is not None
        and len(long.error) < 300
        and long.error.endswith("maybe' (labels: factual, hallucinated)")
    )


def test_explanations_are_bounded() -> None:
    result = parse_verdict("EXPLANATION: " + "why " * 2000 + "\nLABEL: factual", FACTUAL)
    assert result.label == "factual"
    assert len(result.explanation) == 2000 and result.explanation.endswith("…")


def test_without_an_explanation_marker_the_rest_of_the_answer_explains() -> None:
    result = parse_verdict("The context names 1999, the answer 2001.\nLABEL: hallucinated\nThanks.", FACTUAL)
    assert result.explanation == "The context names 1999, the answer 2001.\nThanks."


def test_only_the_end_of_a_huge_answer_is_read() -> None:
    result = parse_verdict("{" * 100_000 + "\nLABEL: factual", FACTUAL)
    assert result.label == "factual"


@pytest.mark.parametrize("answer", [None, 3, b"LABEL: factual", ["LABEL: factual"]])
def test_an_answer_that_is_not_text_is_an_error(answer: object) -> None:
    assert parse_verdict(answer, FACTUAL).error == "judge answer is empty; expected one of factual, hallucinated"


def test_random_answers_never_raise() -> None:
    rng = random.Random(3)
    pieces = ["LABEL", "SCORE", ":", "{", "}", '"label"', "factual", "toxic", "not", "\n", " ", "**", "```", "4", "-"]
    pieces += ["<think>", "</think>", "EXPLANATION:", "[", "]", "1e400", "é", "\\", "'"]
    for _ in range(2000):
        answer = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        for scale in (FACTUAL, TOXIC, FIVE):
            result = parse_verdict(answer, scale)
            assert (result.error is None) == (result.score is not None)


def test_normal_form_of_labels() -> None:
    assert normal("Partially-Correct.") == "partially_correct"
    assert normal("  NON_toxic ") == "non_toxic"
    assert normal("**") == ""


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({"yes": 1}, "at least two labels"),
        ({"yes": 1, "YES!": 0}, "are the same once case and punctuation go"),
        ({"yes": 1, "no": "zero"}, "needs a finite number"),
        ({"yes": 1, "no": float("inf")}, "needs a finite number"),
        ({"yes": 1, "--": 0}, "has no letters or digits"),
    ],
)
def test_bad_label_sets(scores: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Labels(scores)


def test_bad_ranges() -> None:
    with pytest.raises(ValueError, match="low bound must be below"):
        Range(5, 1)
    with pytest.raises(ValueError, match="two finite numbers"):
        Range(0, float("inf"))


def test_the_instructions_ask_for_what_is_parsed() -> None:
    assert instructions(FACTUAL).endswith(
        "EXPLANATION: <one to three sentences saying why>\nLABEL: <exactly one of: factual, hallucinated>"
    )
    assert instructions(FIVE).endswith("SCORE: <a number from 1 to 5>")
    # An answer written exactly as asked reads back.
    assert parse_verdict("EXPLANATION: fine\nLABEL: hallucinated", FACTUAL).label == "hallucinated"
