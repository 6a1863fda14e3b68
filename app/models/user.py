import uuid
from datetime import datetime

from pydantic import EmailStr
from sqlalchemy import Column, ForeignKey, String
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from app.models.base import PublicRecord, UTCDateTime, Versioned, utcnow
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


class PasswordSetup(SQLModel, table=True):
    """A one-time link to set a password, for a user who has none yet. Only
    the token's hash is kept; using it or making a new one ends it."""

    __tablename__ = "password_setups"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
