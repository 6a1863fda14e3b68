import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, Identity, Index, Integer
from sqlmodel import Field, SQLModel

from app.models.base import JSONType, Timestamp, UTCDateTime, utcnow

# A 64-bit identity on PostgreSQL; SQLite's rowid alias must be plain INTEGER.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class Event(SQLModel, table=True):
    """Every change, in order: the audit trail, the change feed, webhooks."""

    __tablename__ = "events"
    __table_args__ = (Index(None, "resource_type", "resource_id"),)

    id: int | None = Field(default=None, sa_column=Column(EventId, Identity(), primary_key=True))
    type: str = Field(max_length=60, index=True)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=300)
    actor_org_id: uuid.UUID | None = Field(default=None)
    resource_type: str = Field(max_length=40)
    resource_id: uuid.UUID
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    # Who may see a restricted event (an adoption's): the adopting
    # organisation and the innovation's supplier, besides facilitators and admins.
    restricted: bool = False
    subject_org_id: uuid.UUID | None = Field(default=None, index=True)
    related_org_id: uuid.UUID | None = Field(default=None, index=True)


class ResourceRef(BaseModel):
    type: str
    id: uuid.UUID


class EventPublic(BaseModel):
    id: int
    type: str
    occurred_at: Timestamp
    actor: str
    resource: ResourceRef
    data: dict[str, Any]
