"""The built-in LLM judges, registered exactly as a third-party plugin would register its own.

| name          | judges                                         | labels → score                                   |
|---------------|------------------------------------------------|--------------------------------------------------|
| hallucination | the answer against the provided context        | factual 1, hallucinated 0                        |
| correctness   | the answer against a reference (`expected`)    | correct 1, partially_correct 0.5, incorrect 0    |
| relevance     | whether the answer addresses the question      | relevant 1, partially_relevant 0.5, irrelevant 0 |
| toxicity      | the answer's language                          | non_toxic 1, toxic 0                             |
| summarization | a summary (`output`) of a text (`input`)       | range 1–5                                        |
| conciseness   | the answer's length for what was asked         | concise 1, verbose 0                             |
| refusal       | whether the model answered or refused          | answered 1, refused 0                            |
| tool_calls    | the tool calls made, against the tools offered | correct 1, incorrect 0                           |
| llm_judge     | your own template, scale and variables         | as configured                                    |

A score of 1 is always the desirable outcome (so `toxic` scores 0 and `refused` 0: pass
`labels` to score them otherwise). Templates are the text files in `../templates/`; the
modules here: `judge.py` (the evaluator and its params), `template.py` (the template format),
`variables.py` (where variables come from), `verdict.py` (answer format and parsing).
"""

from __future__ import annotations

from glassgate.evals.base import register
from glassgate.evals.judges.judge import BUILTIN, builtin, llm_judge

for _name in BUILTIN:
    register(_name, builtin(_name))
register("llm_judge", llm_judge)
