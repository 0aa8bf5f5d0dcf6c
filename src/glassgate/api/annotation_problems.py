"""The refusals of storage's score configs, annotations and queues, as problem+json.

Invalid input leaves as the same 422 document as FastAPI's own validation errors (with
`errors: [{field, message}]`), so a client handles both alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.exceptions import RequestValidationError

from glassgate.api.problems import Problem
from glassgate.storage.annotation_errors import Conflict, Invalid, NotAuthor, NotFound


def invalid(location: str, field: str, message: str) -> RequestValidationError:
    """A 422 naming `field` of the request's `location` (body, query)."""
    return RequestValidationError([{"loc": (location, *field.split(".")), "msg": message, "type": "value_error"}])


@contextmanager
def storage_refusals() -> Iterator[None]:
    try:
        yield
    except NotFound as exc:
        raise Problem(404, f"{exc.what[0].upper()}{exc.what[1:]} not found", str(exc)) from None
    except Invalid as exc:
        raise invalid("body", exc.field, exc.message) from None
    except Conflict as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    except NotAuthor as exc:
        raise Problem(403, "Forbidden", str(exc)) from None
