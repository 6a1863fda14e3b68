"""A response: an innovation put forward for a challenge, with a pitch."""

import uuid

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from app.models.base import PublicRecord, Versioned
from app.models.vocabulary import ResponseStatus

PITCH_EXAMPLE = (
    "NeedleSmart destroys each needle at the bedside in seconds, so no sharp reaches the bin. "
    "Two Liverpool wards halved their reported needlestick injuries in six months."
)
REASON_EXAMPLE = "Another innovation fits our wards' layout better."


class ResponseBase(SQLModel):
    innovation_id: uuid.UUID = Field(foreign_key="innovations.id")
    pitch: str = Field(min_length=1, max_length=10_000, sa_type=Text)


class Response(ResponseBase, Versioned, table=True):
    __tablename__ = "responses"
    __table_args__ = (
        # One response per innovation to a challenge.
        UniqueConstraint("challenge_id", "innovation_id"),
        Index(None, "challenge_id", "id"),
        Index(None, "innovation_id", "id"),
    )

    challenge_id: uuid.UUID = Field(foreign_key="challenges.id")
    status: ResponseStatus = Field(default=ResponseStatus.submitted, sa_type=String(20))
    # Why it was last moved (required to decline); None when no reason was given.
    reason: str | None = Field(default=None, sa_type=Text)
    # The adoption that selecting it opened or linked.
    adoption_id: uuid.UUID | None = Field(default=None, foreign_key="adoptions.id")
    # Who put it forward: the supplier, or a facilitator's network on its behalf.
    submitted_by_org_id: uuid.UUID | None = Field(default=None, foreign_key="organisations.id")


class ResponseCreate(ResponseBase):
    model_config = SQLModelConfig(
        extra="forbid",
        json_schema_extra={
            "examples": [{"innovation_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e", "pitch": PITCH_EXAMPLE}]
        },
    )


class ResponseUpdate(SQLModel):
    """A move: shortlist, select, decline (with a reason) or withdraw."""

    model_config = SQLModelConfig(
        extra="forbid",
        json_schema_extra={
            "examples": [{"status": "shortlisted"}, {"status": "declined", "reason": REASON_EXAMPLE}]
        },
    )

    status: ResponseStatus
    reason: str | None = Field(default=None, max_length=2000)


class ResponsePublic(ResponseBase, PublicRecord):
    model_config = SQLModelConfig(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d10",
                    "challenge_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0f",
                    "innovation_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e",
                    "pitch": PITCH_EXAMPLE,
                    "status": "selected",
                    "reason": None,
                    "adoption_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d11",
                    "submitted_by_org_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d12",
                    "version": 3,
                    "created_at": "2026-11-26T09:30:00Z",
                    "updated_at": "2026-12-03T14:05:00Z",
                }
            ]
        }
    )

    challenge_id: uuid.UUID
    status: ResponseStatus
    reason: str | None
    adoption_id: uuid.UUID | None
    submitted_by_org_id: uuid.UUID | None
