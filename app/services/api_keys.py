"""API keys: issued to an organisation, shown once, stored as a hash."""

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable

from sqlmodel import Session, col, select

from app.auth import Principal, role_for_key
from app.errors import Forbidden, NotFound, Unauthenticated
from app.models.api_key import ApiKey, ApiKeyCreate, ApiKeyPublic
from app.models.base import utcnow
from app.models.organisation import Organisation
from app.models.vocabulary import Scope
from app.services import events, organisations, records
from app.services.pagination import Page, PageRequest, keyset

PREFIX = "hie_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_secret() -> tuple[str, str]:
    """A new key and its visible prefix: `hie_` and 8 characters to know it by."""
    key = PREFIX + secrets.token_urlsafe(32)
    return key, key[: len(PREFIX) + 8]


def to_public(key: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic.model_validate(key, from_attributes=True)


def authenticate(session: Session, key: str) -> Principal:
    """The principal a key acts as; 401 for an unknown or revoked key."""
    if not key.startswith(PREFIX) or len(key) > 200:
        raise Unauthenticated("That is not an API key of this service.")
    digest = _hash(key)
    row = session.exec(
        select(ApiKey, Organisation)
        .join(Organisation, col(Organisation.id) == ApiKey.organisation_id)
        .where(ApiKey.secret_hash == digest)
    ).first()
    if row is None or not hmac.compare_digest(row[0].secret_hash, digest) or row[0].revoked_at:
        raise Unauthenticated("This API key is unknown or has been revoked.")
    api_key, org = row
    scopes = frozenset(Scope(s) for s in api_key.scopes)
    return Principal(
        organisation_id=org.id,
        organisation_kind=org.kind,
        region=org.region,
        role=role_for_key(org.kind, scopes),
        scopes=scopes,
        label=f"api key {api_key.prefix} ({org.name})",
        api_key_id=api_key.id,
    )


def _may_issue(principal: Principal | None, organisation_id: uuid.UUID, scopes: Iterable[Scope]) -> None:
    if principal is None or principal.is_admin:
        return  # the command line, or the exchange's admins
    if organisation_id != principal.organisation_id:
        raise Forbidden("Keys are issued for your own organisation only.")
    if Scope.admin in scopes:
        raise Forbidden("Keys with the `admin` scope are issued only by an admin or the command line.")


def issue(session: Session, principal: Principal | None, data: ApiKeyCreate) -> tuple[ApiKey, str]:
    """Issue a key; `principal` None is the command line. Returns the key
    record and the secret, which is never stored and never shown again."""
    _may_issue(principal, data.organisation_id, data.scopes)
    organisations.require(session, data.organisation_id, "body.organisation_id")
    secret, prefix = new_secret()
    api_key = ApiKey(
        organisation_id=data.organisation_id,
        name=data.name,
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=[scope for scope in Scope if scope in data.scopes],
    )
    session.add(api_key)
    session.flush()
    events.record(
        session,
        principal,
        "api_key.issued",
        ("api_key", api_key.id),
        to_public(api_key),
        restricted=True,
        orgs=(api_key.organisation_id, None),
    )
    return api_key, secret


def list_(
    session: Session, principal: Principal, organisation_id: uuid.UUID | None, page: PageRequest
) -> Page[ApiKeyPublic]:
    stmt = select(ApiKey)
    if not principal.is_admin:
        if organisation_id not in (None, principal.organisation_id):
            raise Forbidden("You may list only your own organisation's keys.")
        organisation_id = principal.organisation_id
    if organisation_id is not None:
        stmt = stmt.where(ApiKey.organisation_id == organisation_id)
    return keyset(session, stmt, col(ApiKey.id), page, to_public)


def get(session: Session, principal: Principal, key_id: uuid.UUID, *, for_update: bool = False) -> ApiKey:
    api_key = session.get(ApiKey, key_id, with_for_update=for_update)
    if api_key is None or not (principal.is_admin or api_key.organisation_id == principal.organisation_id):
        raise NotFound("API key")
    return api_key


def revoke(session: Session, principal: Principal, api_key: ApiKey, expected_version: int | None) -> ApiKey:
    records.check_version(api_key, expected_version)
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        records.touch(api_key)
        session.flush()
        events.record(
            session,
            principal,
            "api_key.revoked",
            ("api_key", api_key.id),
            to_public(api_key),
            restricted=True,
            orgs=(api_key.organisation_id, None),
        )
    return api_key
