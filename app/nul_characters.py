"""The NUL character (U+0000) is refused wherever text comes in.

PostgreSQL cannot store it in text or JSONB and fails the statement; SQLite
would store it and hand it to every reader. No person types one, so it is
bad input: 422 naming the field, at the API's door and on the pages' forms,
and, behind them, a guard on every statement (the command line, anything a
door missed) so that it is never a 500 and never written on either database.
The bulk import (app/services/imports.py) looks in each record as it reads
it, to place the error at its field, and so writes in bulk around the guard."""

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from app.errors import FieldError, ValidationFailed

NUL = "\x00"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
MESSAGE = "Remove the NUL character (U+0000): text may not contain it."
# In JSON text a NUL is the escape \u0000 (not preceded by an odd number of backslashes).
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def holds_nul(value: Any) -> bool:
    """Whether a decoded JSON value (keys included) holds a NUL anywhere: the
    quick test before `paths_with_nul` says where (the bulk import's every record)."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        for key in value:
            if NUL in str(key):
                return True
        value = value.values()
    elif not isinstance(value, list):
        return False
    # Text inline, a call only for what nests (most of a record is text); a loop, not any()
    # over a generator, which took twice as long over a big import's records.
    for item in value:  # noqa: SIM110
        if (NUL in item) if isinstance(item, str) else holds_nul(item):
            return True
    return False


def paths_with_nul(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Where in a decoded JSON value (keys included) a string holds a NUL."""
    if isinstance(value, str):
        if NUL in value:
            yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if NUL in str(key):
                yield (*path, str(key))
            yield from paths_with_nul(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths_with_nul(item, (*path, index))


async def refuse_in_api_request(request: Request) -> None:
    """A dependency of the whole API: a NUL in the query or the JSON body is
    a 422 naming where it is, before any route reads it."""
    errors: list[dict[str, Any]] = [
        {"loc": ("query", name), "msg": MESSAGE, "type": "value_error", "input": value}
        for name, value in request.query_params.multi_items()
        if NUL in name or NUL in value
    ]
    # Only a write has a body; waiting for one on a GET would meet a client that left.
    body = await request.body() if request.method in BODY_METHODS else b""
    if b"\\u0000" in body and _ESCAPED_NUL.search(body.decode("utf-8", "replace")):
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = None  # not JSON: the route's own parsing says so
        errors += [
            {"loc": ("body", *path), "msg": MESSAGE, "type": "value_error"}
            for path in paths_with_nul(decoded)
        ]
    if errors:
        raise RequestValidationError(errors)


def refuse_in_form(form: Mapping[str, Any]) -> None:
    """A posted form with a NUL in any field (or its name): 422."""
    errors = [
        FieldError(str(key), MESSAGE)
        for key, value in form.items()
        if NUL in str(key) or (isinstance(value, str) and NUL in value)
    ]
    if errors:
        raise ValidationFailed(errors)


def _holds_nul(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if NUL in value:
        return True
    # A serialised JSON column, where NUL is escaped: the regex only where the escape is there at all,
    # since every statement's every value passes here.
    looks_like_json = value[:1] in ("{", "[", '"')
    return looks_like_json and "\\u0000" in value and _ESCAPED_NUL.search(value) is not None


def refuse_in_statement(
    _connection: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, executemany: bool
) -> None:
    """SQLAlchemy's `before_cursor_execute`: the last guard, for any path the
    doors above do not cover. JSON values arrive here already serialised."""
    rows = parameters if executemany else [parameters]
    for row in rows:
        values = row.values() if isinstance(row, Mapping) else row or ()
        if any(_holds_nul(value) for value in values):
            raise ValidationFailed.field("text", MESSAGE)
