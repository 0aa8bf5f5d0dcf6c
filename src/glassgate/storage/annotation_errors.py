"""What score configs, annotations and queues refuse, for the API to turn into problem+json.

LookupError
└── NotFound         a score config, span, annotation, queue or queue item (404)
ValueError
└── Invalid          input that breaks a rule; `field` names the request field (422)
Exception
├── Conflict         clashes with the current state: a name taken, a lock held (409)
└── NotAuthor        changing another author's annotation (403)
"""

from __future__ import annotations


class NotFound(LookupError):
    def __init__(self, what: str, key: str, detail: str | None = None) -> None:
        super().__init__(detail or f"no {what} with id {key!r}")
        self.what = what


class Invalid(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class Conflict(Exception):
    pass


class NotAuthor(Exception):
    pass
