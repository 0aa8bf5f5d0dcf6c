"""A 2-D map of embedded prompts and its clusters, in pure Python (no numpy, no IO).

PCA finds the two directions along which a sample of vectors varies most (block power
iteration on the centred data); each span's position on the map is its vector's projection on
those two axes. k-means then groups the 2-D points, so the clusters are the groups one sees.
Each cluster is labelled by the words that are frequent in its prompts and rare elsewhere.

Speed: dot products in a Python loop cost ~60 ns a float; `math.dist` runs in C, so dot
products are taken through the polarisation identity `u·v = (|u|² + |v|² − |u − v|²) / 2`,
about ten times faster. Fitting the axes on a few hundred vectors is enough for a picture;
projecting the whole sample is two inner products per vector, which the database does.
"""

from __future__ import annotations

import math
import operator
import random
from collections import Counter
from collections.abc import Sequence
from itertools import chain

from glassgate.embeddings.hashed import STOP_WORDS
from glassgate.storage.search import words

Vector = Sequence[float]


def _dot(first: Vector, second: Vector, first_squared: float, second_squared: float) -> float:
    return (first_squared + second_squared - math.dist(first, second) ** 2) / 2


def _squared(vector: Vector) -> float:
    return math.hypot(*vector) ** 2


def _orthonormal(vectors: list[list[float]]) -> list[list[float]]:
    """Gram–Schmidt; a vector that collapses (degenerate data) is replaced by a basis vector."""
    result: list[list[float]] = []
    dimensions = len(vectors[0])
    for index, vector in enumerate(vectors):
        basis_vectors = ([1.0 if i == j else 0.0 for i in range(dimensions)] for j in range(dimensions))
        for candidate in chain([vector], basis_vectors):  # lazily: the basis is only for degenerate data
            current = list(candidate)
            for basis in result:
                projection = sum(a * b for a, b in zip(current, basis, strict=True))
                current = [a - projection * b for a, b in zip(current, basis, strict=True)]
            norm = math.hypot(*current)
            if norm > 1e-9:
                result.append([value / norm for value in current])
                break
        else:
            raise ValueError(f"cannot find axis {index} in {dimensions} dimensions")
    return result


def principal_axes(
    rows: Sequence[Vector], iterations: int = 30, tolerance: float = 1e-4, seed: int = 0
) -> tuple[list[float], list[list[float]]]:
    """The mean of `rows` and its two principal axes (unit vectors, largest variance first).

    Block power iteration finds the plane of largest variance; it stops when a step turns the
    plane by less than about 1° (`tolerance` on 1 − cos): a few degrees from the exact plane,
    plenty for a picture, in ~10 steps where waiting for each axis alone takes many more when
    the two variances are close. The
    axes are then rotated within the plane so the first carries the most variance, and their
    signs fixed (largest coordinate positive), so the same data gives the same picture.
    """
    if not rows:
        raise ValueError("no vectors to fit")
    size = len(rows)
    columns = list(zip(*rows, strict=True))
    dimensions = len(columns)
    mean = [math.fsum(column) / size for column in columns]
    row_squares = [_squared(row) for row in rows]
    column_squares = [_squared(column) for column in columns]

    def scores_on(axis: Vector) -> list[float]:
        """The centred data times `axis`: each row's coordinate along it."""
        offset = sum(a * b for a, b in zip(mean, axis, strict=True))
        return [_dot(row, axis, square, 1.0) - offset for row, square in zip(rows, row_squares, strict=True)]

    def transposed_times(scores: list[float]) -> list[float]:
        """The centred data, transposed, times `scores`."""
        total, scores_squared = math.fsum(scores), _squared(scores)
        return [
            _dot(column, scores, square, scores_squared) - centre * total
            for column, square, centre in zip(columns, column_squares, mean, strict=True)
        ]

    generator = random.Random(seed)
    axes = _orthonormal([[generator.gauss(0.0, 1.0) for _ in range(dimensions)] for _ in range(2)])
    for _ in range(iterations):
        updated = _orthonormal([transposed_times(scores_on(axis)) for axis in axes])
        # Each new axis's length within the old plane: 1 when the plane no longer moves.
        settled = all(
            math.hypot(*(sum(a * b for a, b in zip(old, new, strict=True)) for old in axes)) > 1 - tolerance
            for new in updated
        )
        axes = updated
        if settled:
            break
    # Rayleigh–Ritz: the 2×2 covariance of the coordinates in the plane, diagonalised by a rotation.
    first, second = scores_on(axes[0]), scores_on(axes[1])
    angle = 0.5 * math.atan2(2 * math.fsum(map(operator.mul, first, second)), _squared(first) - _squared(second))
    cos, sin = math.cos(angle), math.sin(angle)
    axes = [
        [cos * a + sin * b for a, b in zip(axes[0], axes[1], strict=True)],
        [cos * b - sin * a for a, b in zip(axes[0], axes[1], strict=True)],
    ]
    for axis in axes:
        if -min(axis) > max(axis):
            axis[:] = [-value for value in axis]
    return mean, axes


