"""Matches between challenges and innovations, as the API shows them: each
with its score and the reasons for it in plain words, the points of the
reasons adding up to the score (app/services/matching.py makes them)."""

import uuid
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, JsonValue
from pydantic.json_schema import JsonDict

from app.models.vocabulary import CareSetting, Category, ChallengeStatus, InnovationStatus, Maturity


class MatchFactor(StrEnum):
    """What a reason is about: fit (the first three), readiness, spread."""

    care_setting = "care_setting"
    category = "category"
    text = "text"
    maturity = "maturity"
    evidence = "evidence"
    regulatory = "regulatory"
    adoption = "adoption"


class MatchReason(BaseModel):
    factor: MatchFactor
    text: str
    points: float


class MatchedInnovation(BaseModel):
    """Enough of an innovation to list it and link to it."""

    id: uuid.UUID
    name: str
    summary: str
    supplier_id: uuid.UUID
    supplier_name: str
    maturity: Maturity
    categories: list[Category]
    care_settings: list[CareSetting]


class MatchedChallenge(BaseModel):
    """Enough of a challenge to list it and link to it."""

    id: uuid.UUID
    title: str
    owner_id: uuid.UUID
    owner_name: str
    status: ChallengeStatus
    closes_on: date | None
    categories: list[Category]
    care_settings: list[CareSetting]


REASONS_EXAMPLE: list[JsonValue] = [
    {"factor": "care_setting", "text": "shares care setting: primary care", "points": 3.0},
    {"factor": "text", "text": "words in common: falls, sensor", "points": 2.4},
    {"factor": "maturity", "text": "ready for adoption", "points": 2.0},
    {"factor": "regulatory", "text": "passed DTAC", "points": 0.5},
    {"factor": "adoption", "text": "adopted by 3 organisations in North West", "points": 1.5},
]
INNOVATION_MATCH_EXAMPLE: JsonDict = {
    "score": 9.4,
    "reasons": REASONS_EXAMPLE,
    "innovation": {
        "id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e",
        "name": "Bedside falls sensor",
        "summary": "A pressure pad that alerts staff when a patient at risk of falling gets up.",
        "supplier_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0f",
        "supplier_name": "SafeStep Ltd",
        "maturity": "ready",
        "categories": ["medical_device"],
        "care_settings": ["primary_care", "care_home"],
    },
}
CHALLENGE_MATCH_EXAMPLE: JsonDict = {
    "score": 9.4,
    "reasons": REASONS_EXAMPLE,
    "challenge": {
        "id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d10",
        "title": "Fewer falls at home",
        "owner_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d11",
        "owner_name": "Wirral Community Health and Care",
        "status": "open",
        "closes_on": "2027-02-28",
        "categories": ["medical_device"],
        "care_settings": ["primary_care"],
    },
}


class InnovationMatch(BaseModel):
    """A published innovation that could answer a challenge, and why."""

    model_config = ConfigDict(json_schema_extra={"examples": [INNOVATION_MATCH_EXAMPLE]})

    score: float
    reasons: list[MatchReason]
    innovation: MatchedInnovation


class ChallengeMatch(BaseModel):
    """An open challenge an innovation could answer, and why."""

    model_config = ConfigDict(json_schema_extra={"examples": [CHALLENGE_MATCH_EXAMPLE]})

    score: float
    reasons: list[MatchReason]
    challenge: MatchedChallenge


class SimilarInnovation(BaseModel):
    """An innovation whose name and summary are close to one being added."""

    id: uuid.UUID
    name: str
    summary: str
    supplier_name: str
    status: InnovationStatus
