"""The bulk import's request and answer (API.md, "Bulk import").

Each record is validated by the service against its kind's Create schema
(OrganisationCreate, InnovationCreate, ChallengeCreate, AdoptionCreate), so
that an error names its exact place (`innovations[41].care_settings[0]`);
here the records are only arrays of objects."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

KINDS = ("organisations", "innovations", "challenges", "adoptions")

EXAMPLE: dict[str, Any] = {
    "organisations": [
        {
            "external_ref": "org-needlesmart",
            "name": "NeedleSmart",
            "kind": "supplier",
            "region": "north_west",
        },
        {
            "external_ref": "org-luht",
            "name": "Liverpool University Hospitals NHS Foundation Trust",
            "kind": "nhs_trust",
            "region": "north_west",
            "ods_code": "REM",
        },
    ],
    "innovations": [
        {
            "external_ref": "inn-sharps",
            "name": "Heat-based sharps destruction",
            "summary": "Destroys a used needle at the point of care in seconds.",
            "supplier_ref": "org-needlesmart",
            "categories": ["medical_device"],
            "care_settings": ["acute_inpatient"],
            "status": "published",
        }
    ],
    "adoptions": [
        {
            "external_ref": "adopt-sharps-luht",
            "innovation_ref": "inn-sharps",
            "organisation_ref": "org-luht",
            "lead": {"name": "Dr Asha Patel", "email": "asha.patel@nhs.example"},
            "gate": {"champion": "Dr Asha Patel"},
            "stage": "needs_assessment",
        }
    ],
}


def _records(kind: str, schema: str, refs: str) -> Any:
    return Field(
        default=[],
        description=f"{kind.capitalize()}: each as {schema} (validated as it), with an `external_ref`. "
        f"References may name another record of this import, or one of yours, by its external_ref: {refs}.",
    )


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    organisations: list[Any] = _records("organisations", "OrganisationCreate", "none")
    innovations: list[Any] = _records("innovations", "InnovationCreate", "`supplier_ref` for `supplier_id`")
    challenges: list[Any] = _records("challenges", "ChallengeCreate", "`owner_ref` for `owner_id`")
    adoptions: list[Any] = _records(
        "adoptions",
        "AdoptionCreate, plus `stage` (where it stands: moved there by the pipeline's rules, "
        "reason `imported`) and `reason_code` (for `not_progressed`)",
        "`innovation_ref`, `organisation_ref`, `challenge_ref`",
    )


class KindCounts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class ImportResult(BaseModel):
    """How many records of each kind the import created, changed, or found as they were."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "organisations": {"created": 2, "updated": 0, "unchanged": 0},
                    "innovations": {"created": 1, "updated": 0, "unchanged": 0},
                    "challenges": {"created": 0, "updated": 0, "unchanged": 0},
                    "adoptions": {"created": 1, "updated": 0, "unchanged": 0},
                }
            ]
        }
    )

    organisations: KindCounts = Field(default_factory=KindCounts)
    innovations: KindCounts = Field(default_factory=KindCounts)
    challenges: KindCounts = Field(default_factory=KindCounts)
    adoptions: KindCounts = Field(default_factory=KindCounts)

    def of(self, kind: str) -> KindCounts:
        counts: KindCounts = getattr(self, kind)
        return counts
