"""PCA by power iteration, k-means and cluster labels, in pure Python (no IO)."""

from __future__ import annotations

import math
import random

import pytest

from glassgate.embeddings.hashed import embed_text
from glassgate.embeddings.projection import cluster_labels, kmeans, principal_axes, project


def dot(first: list[float], second: list[float]) -> float:
    return sum(a * b for a, b in zip(first, second, strict=True))


def test_the_first_axis_follows_the_direction_of_largest_variance() -> None:
    generator = random.Random(7)
    direction = [1.0, 2.0, -2.0, 0.0, 0.0, 0.0]
    norm = math.hypot(*direction)
    unit = [value / norm for value in direction]
    rows = []
    for _ in range(300):
        along = generator.gauss(0, 5)
        rows.append([3.0 + along * u + generator.gauss(0, 0.3) for u in unit])
    mean, axes = principal_axes(rows)
    assert abs(dot(axes[0], unit)) > 0.999
    assert abs(dot(axes[0], axes[1])) < 1e-9 and math.isclose(math.hypot(*axes[1]), 1.0)
    assert mean[0] == pytest.approx(3.0, abs=0.5)


def test_axes_match_a_plain_covariance_power_iteration() -> None:
    generator = random.Random(3)
    rows = [[generator.gauss(0, scale) for scale in (4.0, 2.0, 1.0, 0.5, 0.2)] for _ in range(400)]
    _, axes = principal_axes(rows)
    # The covariance matrix, built the slow and obvious way.
    size = len(rows)
    mean = [sum(column) / size for column in zip(*rows, strict=True)]
    centred = [[a - m for a, m in zip(row, mean, strict=True)] for row in rows]
    covariance = [[sum(r[i] * r[j] for r in centred) / size for j in range(5)] for i in range(5)]
    vector = [1.0] * 5
    for _ in range(500):
        vector = [dot(row, vector) for row in covariance]
        length = math.hypot(*vector)
        vector = [value / length for value in vector]
    assert abs(dot(axes[0], vector)) > 0.9999


def test_the_same_data_gives_the_same_orientation() -> None:
    rows = [embed_text(f"order {n} refund shipping delay") for n in range(30)] + [embed_text("hello")] * 3
    first = principal_axes(rows)
    assert principal_axes(list(rows)) == first
    for axis in first[1]:
        assert max(axis) >= -min(axis), "the largest coordinate is positive"


def test_degenerate_samples_still_get_two_axes() -> None:
    for rows in ([[0.5, 0.5, 0.0]], [[1.0, 0.0, 0.0]] * 5):
        mean, axes = principal_axes(rows)
        assert len(axes) == 2 and abs(dot(axes[0], axes[1])) < 1e-12
        assert all(abs(value) < 1e-12 for point in project(rows, mean, axes) for value in point)


def test_kmeans_separates_two_obvious_groups_and_numbers_the_largest_first() -> None:
    generator = random.Random(1)
    left = [(generator.gauss(-5, 0.5), generator.gauss(0, 0.5)) for _ in range(30)]
    right = [(generator.gauss(5, 0.5), generator.gauss(1, 0.5)) for _ in range(50)]
    assignment = kmeans(left + right, 2)
    assert set(assignment[:30]) == {1} and set(assignment[30:]) == {0}
    assert kmeans([(0.0, 0.0)] * 4, 8) == [0, 0, 0, 0], "no more clusters than distinct points"
    assert kmeans([], 3) == []


def test_two_topics_of_prompts_fall_apart_on_the_map() -> None:
    refunds = [f"I want a refund for order {n}, the parcel arrived damaged" for n in range(25)]
    poems = [f"Write a haiku poem about autumn leaves number {n}" for n in range(25)]
    rows = [embed_text(text) for text in refunds + poems]
    mean, axes = principal_axes(rows)
    points = [(x, y) for x, y in project(rows, mean, axes)]
    assignment = kmeans(points, 2)
    assert len(set(assignment[:25])) == 1 and len(set(assignment[25:])) == 1
    assert assignment[0] != assignment[25]
    labels = cluster_labels(refunds + poems, assignment)
    assert set(labels[assignment[0]].split(", ")) <= {"want", "refund", "order", "parcel", "arrived", "damaged"}
    assert set(labels[assignment[25]].split(", ")) <= {"write", "haiku", "poem", "about", "autumn", "leaves", "number"}
    assert len(labels[assignment[0]].split(", ")) == 3


def test_labels_prefer_words_that_set_a_cluster_apart() -> None:
    texts = ["refund please order", "refund order late", "order status poem", "order a poem"]
    labels = cluster_labels(texts, [0, 0, 1, 1], top=1)
    assert labels == {0: "refund", 1: "poem"}, "order is in every text, so it labels neither"
