import uuid
from datetime import date
from typing import Self

from pydantic import model_validator
from pydantic.json_schema import JsonDict
from sqlalchemy import Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from app.models.base import JSONType, PublicRecord, Versioned
from app.models.vocabulary import CareSetting, Category, ChallengeStatus

EXAMPLE: JsonDict = {
    "title": "Reduce missed outpatient appointments",
    "problem_statement": "One in ten outpatient appointments is missed; we need reminders that work.",
    "owner_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e",
    "care_settings": ["acute_outpatient"],
    "categories": ["digital"],
    "desired_outcomes": "Fewer missed appointments",
    "success_measures": "Did-not-attend rate below 5% within a year",
    "budget_min": 10000,
    "budget_max": 50000,
    "opens_on": "2026-12-01",
    "closes_on": "2027-02-28",
    "status": "open",
    "external_ref": "ch-7",
}


class ChallengeFields(SQLModel):
    title: str = Field(min_length=1, max_length=200)
    problem_statement: str = Field(min_length=1, max_length=20_000, sa_type=Text)
    owner_id: uuid.UUID = Field(foreign_key="organisations.id")
    desired_outcomes: str = Field(default="", max_length=10_000, sa_type=Text)
    success_measures: str = Field(default="", max_length=10_000, sa_type=Text)
    budget_min: int | None = Field(default=None, ge=0, le=2_000_000_000)
    budget_max: int | None = Field(default=None, ge=0, le=2_000_000_000)
    opens_on: date | None = None
    closes_on: date | None = None
    status: ChallengeStatus = Field(default=ChallengeStatus.draft, sa_type=String(20))
    external_ref: str | None = Field(default=None, max_length=200)


def check_ranges(record: "ChallengeCreate | ChallengeUpdate") -> None:
    low, high = record.budget_min, record.budget_max
    if low is not None and high is not None and low > high:
        raise ValueError("budget_min must not be more than budget_max")
    opens, closes = record.opens_on, record.closes_on
    if opens is not None and closes is not None and opens > closes:
        raise ValueError("opens_on must not be after closes_on")


class Challenge(ChallengeFields, Versioned, table=True):
    __tablename__ = "challenges"
    __table_args__ = (
        UniqueConstraint("owner_org_id", "external_ref"),
        Index(None, "owner_id", "id"),
        Index(None, "status", "id"),
    )

    categories: list[str] = Field(default_factory=list, sa_type=JSONType)
    care_settings: list[str] = Field(default_factory=list, sa_type=JSONType)
    owner_org_id: uuid.UUID | None = Field(default=None, foreign_key="organisations.id")


class ChallengeFacet(SQLModel, table=True):
    """One category or care setting of a challenge, for indexed filtering."""

    __tablename__ = "challenge_facets"

    facet: str = Field(primary_key=True, max_length=20)
    value: str = Field(primary_key=True, max_length=40)
    challenge_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True, index=True)
    )


class ChallengeCreate(ChallengeFields):
    model_config = SQLModelConfig(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    categories: list[Category] = Field(default=[], max_length=len(Category))
    care_settings: list[CareSetting] = Field(default=[], max_length=len(CareSetting))

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        check_ranges(self)
        return self


class ChallengeUpdate(SQLModel):
    """Fields to change; a field left out stays as it is."""

    model_config = SQLModelConfig(extra="forbid", json_schema_extra={"examples": [{"status": "closed"}]})

    title: str = Field(default=None, min_length=1, max_length=200)
    problem_statement: str = Field(default=None, min_length=1, max_length=20_000)
    owner_id: uuid.UUID = Field(default=None)
    care_settings: list[CareSetting] = Field(default=None, max_length=len(CareSetting))
    categories: list[Category] = Field(default=None, max_length=len(Category))
    desired_outcomes: str = Field(default=None, max_length=10_000)
    success_measures: str = Field(default=None, max_length=10_000)
    budget_min: int | None = Field(default=None, ge=0, le=2_000_000_000)
    budget_max: int | None = Field(default=None, ge=0, le=2_000_000_000)
    opens_on: date | None = None
    closes_on: date | None = None
    status: ChallengeStatus = Field(default=None)
    external_ref: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        check_ranges(self)
        return self


class ChallengePublic(ChallengeFields, PublicRecord):
    model_config = SQLModelConfig(json_schema_extra={"examples": [EXAMPLE]})

    categories: list[Category]
    care_settings: list[CareSetting]
