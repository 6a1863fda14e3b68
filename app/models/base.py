"""What every table shares: UUIDv7 ids, UTC timestamps, a version for ETags.

UUIDv7 ids grow with time, so ordering by id is ordering by creation, and a
keyset cursor needs only the last id seen.
"""

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AnyHttpUrl, BeforeValidator, PlainSerializer, UrlConstraints
from sqlalchemy import JSON, DateTime, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel
from uuid6 import uuid7

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

# JSON on SQLite, JSONB (indexable, compact) on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")
UTCDateTime = DateTime(timezone=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=uuid7().bytes)


def as_utc(value: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; every one we store is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_or_none(value: Any) -> Any:
    return as_utc(value) if isinstance(value, datetime) else value


def _rfc3339(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


# A datetime as the API shows it: RFC 3339 in UTC, `2026-11-26T09:30:00Z`.
Timestamp = Annotated[datetime, BeforeValidator(_utc_or_none), PlainSerializer(_rfc3339, return_type=str)]


WEB_ADDRESS_LENGTH = 500


def _fits_its_column(url: AnyHttpUrl) -> AnyHttpUrl:
    """The address as stored, percent-encoded and with its host in punycode,
    can be far longer than what was typed (an é becomes %C3%A9)."""
    if len(str(url)) > WEB_ADDRESS_LENGTH:
        raise ValueError(f"Use an address of at most {WEB_ADDRESS_LENGTH} characters once encoded")
    return url


# A web address as the API takes one: http or https, and no longer than its column.
WebAddress = Annotated[
    AnyHttpUrl, UrlConstraints(max_length=WEB_ADDRESS_LENGTH), AfterValidator(_fits_its_column)
]


class Versioned(SQLModel):
    """Columns of every resource a client can change: its version is its ETag."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    version: int = Field(default=1, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class PublicRecord(SQLModel):
    """Read-only fields every resource shows."""

    id: uuid.UUID
    version: int
    created_at: Timestamp
    updated_at: Timestamp


__all__ = ["JSONType", "PublicRecord", "Timestamp", "UTCDateTime", "Versioned", "WebAddress", "date"]
