"""Signing in and out of the pages: argon2 passwords, server-side sessions,
and a slow-down for repeated failures that does not reveal whether an email
address has an account."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, delete, func, select

from app.auth import Principal, role_for_user
from app.config import Settings
from app.errors import TooManyRequests
from app.models.base import as_utc, utcnow
from app.models.organisation import Organisation
from app.models.user import User
from app.models.vocabulary import Scope
from app.models.web_session import SignInFailure, WebSession
from app.services import events
from app.services.users import digest, hasher

# Verifying against this when there is no such user takes as long as a real
# check, so the answer's timing does not tell whether the address exists.
_DUMMY_HASH = hasher.hash("no such user; this only spends the time a real check would")


class SignInThrottled(TooManyRequests):
    title, slug = "Too many tries", "sign-in-throttled"


@dataclass(frozen=True)
class SignedIn:
    user: User
    organisation: Organisation
    principal: Principal


def _wait(failures: int, free: int) -> timedelta:
    """After `free` failures, each try waits twice as long as the last: 1s, 2s, 4s … 15 min."""
    if failures < free:
        return timedelta(0)
    return timedelta(seconds=min(2 ** (failures - free), 900))


def _principal(user: User, org: Organisation) -> Principal:
    role = role_for_user(user.role, org.kind, org.is_exchange)
    scopes = frozenset(Scope) if role == "admin" else frozenset({Scope.read, Scope.write})
    return Principal(
        organisation_id=org.id,
        organisation_kind=org.kind,
        region=org.region,
        role=role,
        scopes=scopes,
        label=f"{user.name} <{user.email}>",
        user_id=user.id,
    )


def sign_in(
    session: Session, settings: Settings, email: str, password: str, now: datetime | None = None
) -> tuple[SignedIn, str] | None:
    """Check the password; return who signed in and a new session token, or
    None when it is wrong (the failure is recorded, so the caller commits)."""
    now = now or utcnow()
    email = email.strip().lower()
    failure = session.get(SignInFailure, digest(email), with_for_update=True)
    if failure is not None:
        ready_at = as_utc(failure.last_failed_at) + _wait(failure.failures, settings.sign_in_free_failures)
        if now < ready_at:
            seconds = int((ready_at - now).total_seconds()) + 1
            raise SignInThrottled(
                f"Too many tries. Wait {seconds} seconds and try again.", retry_after=seconds
            )

    row = session.exec(
        select(User, Organisation)
        .join(Organisation, col(Organisation.id) == User.organisation_id)
        .where(func.lower(User.email) == email)
    ).first()
    user, org = row if row else (None, None)
    try:
        hasher.verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
        ok = user is not None and user.is_active and user.password_hash is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or org is None:
        if failure is None:
            failure = SignInFailure(email_hash=digest(email))
        failure.failures += 1
        failure.last_failed_at = now
        session.add(failure)
        session.flush()
        return None

    if failure is not None:
        session.delete(failure)
    if hasher.check_needs_rehash(user.password_hash or ""):
        user.password_hash = hasher.hash(password)
    user.last_signed_in_at = now
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=digest(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(hours=settings.session_hours),
        )
    )
    signed_in = SignedIn(user, org, _principal(user, org))
    events.record(
        session,
        signed_in.principal,
        "user.signed_in",
        ("user", user.id),
        {"user_id": str(user.id)},
        restricted=True,
        orgs=(org.id, None),
    )
    return signed_in, token


def current(session: Session, token: str | None, now: datetime | None = None) -> SignedIn | None:
    """Who a session cookie belongs to, if it is still valid."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    row = session.exec(
        select(User, Organisation, WebSession)
        .join(WebSession, col(WebSession.user_id) == User.id)
        .join(Organisation, col(Organisation.id) == User.organisation_id)
        .where(WebSession.token_hash == digest(token))
    ).first()
    if row is None:
        return None
    user, org, web_session = row
    if as_utc(web_session.expires_at) <= now or not user.is_active:
        return None
    return SignedIn(user, org, _principal(user, org))


def sign_out(session: Session, token: str | None) -> None:
    if token:
        session.exec(delete(WebSession).where(col(WebSession.token_hash) == digest(token)))
