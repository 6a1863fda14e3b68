import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr
from pydantic.json_schema import JsonDict
from sqlalchemy import Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from app.models.base import JSONType, PublicRecord, Timestamp, UTCDateTime, Versioned, utcnow
from app.models.vocabulary import IDENTIFIED


class Lead(BaseModel):
    """The named adoption lead (the champion)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr


class Adoption(Versioned, table=True):
    """One innovation at one adopting organisation: what moves through the pipeline."""

    __tablename__ = "adoptions"
    __table_args__ = (
        UniqueConstraint("innovation_id", "organisation_id"),
        UniqueConstraint("owner_org_id", "external_ref"),
        Index(None, "innovation_id", "id"),
        Index(None, "organisation_id", "id"),
        Index(None, "challenge_id", "id"),
        Index(None, "stage", "id"),
        # The adoptions stuck longest in their stage.
        Index(None, "stage_entered_at", "id"),
        # The funnel: adoptions per stage and how far they got, in one pass.
        Index(None, "stage", "furthest_stage"),
        # An innovation's spread: its adoptions per stage, and its adopted ones.
        Index(None, "innovation_id", "stage"),
        # The board: each stage's cards, longest in the stage first.
        Index(None, "stage", "stage_entered_at", "id"),
    )

    innovation_id: uuid.UUID = Field(foreign_key="innovations.id")
    organisation_id: uuid.UUID = Field(foreign_key="organisations.id")
    challenge_id: uuid.UUID | None = Field(default=None, foreign_key="challenges.id")
    stage: str = Field(sa_column=Column(String(40), ForeignKey("stages.key"), nullable=False))
    stage_entered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The furthest active stage it ever entered (every adoption opens at
    # `identified`), kept by `pipeline.prepare_move`: the funnel's conversions
    # count it rather than reading every adoption's history. No foreign key:
    # SQLite adds a NOT NULL column with one only by copying the whole table.
    furthest_stage: str = Field(
        default=IDENTIFIED, sa_column=Column(String(40), nullable=False, server_default=IDENTIFIED)
    )
    # The stage a paused adoption left, which it may resume to.
    paused_from: str | None = Field(default=None, max_length=40)
    # When it last entered `adopted`: `sustained` waits on it, spread counts from it.
    adopted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lead_name: str | None = Field(default=None, max_length=200)
    lead_email: str | None = Field(default=None, max_length=254)
    gate: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    notes: str = Field(default="", sa_type=Text)
    external_ref: str | None = Field(default=None, max_length=200)
    owner_org_id: uuid.UUID | None = Field(default=None, foreign_key="organisations.id")


GATE_EXAMPLE: JsonDict = {"champion": "Dr Asha Patel", "evidence_reviewed": True}


class AdoptionCreate(SQLModel):
    model_config = SQLModelConfig(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "innovation_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e",
                    "organisation_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0f",
                    "challenge_id": None,
                    "lead": {"name": "Dr Asha Patel", "email": "asha.patel@nhs.net"},
                    "gate": GATE_EXAMPLE,
                    "notes": "",
                    "external_ref": "adopt-1",
                }
            ]
        },
    )

    innovation_id: uuid.UUID
    organisation_id: uuid.UUID
    challenge_id: uuid.UUID | None = None
    lead: Lead | None = None
    gate: dict[str, Any] = Field(default={}, max_length=100)
    notes: str = Field(default="", max_length=20_000)
    external_ref: str | None = Field(default=None, max_length=200)


class AdoptionUpdate(SQLModel):
    """Fields to change. `gate` merges by key, and a `null` value clears one."""

    model_config = SQLModelConfig(extra="forbid", json_schema_extra={"examples": [{"gate": GATE_EXAMPLE}]})

    lead: Lead | None = None
    gate: dict[str, Any] = Field(default=None, max_length=100)
    notes: str = Field(default=None, max_length=20_000)
    challenge_id: uuid.UUID | None = None
    external_ref: str | None = Field(default=None, max_length=200)


class GateStatus(BaseModel):
    met: bool
    missing: list[str]


class AdoptionPublic(PublicRecord):
    innovation_id: uuid.UUID
    organisation_id: uuid.UUID
    challenge_id: uuid.UUID | None
    stage: str
    stage_entered_at: Timestamp
    paused_from: str | None
    adopted_at: Timestamp | None
    lead: Lead | None
    gate: dict[str, Any]
    gate_status: dict[str, GateStatus]
    notes: str
    external_ref: str | None
