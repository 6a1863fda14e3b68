"""What every changeable record shares: versions (ETags), partial updates,
and unique keys turned into clear conflicts."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import Enum
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.errors import Conflict, PreconditionFailed
from app.models.base import as_utc, utcnow


class VersionedRecord(Protocol):
    version: int
    updated_at: datetime


def etag(record: VersionedRecord) -> str:
    return f'"{record.version}"'


def check_version(record: VersionedRecord, expected: int | None) -> None:
    """Refuse a change made against a version other than the current one."""
    if expected is not None and expected != record.version:
        raise PreconditionFailed(
            f"It has changed since you read it (you had version {expected}, it is now "
            f"{record.version}). Read it again and re-apply your change.",
            etag=etag(record),
        )


def touch(record: VersionedRecord, now: datetime | None = None) -> None:
    record.version += 1
    record.updated_at = now or utcnow()


def apply_changes(record: Any, changes: dict[str, Any]) -> dict[str, Any]:
    """Set the given fields; return those whose values really changed."""
    changed = {}
    for field, value in changes.items():
        if getattr(record, field) != value:
            setattr(record, field, value)
            changed[field] = value
    return changed


@contextmanager
def unique(what: str) -> Iterator[None]:
    """Turn a unique-key violation met on flush into a 409 that names it."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(f"{what} already exists.") from exc


def flush_unique(session: Session, what: str) -> None:
    with unique(what):
        session.flush()


def public_json(public: type[BaseModel], record: Any, **given: Any) -> dict[str, Any]:
    """`public.model_validate(record, from_attributes=True).model_dump(mode="json")`
    without validating again what was validated before it was written: an
    event's payload, made for every record of a bulk import. `given` holds
    the fields the record lacks, already in JSON form."""
    return {
        name: given[name] if name in given else _json(getattr(record, name)) for name in public.model_fields
    }


def _json(value: Any) -> Any:
    kind = type(value)
    if kind in _AS_IS:
        return value
    convert = _CONVERT.get(kind)
    if convert is not None:
        return convert(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"No JSON form for {kind.__name__}: give it to public_json.")


def _timestamp(value: datetime) -> str:
    """The API's Timestamp: RFC 3339 in UTC, `...Z` (app/models/base.py)."""
    return as_utc(value).isoformat().replace("+00:00", "Z")


_AS_IS = frozenset({str, int, float, bool, type(None)})
_CONVERT: dict[type, Any] = {
    uuid.UUID: str,
    datetime: _timestamp,
    date: date.isoformat,
    list: lambda items: [_json(item) for item in items],
    dict: lambda items: {key: _json(item) for key, item in items.items()},
}
