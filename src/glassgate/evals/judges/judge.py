"""LLM-as-a-judge evaluators: a template rendered with an item's variables, asked of a judge model.

The judge gets the rendered template as the user message and, as the system message, the
answer format (`verdict.instructions`); its answer is read by `verdict.parse_verdict`.

Built-in judges (templates in `evals/templates/<name>.txt`, read from the package on first
use) take these params:
- `labels` ({label: score}): other scores for the template's own labels (all of them);
- `variables` ({variable: JSONPath}): take a variable from elsewhere in the item, e.g.
  `{"context": "$.metadata.documents"}` (paths: see `evals/jsonpath.py` and `variables.py`);
- `max_chars` (20,000): each variable's text is cut to this.

`llm_judge`, a custom judge, takes `template` (the prompt inline) or `template_file` (a path;
either may start with the YAML header of `template.py`), `labels` ({label: score}) or `range`
([low, high]) unless the header gives them, `variables`, `optional` (variables that may be
missing: rendered "(none)") and `max_chars`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from glassgate.evals.base import EvalInput, EvalResult, Evaluator, EvaluatorFactory, JudgeClient, failed
from glassgate.evals.judges.template import Template, parse_template, scale_of
from glassgate.evals.judges.variables import Variables
from glassgate.evals.judges.verdict import Labels, Scale, instructions, normal, parse_verdict
from glassgate.evals.params import Params

BUILTIN = (
    "hallucination",
    "correctness",
    "relevance",
    "toxicity",
    "summarization",
    "conciseness",
    "refusal",
    "tool_calls",
)


class JudgeEvaluator:
    kind: Literal["code", "llm"] = "llm"

    def __init__(self, name: str, template: Template, scale: Scale, variables: Variables) -> None:
        self.name = name
        self.template = template
        self.scale = scale
        self.variables = variables
        self.system = instructions(scale)

    def prompt(self, item: EvalInput) -> str:
        """The rendered prompt for `item` (ValueError with the per-item error when a variable is missing)."""
        values = self.variables.resolve(item)
        if isinstance(values, str):
            raise ValueError(values)
        return self.template.render(values)

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        if judge is None:
            return failed(f"evaluator {self.name!r} needs a judge model, and none is configured (evaluation.judge)")
        values = self.variables.resolve(item)
        if isinstance(values, str):
            return failed(values)
        answer = await judge.complete(self.template.render(values), system=self.system)
        return parse_verdict(answer, self.scale)


@cache
def builtin_template(name: str) -> Template:
    """A built-in template, read from the package the first time it is asked for."""
    source = resources.files("glassgate.evals").joinpath("templates", f"{name}.txt").read_text(encoding="utf-8")
    return checked(parse_template(source, f"{name}.txt"), f"{name}.txt")


def checked(template: Template, origin: str) -> Template:
    """`template`, once its header's variables are known to be exactly the placeholders it uses."""
    used = template.placeholders
    if not used:
        raise ValueError(f"template {origin} uses no {{{{variables}}}}, so it cannot judge an item")
    if template.declared is not None and set(template.declared) != set(used):
        raise ValueError(
            f"template {origin} declares variables {', '.join(template.declared)} but uses {', '.join(used)}"
        )
    return template


def builtin(name: str) -> EvaluatorFactory:
    """The factory of one built-in judge."""

    def factory(params: Mapping[str, Any]) -> Evaluator:
        p = Params(name, params, {"labels", "variables", "max_chars"})
        template = builtin_template(name)
        if template.scale is None:
            raise ValueError(f"template {name}.txt has no labels or range in its header")
        scale = template.scale
        if p.has("labels"):
            scale = _rescored(p, scale)
        return JudgeEvaluator(name, template, scale, _variables(p, template, template.optional))

    return factory


def llm_judge(params: Mapping[str, Any]) -> Evaluator:
    """A judge with the user's own template (see the module docstring for its params)."""
    p = Params(
        "llm_judge", params, {"template", "template_file", "labels", "range", "variables", "optional", "max_chars"}
    )
    inline, file = p.text("template"), p.text("template_file")
    if (inline is None) == (file is None):
        raise p.error("template", "or 'template_file' is required (one of them, not both)")
    origin = "given inline" if inline is not None else repr(file)
    try:
        source = inline if inline is not None else Path(str(file)).read_text(encoding="utf-8")
        template = checked(parse_template(source, origin), origin)
        scale = scale_of(p.raw("labels"), p.raw("range"), "params") or template.scale
    except (OSError, UnicodeDecodeError) as error:
        raise p.error("template_file", f"cannot be read: {error}") from None
    except ValueError as error:
        raise ValueError(f"evaluator 'llm_judge': {error}") from None
    if scale is None:
        raise p.error("labels", "or 'range' is required (or a template header that gives one)")
    optional = template.optional | frozenset(p.texts("optional") or ())
    return JudgeEvaluator("llm_judge", template, scale, _variables(p, template, optional))


def _rescored(p: Params, scale: Scale) -> Labels:
    given = p.raw("labels")
    if not isinstance(scale, Labels) or not isinstance(given, Mapping):
        raise p.error("labels", f"must map this judge's labels ({scale.describe()}) to scores")
    if {normal(str(label)) for label in given} != {normal(label) for label in scale.scores}:
        raise p.error("labels", f"must give a score to exactly this judge's labels: {scale.describe()}")
    by_key = {normal(str(label)): score for label, score in given.items()}
    try:
        return Labels({label: by_key[normal(label)] for label in scale.scores})
    except ValueError as error:
        raise p.error("labels", str(error)) from None


def _variables(p: Params, template: Template, optional: frozenset[str]) -> Variables:
    given = p.raw("variables") or {}
    if not isinstance(given, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in given.items()):
        raise p.error("variables", f"must map variable names to JSONPath strings, got {given!r}")
    try:
        return Variables(
            template.placeholders,
            {**template.paths, **given},
            optional=optional,
            max_chars=p.integer("max_chars", 20_000),
        )
    except ValueError as error:
        raise ValueError(f"evaluator {p.evaluator!r}: {error}") from None
