"""Evaluation: evaluators that score answers, and the jobs that run them.

Importing this package registers the built-in evaluators (`base.registered()` lists them):

- `base.py`: the contract (`EvalInput`, `EvalResult`, `Evaluator`, `JudgeClient`) and the registry
- `code/`: code evaluators (exact match, contains, regex, JSON, similarity, thresholds)
- `judges/`: LLM judges: built-in templates and `llm_judge` for your own
- `templates/`: the built-in judge prompts, as text files shipped in the package
- `text.py`: outputs, expected answers and inputs as text; `jsonpath.py`: the JSONPath subset;
  `params.py`: checking an evaluator's params

Evaluators are pure (no database, no network of their own): the only IO is the judge or
embedder handed to them.
"""

from __future__ import annotations

from glassgate.evals import code, judges

__all__ = ["code", "judges"]
