"""People who sign in: their organisation, role and password (argon2)."""

from argon2 import PasswordHasher
from sqlmodel import Session, func, select

from app.auth import Principal
from app.errors import Conflict, ValidationFailed
from app.models.user import User, UserCreate, UserPublic
from app.models.vocabulary import OrganisationKind, Role
from app.services import events, organisations

MIN_PASSWORD = 12
hasher = PasswordHasher()


def to_public(user: User) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


def create(session: Session, principal: Principal | None, data: UserCreate, password: str | None) -> User:
    """Add a user; `principal` None is the command line."""
    if principal is not None:
        principal.require_admin()
    org = organisations.require(session, data.organisation_id, "organisation_id")
    if data.role == Role.facilitator and org.kind != OrganisationKind.health_innovation_network:
        raise ValidationFailed.field("role", "A facilitator belongs to a Health Innovation Network.")
    if password is not None and len(password) < MIN_PASSWORD:
        raise ValidationFailed.field("password", f"Use at least {MIN_PASSWORD} characters.")
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
    public = to_public(user)
    events.record(session, principal, "user.created", ("user", user.id), public,
                  restricted=True, orgs=(org.id, None))
    return user