def project(rows: Sequence[Vector], mean: Vector, axes: Sequence[Vector]) -> list[tuple[float, ...]]:
    """Coordinates of `rows` on `axes`, relative to `mean` (the database does this for big samples)."""
    offsets = [sum(a * b for a, b in zip(mean, axis, strict=True)) for axis in axes]
    return [
        tuple(
            sum(a * b for a, b in zip(row, axis, strict=True)) - offset
            for axis, offset in zip(axes, offsets, strict=True)
        )
        for row in rows
    ]


def kmeans(
    points: Sequence[tuple[float, float]], clusters: int, iterations: int = 15, seed: int = 0, fit_points: int = 500
) -> list[int]:
    """The cluster of each 2-D point; cluster 0 is the largest.

    The centres are found by k-means++ seeding and Lloyd's steps on an even subset of at most
    `fit_points` points (a few hundred place eight centres well, and each step over 2,000
    points costs ~5 ms in Python); then every point joins its closest centre.
    """
    if not points:
        return []
    generator = random.Random(seed)
    subset = list(points[:: max(1, len(points) // fit_points)])
    distinct = list(dict.fromkeys(subset))
    clusters = max(1, min(clusters, len(distinct)))
    centres = [distinct[generator.randrange(len(distinct))]]
    nearest = [_distance2(point, centres[0]) for point in distinct]
    while len(centres) < clusters:
        # k-means++: the next centre is drawn with probability proportional to the squared distance.
        centre = generator.choices(distinct, weights=nearest)[0]
        centres.append(centre)
        nearest = [min(old, _distance2(point, centre)) for point, old in zip(distinct, nearest, strict=True)]
    assignment: list[int] = []
    for _ in range(iterations):
        updated = _closest(subset, centres)
        if updated == assignment:
            break
        assignment = updated
        sums = [[0.0, 0.0, 0] for _ in centres]
        for (x, y), cluster in zip(subset, assignment, strict=True):
            total = sums[cluster]
            total[0] += x
            total[1] += y
            total[2] += 1
        centres = [
            (x / count, y / count) if count else centre for (x, y, count), centre in zip(sums, centres, strict=True)
        ]
    assignment = _closest(points, centres)
    sizes = Counter(assignment)
    order = sorted(range(len(centres)), key=lambda cluster: (-sizes[cluster], cluster))
    renumbered = {old: new for new, old in enumerate(order)}
    return [renumbered[cluster] for cluster in assignment]


def _closest(points: Sequence[tuple[float, float]], centres: Sequence[tuple[float, float]]) -> list[int]:
    # One list of distances per centre (comprehensions are fast), then the closest per point.
    distances = [[(x - cx) * (x - cx) + (y - cy) * (y - cy) for x, y in points] for cx, cy in centres]
    return [row.index(min(row)) for row in zip(*distances, strict=True)]


def _distance2(point: tuple[float, float], centre: tuple[float, float]) -> float:
    return (point[0] - centre[0]) ** 2 + (point[1] - centre[1]) ** 2


def cluster_labels(texts: Sequence[str], assignment: Sequence[int], top: int = 3) -> dict[int, str]:
    """For each cluster, its `top` most telling words: frequent in its texts, rare in the others."""
    documents = [
        {word for word in words(text[:400]) if len(word) > 2 and word not in STOP_WORDS and not word.isdigit()}
        for text in texts
    ]
    overall: Counter[str] = Counter()
    within: dict[int, Counter[str]] = {}
    for document, cluster in zip(documents, assignment, strict=True):
        overall.update(document)
        within.setdefault(cluster, Counter()).update(document)
    size = len(texts)
    labels = {}
    for cluster, counted in within.items():
        scored = sorted(counted, key=lambda word: (-counted[word] * math.log(1 + size / overall[word]), word))
        labels[cluster] = ", ".join(scored[:top])
    return labels
