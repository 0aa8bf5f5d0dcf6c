"""The built-in code evaluators, registered exactly as a third-party plugin would register its own.

| name                 | score                                                         | module           |
|----------------------|---------------------------------------------------------------|------------------|
| exact_match          | 1/0: the output equals the expected answer (normalized)       | exact_match.py   |
| contains             | 1/0: the output contains any/all of given strings             | contains.py      |
| regex                | 1/0: the output matches a regular expression                  | regex.py         |
| valid_json           | 1/0: the output parses as JSON (of a given type)              | valid_json.py    |
| json_schema          | 1/0: the output is JSON that a JSON Schema accepts            | json_schema.py   |
| levenshtein          | 0–1: normalized character edit similarity                     | levenshtein.py   |
| rouge_l              | 0–1: F-measure of the longest common word subsequence         | rouge_l.py       |
| embedding_similarity | -1–1: cosine of the two texts' embeddings                     | embedding.py     |
| latency_threshold    | 1/0: latency_ms ≤ max_ms                                      | thresholds.py    |
| cost_threshold       | 1/0: cost_usd ≤ max_usd                                       | thresholds.py    |

Each module's docstring lists its params; unknown or ill-typed params are a ValueError naming
them when the evaluator is created. Pass/fail evaluators label "pass" or "fail"; similarity
evaluators label only when given a `threshold`.
"""

from __future__ import annotations

from glassgate.evals.base import register
from glassgate.evals.code.contains import Contains
from glassgate.evals.code.embedding import EmbeddingSimilarity
from glassgate.evals.code.exact_match import ExactMatch
from glassgate.evals.code.json_schema import json_schema
from glassgate.evals.code.levenshtein import Levenshtein
from glassgate.evals.code.regex import Regex
from glassgate.evals.code.rouge_l import RougeL
from glassgate.evals.code.thresholds import CostThreshold, LatencyThreshold
from glassgate.evals.code.valid_json import ValidJson

register("exact_match", ExactMatch)
register("contains", Contains)
register("regex", Regex)
register("valid_json", ValidJson)
register("json_schema", json_schema)
register("levenshtein", Levenshtein)
register("rouge_l", RougeL)
register("embedding_similarity", EmbeddingSimilarity)
register("latency_threshold", LatencyThreshold)
register("cost_threshold", CostThreshold)
