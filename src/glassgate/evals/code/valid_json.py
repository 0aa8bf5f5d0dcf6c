"""`valid_json`: the output is JSON (score 1, label pass) or not (0, fail).

Params:
- `type`: also require the top-level value to be an "object", "array", "string", "number",
  "boolean" or "null".
- `strip_fences` (false): accept a Markdown code fence around the JSON (```json … ```), as
  chat models often write; off by default, since the program reading the output may not.

An output that is already a JSON value (not text and not a chat response) is valid as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import orjson

from glassgate.evals.base import PASS_FAIL, EvalInput, EvalResult, JudgeClient, passed
from glassgate.evals.params import Params
from glassgate.evals.text import answer_text, is_chat_like

_FENCE = re.compile(r"^\s*```[\w-]*[ \t]*\r?\n(?P<body>.*?)\r?\n?```\s*$", re.DOTALL)
TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    return next((name for name, kinds in TYPES.items() if isinstance(value, kinds)), type(value).__name__)


class ValidJson:
    name = "valid_json"
    kind: Literal["code", "llm"] = "code"
    labels = PASS_FAIL

    def __init__(self, params: Mapping[str, Any]) -> None:
        p = Params(self.name, params, {"type", "strip_fences"})
        wanted = p.text("type")
        if wanted is not None and wanted not in TYPES:
            raise p.error("type", f"must be one of {', '.join(TYPES)}, got {wanted!r}")
        self.type = wanted
        self.strip_fences = p.flag("strip_fences", False)

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        if item.output is not None and not isinstance(item.output, str) and not is_chat_like(item.output):
            return self._typed(item.output, "the output is a JSON value")
        text = answer_text(item.output)
        if self.strip_fences and (fenced := _FENCE.match(text)):
            text = fenced["body"]
        if not text.strip():
            return passed(False, "the output is empty, which is not JSON")
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            return passed(False, f"the output is not JSON: {error}")
        return self._typed(value, "the output is valid JSON")

    def _typed(self, value: Any, said: str) -> EvalResult:
        found = json_type(value)
        if self.type is not None and found != self.type:
            return passed(False, f"{said}, but its top level is {found}, not {self.type}")
        return passed(True, f"{said} ({found})")
