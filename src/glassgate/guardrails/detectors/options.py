"""Checking a policy's options for the built-in detectors, so a typo fails at start-up.

Config validation calls a detector's factory while loading the policy; a `ValueError` raised
here names the detector and the offending keys or values, and becomes a start-up error.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any


def check_keys(detector: str, options: Mapping[str, Any], allowed: Collection[str]) -> None:
    """Reject option keys the detector does not know, naming them and the ones it does."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"detector {detector!r}: unknown option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(allowed)) or '(none)'}"
        )


def pick_categories(
    detector: str, options: Mapping[str, Any], known: Iterable[str], default: Iterable[str]
) -> frozenset[str]:
    """The `categories` option as a set of known names (case-insensitive), or `default` if absent."""
    known_set = frozenset(known)
    chosen = options.get("categories")
    if chosen is None:
        return frozenset(default)
    if isinstance(chosen, str) or not isinstance(chosen, Iterable):
        raise ValueError(f"detector {detector!r}: option categories must be a list of names, got {chosen!r}")
    names = [str(name).upper() for name in chosen]
    unknown = sorted(set(names) - known_set)
    if unknown:
        raise ValueError(
            f"detector {detector!r}: unknown categories {', '.join(unknown)}; known: {', '.join(sorted(known_set))}"
        )
    return frozenset(names)
