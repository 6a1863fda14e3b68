import uuid

from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from app.models.base import PublicRecord, Versioned
from app.models.vocabulary import OrganisationKind, Region

# `pattern` goes through schema_extra: SQLModel's own `regex=` is ignored under pydantic 2.
ODS_CODE = r"^[A-Z0-9]{3,10}$"


class OrganisationBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    kind: OrganisationKind = Field(sa_type=String(40))
    region: Region | None = Field(default=None, sa_type=String(40))
    ods_code: str | None = Field(default=None, max_length=10, schema_extra={"pattern": ODS_CODE})
    external_ref: str | None = Field(default=None, max_length=200)


class Organisation(OrganisationBase, Versioned, table=True):
    __tablename__ = "organisations"
    __table_args__ = (
        UniqueConstraint("ods_code"),
        UniqueConstraint("owner_org_id", "external_ref"),
        Index(None, "kind", "id"),
        Index(None, "region", "id"),
    )

    # The organisation whose key or user created it: its `external_ref` is
    # unique among that owner's records.
    owner_org_id: uuid.UUID | None = Field(default=None, foreign_key="organisations.id")
    # The exchange's own organisation: its admin-role users are the exchange's
    # admins. Set only from the command line (`hie organisations create --exchange`).
    is_exchange: bool = Field(default=False)


class OrganisationCreate(OrganisationBase):
    model_config = SQLModelConfig(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Liverpool University Hospitals NHS Foundation Trust",
                    "kind": "nhs_trust",
                    "region": "north_west",
                    "ods_code": "REM",
                    "external_ref": "org-luht",
                }
            ]
        },
    )


class OrganisationUpdate(SQLModel):
    """Fields to change; a field left out stays as it is."""

    model_config = SQLModelConfig(extra="forbid", json_schema_extra={"examples": [{"name": "New name"}]})

    name: str = Field(default=None, min_length=1, max_length=200)
    kind: OrganisationKind = Field(default=None)
    region: Region | None = None
    ods_code: str | None = Field(default=None, max_length=10, schema_extra={"pattern": ODS_CODE})
    external_ref: str | None = Field(default=None, max_length=200)


class OrganisationPublic(OrganisationBase, PublicRecord):
    pass
