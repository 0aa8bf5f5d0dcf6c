"""`regex`: the output matches a regular expression (score 1, label pass) or not (0, fail).

Params:
- `pattern` (required): a Python regular expression, compiled when the evaluator is created
  (a syntax error or a pattern over 1,000 characters is a ValueError then).
- `match` ("search"): "search" finds the pattern anywhere, "full" needs it to match the whole
  output (after stripping leading and trailing whitespace).
- `ignore_case` (false); `multiline` (false): `^` and `$` match at every line.
- `must_match` (true): false inverts the check (pass when the pattern is absent).

Patterns run with Python's `re`, a backtracking engine: a pattern such as `(a+)+b` can take
exponential time on some inputs. Outputs are cut to `max_chars` (100,000) first; keep patterns
anchored on literals. (The `regex` package's `timeout=` would bound this; it is not among our
declared dependencies.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from glassgate.evals.base import PASS_FAIL, EvalInput, EvalResult, JudgeClient, passed
from glassgate.evals.code.reference import cut
from glassgate.evals.params import Params
from glassgate.evals.text import answer_text

MAX_PATTERN_LENGTH = 1000


class Regex:
    name = "regex"
    kind: Literal["code", "llm"] = "code"
    labels = PASS_FAIL

    def __init__(self, params: Mapping[str, Any]) -> None:
        p = Params(self.name, params, {"pattern", "match", "ignore_case", "multiline", "must_match", "max_chars"})
        source = p.required_text("pattern")
        if len(source) > MAX_PATTERN_LENGTH:
            raise p.error("pattern", f"is over {MAX_PATTERN_LENGTH} characters")
        flags = (re.IGNORECASE if p.flag("ignore_case", False) else 0) | (
            re.MULTILINE if p.flag("multiline", False) else 0
        )
        try:
            self.pattern = re.compile(source, flags)
        except re.error as error:
            raise p.error("pattern", f"is not a valid regular expression: {error}") from None
        self.full = p.choice("match", ("search", "full"), "search") == "full"
        self.must_match = p.flag("must_match", True)
        self.max_chars = p.integer("max_chars", 100_000)

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        text, note = cut(answer_text(item.output), self.max_chars)
        found = self.pattern.fullmatch(text.strip()) if self.full else self.pattern.search(text)
        shown_pattern = f"/{self.pattern.pattern}/"
        if found is None:
            where = "the whole output" if self.full else "the output"
            return passed(not self.must_match, f"{shown_pattern} does not match {where}{note}")
        if self.full:
            return passed(self.must_match, f"{shown_pattern} matches the whole output{note}")
        shown = found.group() if len(found.group()) <= 80 else found.group()[:80] + "…"
        return passed(self.must_match, f"{shown_pattern} matches {shown!r} at character {found.start()}{note}")
