"""People who sign in: their organisation, role and password (argon2)."""

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from pydantic import BaseModel
from sqlmodel import Session, col, delete, func, select

from app.auth import Principal
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models.base import as_utc, utcnow
from app.models.organisation import Organisation
from app.models.user import PasswordSetup, User, UserCreate, UserPublic
from app.models.vocabulary import OrganisationKind, Role
from app.models.web_session import WebSession
from app.services import events, organisations, records
from app.services.pagination import Page, PageRequest, keyset

MIN_PASSWORD = 12
# How many organisations a form's select offers, in name order.
MAX_CHOICES = 500
hasher = PasswordHasher()


def digest(token: str) -> str:
    """What is kept of a secret token: its SHA-256 (the token itself is random)."""
    return hashlib.sha256(token.encode()).hexdigest()


class UserRow(BaseModel):
    """A user as the admins' list shows them: with their organisation's name."""

    user: UserPublic
    organisation_name: str


def to_public(user: User) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


def _record(session: Session, principal: Principal | None, type: str, user: User) -> None:
    events.record(
        session,
        principal,
        type,
        ("user", user.id),
        to_public(user),
        restricted=True,
        orgs=(user.organisation_id, None),
    )


def create(session: Session, principal: Principal | None, data: UserCreate, password: str | None) -> User:
    """Add a user; `principal` None is the command line."""
    if principal is not None:
        principal.require_admin()
    return add(session, principal, data, password)


def add(session: Session, actor: Principal | None, data: UserCreate, password: str | None) -> User:
    """Add one, for a caller that has decided who may (an accepted application)."""
    org = organisations.require(session, data.organisation_id, "organisation_id")
    if data.role == Role.facilitator and org.kind != OrganisationKind.health_innovation_network:
        raise ValidationFailed.field("role", "A facilitator belongs to a Health Innovation Network.")
    if password is not None:
        check_password(password)
    email = str(data.email).lower()
    if session.exec(select(User.id).where(func.lower(User.email) == email)).first():
        raise Conflict("A user with this email already exists.")
    user = User(
        email=email,
        name=data.name,
        organisation_id=org.id,
        role=data.role,
        password_hash=hasher.hash(password) if password else None,
    )
    session.add(user)
    session.flush()
    _record(session, actor, "user.created", user)
    return user


def list_(
    session: Session, principal: Principal, page: PageRequest, organisation_id: uuid.UUID | None = None
) -> Page[UserRow]:
    """Every user with their organisation's name, oldest first; admins only.
    Two bounded queries: a keyset page of users, then their organisations' names."""
    principal.require_admin()
    stmt = select(User)
    if organisation_id is not None:
        stmt = stmt.where(User.organisation_id == organisation_id)
    found = keyset(session, stmt, col(User.id), page, to_public)
    org_ids = {user.organisation_id for user in found.items}
    names = (
        dict(
            session.exec(
                select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(org_ids))
            ).all()
        )
        if org_ids
        else {}
    )
    return Page[UserRow](
        items=[
            UserRow(user=user, organisation_name=names.get(user.organisation_id, "")) for user in found.items
        ],
        next_cursor=found.next_cursor,
    )


def get(session: Session, principal: Principal, user_id: uuid.UUID, *, for_update: bool = False) -> User:
    principal.require_admin()
    user = session.get(User, user_id, with_for_update=for_update)
    if user is None:
        raise NotFound("user")
    return user


def deactivate(session: Session, principal: Principal, user: User, expected_version: int | None) -> User:
    """Stop a user signing in, and end the sessions they have open."""
    principal.require_admin()
    if principal.user_id == user.id:
        raise Forbidden("You cannot deactivate your own account. Ask another admin.")
    records.check_version(user, expected_version)
    if user.is_active:
        user.is_active = False
        records.touch(user)
        session.flush()
        session.exec(delete(WebSession).where(col(WebSession.user_id) == user.id))
        _record(session, principal, "user.deactivated", user)
    return user


def reactivate(session: Session, principal: Principal, user: User, expected_version: int | None) -> User:
    """Let a deactivated user sign in again, with the password they had."""
    principal.require_admin()
    records.check_version(user, expected_version)
    if not user.is_active:
        user.is_active = True
        records.touch(user)
        session.flush()
        _record(session, principal, "user.reactivated", user)
    return user


def organisation_choices(session: Session, limit: int = MAX_CHOICES) -> list[tuple[uuid.UUID, str]]:
    """Organisations for a form's select, by name: (id, name), at most `limit`."""
    stmt = select(Organisation.id, Organisation.name).order_by(col(Organisation.name), col(Organisation.id))
    return [(org_id, name) for org_id, name in session.exec(stmt.limit(limit)).all()]


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed.field("password", f"Use at least {MIN_PASSWORD} characters.")


# --- one-time links to set a first password --------------------------------------


def issue_password_link(
    session: Session, user: User, days: int, now: datetime | None = None
) -> tuple[str, datetime]:
    """A new token for `user` to set a password with, and when it expires;
    any earlier link of theirs stops working."""
    now = now or utcnow()
    session.exec(delete(PasswordSetup).where(col(PasswordSetup.user_id) == user.id))
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(days=days)
    session.add(
        PasswordSetup(token_hash=digest(token), user_id=user.id, created_at=now, expires_at=expires_at)
    )
    session.flush()
    return token, expires_at


def user_of_password_link(session: Session, token: str, now: datetime | None = None) -> User:
    """The user a link is for, while it is unused and unexpired."""
    setup = session.get(PasswordSetup, digest(token)) if 0 < len(token) <= 100 else None
    user = session.get(User, setup.user_id) if setup else None
    if setup is None or user is None or not user.is_active or as_utc(setup.expires_at) <= (now or utcnow()):
        raise NotFound("link to set a password")
    return user


def set_password_with_link(session: Session, token: str, password: str, now: datetime | None = None) -> User:
    """Set the password and end the link, so it works once."""
    user = user_of_password_link(session, token, now)
    check_password(password)
    user.password_hash = hasher.hash(password)
    records.touch(user)
    session.exec(delete(PasswordSetup).where(col(PasswordSetup.user_id) == user.id))
    session.flush()
    events.record(
        session,
        user.email,
        "user.password_set",
        ("user", user.id),
        {"user_id": str(user.id)},
        restricted=True,
        orgs=(user.organisation_id, None),
    )
    return user
