"""Query parameters a route does not take are refused, not ignored.

A misspelt filter (`?serach=refund`, `?models=gpt-4o`) would otherwise answer with every span,
unfiltered and with status 200: a result that looks right and is not. The refusal is the same
422 problem document as any other invalid input, naming the parameter and those the route
takes.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from glassgate.api.annotation_problems import invalid


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters of a route and of its dependencies (a walk of a few dozen fields: not cached)."""
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


async def refuse_unknown_query_names(request: Request) -> None:
    """A dependency: 422 when the query names a parameter the route does not take."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    taken = _query_names(route.dependant)
    for name in request.query_params:
        if name not in taken:
            takes = ", ".join(sorted(taken)) if taken else "no query parameters"
            raise invalid("query", name, f"unknown parameter; this endpoint takes {takes}")
