"""The answers kept for `Idempotency-Key` replays (app/api/idempotency.py)."""

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, LargeBinary
from sqlmodel import Field, SQLModel

from app.models.base import JSONType, UTCDateTime, utcnow


class IdempotencyKey(SQLModel, table=True):
    """One organisation's key, the request it came with and, once that
    request has succeeded, the answer it got. Written in the request's own
    transaction, so the record it made and its answer commit together (or
    neither does). The key itself is kept only as a hash."""

    __tablename__ = "idempotency_keys"

    organisation_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    )
    key_hash: str = Field(primary_key=True, max_length=64)
    # SHA-256 of the method, path and body: the same key with another request is refused.
    fingerprint: str = Field(max_length=64)
    request: str = Field(max_length=300)  # "POST /api/v1/innovations", for the refusal's detail
    status_code: int | None = None
    body: bytes | None = Field(default=None, sa_type=LargeBinary)
    headers: dict[str, str] | None = Field(default=None, sa_type=JSONType)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
