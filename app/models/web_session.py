import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, new_id, utcnow


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its hash is
    kept, and signing out deletes the row, so a copied cookie dies with it."""

    __tablename__ = "web_sessions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class SignInFailure(SQLModel, table=True):
    """Failed sign-ins per email address (hashed, known or not), so repeated
    guessing slows down without telling whether the address exists."""

    __tablename__ = "sign_in_failures"

    email_hash: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    last_failed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
