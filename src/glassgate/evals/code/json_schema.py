"""`json_schema`: the output is JSON that a JSON Schema accepts (score 1, label pass) or not.

Params:
- `schema` (required): the JSON Schema, as an object. Checked against its own draft's
  metaschema when the evaluator is created, so a broken schema is a config error, not a
  failure on every item. The draft comes from the schema's `$schema` (2020-12 by default).
- `strip_fences` (false): accept a Markdown code fence around the JSON, as for valid_json.

Validation is the `jsonschema` package's (drafts, `$ref`, formats); the explanation names the
first problems with their JSON paths, as a reader would fix them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import orjson
from jsonschema import exceptions, validators

from glassgate.evals.base import PASS_FAIL, EvalInput, EvalResult, JudgeClient, passed
from glassgate.evals.params import Params
from glassgate.evals.text import answer_text, is_chat_like

_FENCE = re.compile(r"^\s*```[\w-]*[ \t]*\r?\n(?P<body>.*?)\r?\n?```\s*$", re.DOTALL)
_SHOWN_ERRORS = 3


class JsonSchema:
    name = "json_schema"
    kind: Literal["code", "llm"] = "code"
    labels = PASS_FAIL

    def __init__(self, params: Mapping[str, Any]) -> None:
        p = Params(self.name, params, {"schema", "strip_fences"})
        schema = p.raw("schema")
        if not isinstance(schema, dict):
            raise p.error("schema", "must be a JSON Schema object")
        validator_class = validators.validator_for(schema)
        try:
            validator_class.check_schema(schema)
        except exceptions.SchemaError as error:
            raise p.error("schema", f"is not a valid JSON Schema: {error.message}") from None
        self.validator = validator_class(schema)
        self.strip_fences = p.flag("strip_fences", False)

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        if item.output is not None and not isinstance(item.output, str) and not is_chat_like(item.output):
            return self._check(item.output)
        text = answer_text(item.output)
        if self.strip_fences and (fenced := _FENCE.match(text)):
            text = fenced["body"]
        if not text.strip():
            return passed(False, "the output is empty, which is not JSON")
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            return passed(False, f"the output is not JSON: {error}")
        return self._check(value)

    def _check(self, value: Any) -> EvalResult:
        problems = sorted(self.validator.iter_errors(value), key=lambda error: list(error.absolute_path))
        if not problems:
            return passed(True, "the output is valid against the schema")
        shown = "; ".join(f"{error.json_path}: {error.message}"[:300] for error in problems[:_SHOWN_ERRORS])
        more = f" (and {len(problems) - _SHOWN_ERRORS} more)" if len(problems) > _SHOWN_ERRORS else ""
        return passed(False, f"the output does not match the schema: {shown}{more}")


def json_schema(params: Mapping[str, Any]) -> JsonSchema:
    return JsonSchema(params)
