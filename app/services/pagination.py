"""Keyset pagination: lists are ordered by id (UUIDv7, so by creation; or the
event sequence), and the cursor is the last id of the page, so a page costs
the same however deep it is and concurrent inserts never shift it."""

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select
from sqlmodel import Session

from app.errors import ValidationFailed

T = TypeVar("T")
Row = TypeVar("Row")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, cursor_type: Callable[[str], Any]) -> Any:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return cursor_type(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed.field("query.cursor", "Not a cursor this service gave out.") from exc


def keyset(
    session: Session,
    stmt: Select[Any],
    key: Any,
    page: PageRequest,
    present: Callable[[Any], T],
    *,
    cursor_type: Callable[[str], Any] = uuid.UUID,
) -> Page[T]:
    """Run `stmt` for one page ordered by `key` (an id column), presenting each row."""
    if page.cursor:
        stmt = stmt.where(key > decode_cursor(page.cursor, cursor_type))
    rows: Sequence[Any] = session.scalars(stmt.order_by(key).limit(page.limit + 1)).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    items = [present(row) for row in rows]
    last = rows[-1] if rows else None
    next_cursor = encode_cursor(getattr(last, key.key)) if more and last is not None else None
    return Page[T](items=items, next_cursor=next_cursor)
