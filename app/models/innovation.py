import uuid

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import JsonDict
from sqlalchemy import Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from app.models.base import JSONType, PublicRecord, Versioned, WebAddress
from app.models.vocabulary import (
    CareSetting,
    Category,
    EvidenceType,
    InnovationStatus,
    Maturity,
    UkcaClass,
)


class EvidenceItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: EvidenceType
    summary: str = Field(min_length=1, max_length=2000)
    url: WebAddress | None = None


class Regulatory(BaseModel):
    """Regulatory marks: the UKCA/CE class, DTAC passed, DCB0129 in place."""

    model_config = ConfigDict(extra="forbid")

    ukca_class: UkcaClass | None = None
    dtac: bool = False
    dcb0129: bool = False


EXAMPLE: JsonDict = {
    "name": "Heat-based sharps destruction",
    "summary": "Destroys a used needle at the point of care in seconds.",
    "description": "Heat technology from precision engineering, repurposed for sharps safety.",
    "supplier_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e",
    "categories": ["medical_device"],
    "care_settings": ["acute_inpatient", "community"],
    "maturity": "ready",
    "origin_sector": "engineering",
    "origin_use": "Heat treatment of metal parts",
    "evidence": [{"type": "real_world", "summary": "Pilot on two wards", "url": None}],
    "regulatory": {"ukca_class": "class_i", "dtac": False, "dcb0129": False},
    "cost_summary": "£1,200 per unit",
    "website": "https://example.org",
    "status": "published",
    "external_ref": "inn-42",
}


class InnovationFields(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=1000)
    description: str = Field(default="", max_length=20_000, sa_type=Text)
    supplier_id: uuid.UUID = Field(foreign_key="organisations.id")
    maturity: Maturity = Field(default=Maturity.discovery, sa_type=String(20))
    origin_sector: str | None = Field(default=None, max_length=100)
    origin_use: str | None = Field(default=None, max_length=2000, sa_type=Text)
    cost_summary: str | None = Field(default=None, max_length=2000, sa_type=Text)
    status: InnovationStatus = Field(default=InnovationStatus.draft, sa_type=String(20))
    external_ref: str | None = Field(default=None, max_length=200)


class Innovation(InnovationFields, Versioned, table=True):
    __tablename__ = "innovations"
    __table_args__ = (
        UniqueConstraint("owner_org_id", "external_ref"),
        Index(None, "supplier_id", "id"),
        Index(None, "status", "id"),
        Index(None, "maturity", "id"),
        Index(None, "origin_sector", "id"),
    )

    categories: list[str] = Field(default_factory=list, sa_type=JSONType)
    care_settings: list[str] = Field(default_factory=list, sa_type=JSONType)
    evidence: list[dict] = Field(default_factory=list, sa_type=JSONType)
    regulatory: dict = Field(default_factory=dict, sa_type=JSONType)
    website: str | None = Field(default=None, max_length=500)
    owner_org_id: uuid.UUID | None = Field(default=None, foreign_key="organisations.id")


class InnovationFacet(SQLModel, table=True):
    """One category or care setting of an innovation, so that filtering on
    either is an index lookup rather than a scan of JSON arrays."""

    __tablename__ = "innovation_facets"

    facet: str = Field(primary_key=True, max_length=20)
    value: str = Field(primary_key=True, max_length=40)
    innovation_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("innovations.id", ondelete="CASCADE"), primary_key=True, index=True)
    )


class InnovationCreate(InnovationFields):
    model_config = SQLModelConfig(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    categories: list[Category] = Field(default=[], max_length=len(Category))
    care_settings: list[CareSetting] = Field(default=[], max_length=len(CareSetting))
    evidence: list[EvidenceItem] = Field(default=[], max_length=50)
    regulatory: Regulatory = Field(default_factory=Regulatory)
    website: WebAddress | None = None


class InnovationUpdate(SQLModel):
    """Fields to change; a field left out stays as it is."""

    model_config = SQLModelConfig(extra="forbid", json_schema_extra={"examples": [{"maturity": "ready"}]})

    name: str = Field(default=None, min_length=1, max_length=200)
    summary: str = Field(default=None, min_length=1, max_length=1000)
    description: str = Field(default=None, max_length=20_000)
    supplier_id: uuid.UUID = Field(default=None)
    categories: list[Category] = Field(default=None, max_length=len(Category))
    care_settings: list[CareSetting] = Field(default=None, max_length=len(CareSetting))
    maturity: Maturity = Field(default=None)
    origin_sector: str | None = Field(default=None, max_length=100)
    origin_use: str | None = Field(default=None, max_length=2000)
    evidence: list[EvidenceItem] = Field(default=None, max_length=50)
    regulatory: Regulatory = Field(default=None)
    cost_summary: str | None = Field(default=None, max_length=2000)
    website: WebAddress | None = None
    status: InnovationStatus = Field(default=None)
    external_ref: str | None = Field(default=None, max_length=200)


class InnovationPublic(InnovationFields, PublicRecord):
    model_config = SQLModelConfig(json_schema_extra={"examples": [EXAMPLE]})

    categories: list[Category]
    care_settings: list[CareSetting]
    evidence: list[EvidenceItem]
    regulatory: Regulatory
    website: str | None
