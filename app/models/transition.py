import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, String, Text
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from app.models.base import JSONType, Timestamp, UTCDateTime, new_id, utcnow
from app.models.vocabulary import NotProgressedReason


class Transition(SQLModel, table=True):
    """One move of an adoption. Append-only: the database refuses to update
    or delete a row (triggers put in by the migration)."""

    __tablename__ = "transitions"
    __table_args__ = (
        # An adoption's history in order, with when each stay began (analytics).
        Index(None, "adoption_id", "id", "created_at"),
        # Each stage's latest stays, for time in stage.
        Index(None, "from_stage", "id", "adoption_id", "created_at"),
        # How far adoptions got, and where and why they stopped.
        Index(None, "to_stage", "from_stage", "adoption_id", "reason_code"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    adoption_id: uuid.UUID = Field(foreign_key="adoptions.id")
    from_stage: str = Field(sa_column=Column(String(40), ForeignKey("stages.key"), nullable=False))
    to_stage: str = Field(sa_column=Column(String(40), ForeignKey("stages.key"), nullable=False))
    reason: str | None = Field(default=None, sa_type=Text)
    reason_code: str | None = Field(default=None, max_length=40)
    override: bool = False
    actor: str = Field(max_length=300)
    actor_org_id: uuid.UUID | None = Field(default=None, foreign_key="organisations.id")
    gate_snapshot: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TransitionCreate(SQLModel):
    model_config = SQLModelConfig(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"to_stage": "needs_assessment"},
                {
                    "to_stage": "not_progressed",
                    "reason_code": "no_funding",
                    "reason": "ICB declined",
                },
                {"to_stage": "adopted", "override": True, "reason": "Evaluated at a sister site"},
            ]
        },
    )

    to_stage: str = Field(min_length=1, max_length=40)
    reason: str | None = Field(default=None, max_length=5000)
    reason_code: NotProgressedReason | None = None
    override: bool = False


class TransitionPublic(SQLModel):
    id: uuid.UUID
    adoption_id: uuid.UUID
    from_stage: str
    to_stage: str
    reason: str | None
    reason_code: NotProgressedReason | None
    override: bool
    actor: str
    gate_snapshot: dict[str, Any]
    created_at: Timestamp
