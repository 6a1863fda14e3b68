import uuid
from datetime import datetime

from pydantic import EmailStr
from sqlalchemy import String
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from app.models.base import PublicRecord, UTCDateTime, Versioned
from app.models.vocabulary import Role


class UserBase(SQLModel):
    email: EmailStr = Field(max_length=254, sa_type=String(254), unique=True)
    name: str = Field(min_length=1, max_length=200)
    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    role: Role = Field(default=Role.member, sa_type=String(20))


class User(UserBase, Versioned, table=True):
    __tablename__ = "users"

    # An argon2 hash; no password at all means the user cannot sign in yet.
    password_hash: str | None = Field(default=None, max_length=255)
    is_active: bool = Field(default=True)
    last_signed_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UserCreate(UserBase):
    model_config = SQLModelConfig(extra="forbid")


class UserPublic(UserBase, PublicRecord):
    is_active: bool
