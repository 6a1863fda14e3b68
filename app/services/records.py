"""What every changeable record shares: versions (ETags), partial updates,
and unique keys turned into clear conflicts."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.errors import Conflict, PreconditionFailed
from app.models.base import utcnow


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
