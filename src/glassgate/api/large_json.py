"""Big answers (thousands of points or results) as JSON straight from orjson.

FastAPI would validate and serialise them through the response model: ten times the cost of
the queries for a comparison of two 1,000-item runs, and as much as the query for 30 days of
hourly dashboard points. The model still documents the answer in the OpenAPI spec.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


def large_json(value: Any) -> Response:
    return Response(orjson.dumps(value), media_type="application/json")
