"""The pipeline funnel (`GET /api/v1/metrics/funnel`): where adoptions stand,
how far they get, how long they take and where they stop. The definitions
are app/services/analytics.py's, repeated in each field's description so
that a partner reads them in the OpenAPI document."""

import uuid

from pydantic import BaseModel, ConfigDict, Field

from app.models.base import Timestamp


class StageCount(BaseModel):
    stage: str
    name: str
    adoptions: int = Field(description="Adoptions standing at this stage now.")


class Conversion(BaseModel):
    from_stage: str
    to_stage: str
    reached: int = Field(
        description="Adoptions that got at least as far as `from_stage`: the furthest active stage "
        "each ever entered (from its transitions) is `from_stage` or later. Every adoption reached "
        "`identified`."
    )
    went_on: int = Field(description="Of those, the adoptions that got at least as far as `to_stage`.")
    rate: float | None = Field(
        description="`went_on / reached`, from 0 to 1, to three places; null when none reached `from_stage`."
    )


class TimeInStage(BaseModel):
    stage: str
    name: str
    stays: int = Field(
        description="Completed stays in the stage measured: from entering it (a transition into it, or "
        "the adoption's opening for `identified`) to the next transition out of it; the stage's latest "
        "ones, up to the number the endpoint's description gives. A stay still going is not counted."
    )
    median_days: int | None = Field(
        description="Whole days: the smallest d such that at least half the stays lasted d days or "
        "fewer (nearest rank). Null when there are no stays."
    )
    p90_days: int | None = Field(
        description="Whole days: the smallest d such that at least nine in ten stays lasted d days "
        "or fewer (nearest rank). Null when there are no stays."
    )


class StuckAdoption(BaseModel):
    adoption_id: uuid.UUID
    innovation_id: uuid.UUID
    innovation_name: str
    organisation_id: uuid.UUID
    organisation_name: str
    stage: str
    stage_entered_at: Timestamp
    days_in_stage: int = Field(description="Whole days since it entered its stage.")


class StopCount(BaseModel):
    reason_code: str
    stops: int = Field(description="Moves to `not_progressed` with this reason code.")


class StopsFromStage(BaseModel):
    stage: str
    name: str
    stops: int = Field(description="Moves to `not_progressed` from this stage.")


class FunnelPublic(BaseModel):
    """The pipeline funnel over the adoptions the caller may see that pass the
    filters. Each number is a SQL aggregate over the adoptions and their
    transitions."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "adoptions": 3,
                    "stages": [
                        {"stage": "identified", "name": "Identified", "adoptions": 1},
                        {"stage": "needs_assessment", "name": "Needs assessment", "adoptions": 1},
                        {"stage": "not_progressed", "name": "Not progressed", "adoptions": 1},
                    ],
                    "conversions": [
                        {
                            "from_stage": "identified",
                            "to_stage": "needs_assessment",
                            "reached": 3,
                            "went_on": 2,
                            "rate": 0.667,
                        }
                    ],
                    "time_in_stage": [
                        {
                            "stage": "identified",
                            "name": "Identified",
                            "stays": 2,
                            "median_days": 10,
                            "p90_days": 30,
                        }
                    ],
                    "stuck": [
                        {
                            "adoption_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e",
                            "innovation_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0f",
                            "innovation_name": "Heat-based sharps destruction",
                            "organisation_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d10",
                            "organisation_name": "Liverpool University Hospitals NHS Foundation Trust",
                            "stage": "needs_assessment",
                            "stage_entered_at": "2026-03-02T09:30:00Z",
                            "days_in_stage": 269,
                        }
                    ],
                    "stops": [{"reason_code": "no_funding", "stops": 1}],
                    "stops_by_stage": [{"stage": "needs_assessment", "name": "Needs assessment", "stops": 1}],
                }
            ]
        }
    )

    adoptions: int = Field(description="Adoptions counted: those the caller may see that pass the filters.")
    stages: list[StageCount] = Field(description="Every stage in the pipeline's order, off-line ones last.")
    conversions: list[Conversion] = Field(description="From each active stage to the next.")
    time_in_stage: list[TimeInStage] = Field(description="Every stage but `not_progressed`, in order.")
    stuck: list[StuckAdoption] = Field(
        description="The adoptions longest in their current stage, longest first, leaving out those "
        "`adopted`, `sustained` or `not_progressed` (a paused one counts: it is stuck)."
    )
    stops: list[StopCount] = Field(
        description="Where adoptions stop: every move to `not_progressed`, by reason code, most "
        "first (an adoption stopped, reopened and stopped again counts twice)."
    )
    stops_by_stage: list[StopsFromStage] = Field(
        description="The same moves by the stage they left, in the pipeline's order."
    )
