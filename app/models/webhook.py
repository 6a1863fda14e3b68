"""Webhook subscriptions and their deliveries.

A subscription belongs to an organisation and gets, as signed POSTs, the
events that organisation may see (of the types it asked for). The worker
fans each new event out into one delivery row per subscription, then sends
the rows, retrying with backoff; the rows are the record of what was sent.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints
from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from app.models.base import JSONType, PublicRecord, Timestamp, UTCDateTime, Versioned, new_id, utcnow

# The events table's id type: 64 bits on PostgreSQL, SQLite's INTEGER.
EventRef = BigInteger().with_variant(Integer(), "sqlite")
URL_MAX = 2000
# `*` (everything), `adoption.*` (one resource's), or one type, `adoption.stage_changed`.
EVENT_TYPE = r"^(\*|[a-z_]{1,40}\.(\*|[a-z_]{1,60}))$"
EventType = Annotated[str, StringConstraints(pattern=EVENT_TYPE)]


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its first or next attempt, or being sent
    delivered = "delivered"  # the receiver answered 2xx
    failed = "failed"  # no 2xx within the retry window: given up


class Webhook(Versioned, table=True):
    __tablename__ = "webhooks"

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    url: str = Field(max_length=URL_MAX)
    # Empty (or holding "*") means every event the organisation may see.
    event_types: list[str] = Field(default_factory=list, sa_type=JSONType)
    # Signs each body (HMAC-SHA256). Kept as it is, since signing needs it;
    # shown only in the answer to the subscription's creation.
    secret: str = Field(max_length=100)
    active: bool = True
    # The last event id the worker has fanned out into deliveries for it.
    cursor: int = Field(default=0, sa_column=Column(EventRef, nullable=False))


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id"),
        # What the worker claims next; what must go before a resource's next event.
        Index(None, "status", "next_attempt_at"),
        Index(None, "webhook_id", "resource_id", "event_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    webhook_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False)
    )
    event_id: int = Field(sa_column=Column(EventRef, ForeignKey("events.id"), nullable=False))
    # The event's resource: its deliveries go out one at a time, in event order.
    resource_id: uuid.UUID
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=String(20))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # While a worker sends it: until then no other worker takes it; after, one may.
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Retried until then (72 hours after it was made, or redelivered), then failed.
    retry_until: datetime = Field(sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookCreate(SQLModel):
    model_config = SQLModelConfig(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://partner.example.org/hie/events", "event_types": ["adoption.*"]}]
        },
    )

    url: str = Field(min_length=1, max_length=URL_MAX)
    event_types: list[EventType] = Field(
        default_factory=list,
        max_length=50,
        description="Event types, `resource.*` for all of one resource's, or `*`; empty means all.",
    )
    # Admins may subscribe for any organisation; others for their own only.
    organisation_id: uuid.UUID | None = None


class WebhookUpdate(SQLModel):
    """Fields to change; a field left out stays as it is."""

    model_config = SQLModelConfig(extra="forbid", json_schema_extra={"examples": [{"active": False}]})

    url: str | None = Field(default=None, min_length=1, max_length=URL_MAX)
    event_types: list[EventType] | None = Field(default=None, max_length=50)
    active: bool | None = None


class WebhookPublic(PublicRecord):
    organisation_id: uuid.UUID
    url: str
    event_types: list[str]
    active: bool


class WebhookCreated(WebhookPublic):
    """The answer to subscribing: the only time the signing secret is shown."""

    secret: str


class DeliveryPublic(SQLModel):
    id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: int
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: Timestamp | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: Timestamp | None
    created_at: Timestamp
