"""Principals: who is calling, and with which rights.

An API key acts with its organisation's rights; a key of a Health Innovation
Network acts as a facilitator for its region, and a key with the `admin`
scope as the exchange's admin (API.md). A signed-in user acts by their role.
"""

import uuid
from dataclasses import dataclass

from app.errors import Forbidden
from app.models.vocabulary import OrganisationKind, Role, Scope


@dataclass(frozen=True)
class Principal:
    organisation_id: uuid.UUID
    organisation_kind: str
    region: str | None
    role: Role
    scopes: frozenset[Scope]
    # How the audit trail names them: "Jane Smith <jane@nhs.net>" or "api key hie_1a2b3c4d".
    label: str
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @property
    def is_facilitator(self) -> bool:
        return self.role is Role.facilitator

    @property
    def is_exchange_staff(self) -> bool:
        """Facilitators and admins: they see every adoption and may override."""
        return self.role in (Role.admin, Role.facilitator)

    def facilitates(self, region: str | None) -> bool:
        return self.is_facilitator and region is not None and region == self.region

    def require_scope(self, scope: Scope) -> None:
        # `admin` includes `write`, which includes `read`.
        ladder = [Scope.read, Scope.write, Scope.admin]
        if not any(ladder.index(s) >= ladder.index(scope) for s in self.scopes):
            raise Forbidden(f"This key lacks the `{scope}` scope.")

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("Only the exchange's admins may do this.")


def role_for_key(organisation_kind: str, scopes: frozenset[Scope]) -> Role:
    if Scope.admin in scopes:
        return Role.admin
    if organisation_kind == OrganisationKind.health_innovation_network:
        return Role.facilitator
    return Role.member


def role_for_user(user_role: str, organisation_kind: str, is_exchange: bool) -> Role:
    """A user's rights. `admin` is the exchange's own team only: an admin-role
    user of any other organisation administers just that organisation (its
    API keys) and otherwise acts as a member. A facilitator belongs to a
    Health Innovation Network (DOMAIN.md)."""
    if user_role == Role.admin and not is_exchange:
        return Role.member
    if user_role == Role.facilitator and organisation_kind != OrganisationKind.health_innovation_network:
        return Role.member
    return Role(user_role)
