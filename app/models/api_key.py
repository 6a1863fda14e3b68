import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from app.models.base import JSONType, Timestamp, UTCDateTime, new_id, utcnow
from app.models.vocabulary import Scope


class ApiKey(SQLModel, table=True):
    """A partner's key. Only a SHA-256 hash of the secret is kept (the secret
    has 190 random bits, so a slow hash would add nothing), beside a short
    prefix that people can recognise the key by."""

    __tablename__ = "api_keys"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    name: str = Field(max_length=200)
    prefix: str = Field(max_length=20)
    secret_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(sa_type=JSONType)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKeyCreate(SQLModel):
    model_config = SQLModelConfig(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "organisation_id": "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e",
                    "name": "Nightly sync",
                    "scopes": ["read", "write"],
                }
            ]
        },
    )

    organisation_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(default=[Scope.read], min_length=1)


class ApiKeyPublic(SQLModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    prefix: str
    scopes: list[Scope]
    version: int
    created_at: Timestamp
    updated_at: Timestamp
    revoked_at: Timestamp | None


class ApiKeyIssued(ApiKeyPublic):
    """The answer to issuing a key: the only time its secret is shown."""

    key: str
