import uuid

from pydantic import BaseModel

from app.models.base import Timestamp


class Adopter(BaseModel):
    organisation_id: uuid.UUID
    name: str
    kind: str
    region: str | None
    stage: str
    adopted_at: Timestamp | None


class QuarterCount(BaseModel):
    quarter: str  # "2026-Q3"
    adoptions: int


class SpreadPublic(BaseModel):
    """How far an innovation has spread (DOMAIN.md): who adopted it, by region
    and kind, how many adoptions stand at each stage, when it was first
    adopted and how many adoptions each quarter."""

    innovation_id: uuid.UUID
    adopted: int
    adopters: list[Adopter]
    by_region: dict[str, int]
    by_kind: dict[str, int]
    by_stage: dict[str, int]
    first_adopted_at: Timestamp | None
    per_quarter: list[QuarterCount]
