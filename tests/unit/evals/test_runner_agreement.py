"""evals.experiments' agreement statistics: exact agreement and Cohen's kappa, Pearson and MAE."""

from __future__ import annotations

from typing import Any

import pytest

from glassgate.evals.experiments import agreement, label_agreement, number_agreement


def pair(span: int, machine: Any, human: Any) -> dict[str, Any]:
    labelled = isinstance(machine, str)
    return {
        "span_id": f"s{span}",
        "machine_label": machine if labelled else None,
        "human_label": human if labelled else None,
        "machine_number": (1.0 if machine == "yes" else 0.0) if labelled else machine,
        "human_number": (1.0 if human == "yes" else 0.0) if labelled else human,
    }


def test_cohens_kappa_on_a_textbook_table() -> None:
    # 50 items: both yes 20, both no 15, machine yes/human no 5, machine no/human yes 10.
    pairs = [("yes", "yes")] * 20 + [("no", "no")] * 15 + [("yes", "no")] * 5 + [("no", "yes")] * 10
    result = label_agreement(pairs)
    assert result["exact_agreement"] == pytest.approx(0.7)
    assert result["cohen_kappa"] == pytest.approx(0.4)  # p_o 0.7, p_e 0.5
    assert result["confusion"][0] == {"machine": "yes", "human": "yes", "count": 20}


def test_kappa_is_undefined_when_chance_explains_everything() -> None:
    assert label_agreement([("yes", "yes")] * 4)["cohen_kappa"] is None
    assert label_agreement([]) == {"exact_agreement": None, "cohen_kappa": None, "confusion": []}


def test_pearson_and_mae() -> None:
    result = number_agreement([(1.0, 2.0), (2.0, 4.0), (3.0, 6.0)])
    assert result["pearson"] == pytest.approx(1.0)
    assert result["mae"] == pytest.approx(2.0)
    assert number_agreement([(1.0, 1.0)]) == {"pearson": None, "mae": 0.0}
    assert number_agreement([(1.0, 1.0), (1.0, 3.0)])["pearson"] is None  # the machine never varies


def test_pairs_are_read_for_labels_and_numbers() -> None:
    result = agreement([pair(1, "yes", "yes"), pair(1, "yes", "no"), pair(2, "no", "no")])
    assert (result["pairs"], result["spans"]) == (3, 2)
    assert result["exact_agreement"] == pytest.approx(2 / 3)
    assert result["mae"] == pytest.approx(1 / 3)
    numeric = agreement([pair(1, 4.0, 5.0), pair(2, 2.0, 1.0)])
    assert numeric["exact_agreement"] is None and numeric["mae"] == pytest.approx(1.0)
    assert numeric["pearson"] == pytest.approx(1.0)
