"""Small factories: each makes one record through the services, as a
person or partner would, so that events and facets are written too."""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from app.auth import Principal
from app.config import Settings
from app.models import Adoption, Challenge, Innovation, Organisation
from app.models.adoption import AdoptionCreate
from app.models.api_key import ApiKeyCreate
from app.models.application import Application, ApplicationCreate
from app.models.challenge import ChallengeCreate
from app.models.innovation import InnovationCreate
from app.models.organisation import OrganisationCreate
from app.models.vocabulary import Role, Scope
from app.services import adoptions, api_keys, applications, challenges, innovations, organisations, pipeline

# The command line's rights: what factories act with.
SYSTEM = None


def admin_principal(org: Organisation) -> Principal:
    return Principal(
        organisation_id=org.id,
        organisation_kind=org.kind,
        region=org.region,
        role=Role.admin,
        scopes=frozenset(Scope),
        label="tests",
    )


def principal_for(session: Session, key: str) -> Principal:
    return api_keys.authenticate(session, key)


def make_org(
    session: Session,
    kind: str = "nhs_trust",
    region: str | None = "north_west",
    *,
    is_exchange: bool = False,
    **values: Any,
) -> Organisation:
    data = OrganisationCreate(
        name=values.pop("name", f"{kind.replace('_', ' ').title()} {uuid.uuid4().hex[:6]}"),
        kind=kind,
        region=region,
        **values,
    )
    return organisations.create(session, SYSTEM, data, is_exchange=is_exchange)


def make_key(session: Session, org: Organisation, scopes: tuple[str, ...] = ("read", "write")) -> str:
    _, secret = api_keys.issue(
        session, SYSTEM, ApiKeyCreate(organisation_id=org.id, name="tests", scopes=list(scopes))
    )
    return secret


def make_innovation(session: Session, supplier: Organisation, **values: Any) -> Innovation:
    data = {
        "name": "Heat-based sharps destruction",
        "summary": "Destroys used needles at the point of care.",
        "supplier_id": supplier.id,
        "status": "published",
        "categories": ["medical_device"],
        "care_settings": ["acute_inpatient"],
        **values,
    }
    return innovations.create(session, admin_principal(supplier), InnovationCreate.model_validate(data))


def make_challenge(session: Session, owner: Organisation, **values: Any) -> Challenge:
    data = {
        "title": "Safer sharps disposal on wards",
        "problem_statement": "Needlestick injuries on wards cost time and worry.",
        "owner_id": owner.id,
        "status": "open",
        **values,
    }
    return challenges.create(session, admin_principal(owner), ChallengeCreate.model_validate(data))


# Gate values that meet every gate up to `adopted`.
FULL_GATE: dict[str, Any] = {
    "champion": "Dr Asha Patel",
    "needs_assessment_summary": "Sharps injuries on three wards; the device fits the ward round.",
    "evidence_reviewed": True,
    "regulation_reviewed": True,
    "cost_reviewed": True,
    "pathway_fit_reviewed": True,
    "funding_source": "Trust innovation fund",
    "evaluation_plan": "Six-month before-and-after audit",
    "success_measures": "Needlestick injuries halved",
    "local_tailoring": "Wall mounts agreed with the ward sisters",
    "evaluation_outcome": "positive",
    "procurement_route": "Direct award",
}


def make_adoption(
    session: Session,
    innovation: Innovation,
    adopter: Organisation,
    *,
    gate: dict[str, Any] | None = None,
    stage: str | None = None,
    adopted_days_ago: int | None = None,
    **values: Any,
) -> Adoption:
    """An adoption, walked forward (by an admin) to `stage` if given."""
    data = AdoptionCreate(innovation_id=innovation.id, organisation_id=adopter.id, gate=gate or {}, **values)
    actor = admin_principal(adopter)
    loaded = adoptions.create(session, actor, data)
    if stage is not None:
        walk(session, loaded, stage, actor)
    if adopted_days_ago is not None:
        adoption = loaded.adoption
        adoption.adopted_at = pipeline.utcnow() - timedelta(days=adopted_days_ago)
        session.add(adoption)
        session.flush()
    return loaded.adoption


def walk(session: Session, loaded: adoptions.Loaded, stage: str, actor: Principal) -> None:
    order = [s.key for s in pipeline.stages(session).active]
    current = order.index(loaded.adoption.stage)
    for key in order[current + 1 : order.index(stage) + 1]:
        pipeline.move(
            session,
            actor,
            loaded.adoption,
            pipeline.MoveRequest(to_stage=key, override=True, reason="set up by the tests"),
            adopter_region=loaded.adopter_region,
            supplier_id=loaded.supplier_id,
        )


@dataclass
class World:
    """A small exchange: who is who, with a key each."""

    exchange: Organisation
    network: Organisation  # the north west's Health Innovation Network
    other_network: Organisation  # London's
    supplier: Organisation
    trust: Organisation  # adopts, in the north west
    other_trust: Organisation  # in London, unrelated
    innovation: Innovation
    adoption: Adoption
    keys: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


def make_world(session: Session) -> World:
    exchange = make_org(session, "other", "north_west", name="Health Innovation Exchange", is_exchange=True)
    network = make_org(session, "health_innovation_network", "north_west", name="Innovation Agency")
    other_network = make_org(
        session, "health_innovation_network", "london", name="Health Innovation Network South London"
    )
    supplier = make_org(session, "supplier", "north_west", name="NeedleSmart")
    trust = make_org(session, "nhs_trust", "north_west", name="Liverpool University Hospitals")
    other_trust = make_org(session, "nhs_trust", "london", name="Guy's and St Thomas'")
    innovation = make_innovation(session, supplier)
    adoption = make_adoption(session, innovation, trust)
    world = World(exchange, network, other_network, supplier, trust, other_trust, innovation, adoption)
    world.keys = {
        "admin": make_key(session, exchange, ("read", "write", "admin")),
        "facilitator": make_key(session, network),
        "other_facilitator": make_key(session, other_network),
        "supplier": make_key(session, supplier),
        "trust": make_key(session, trust),
        "other_trust": make_key(session, other_trust),
        "trust_read_only": make_key(session, trust, ("read",)),
    }
    return world


# A whole, valid application to join, from a business in the Liverpool City Region.
APPLICATION: dict[str, Any] = {
    "company_name": "Merseyside Thermal Engineering Ltd",
    "companies_house_number": "01234567",
    "address": "Unit 4, Brunswick Business Park, Liverpool",
    "postcode": "L3 4BJ",
    "website": "https://thermal.example.co.uk",
    "company_size": "small",
    "contact_name": "Sam Okafor",
    "contact_email": "sam@thermal.example.co.uk",
    "contact_role": "Managing director",
    "product_name": "Induction sharps destroyer",
    "product_description": "Induction heating that melts small metal parts in seconds.",
    "origin_sector": "Engineering",
    "current_users": "Precision engineering firms in the North West.",
    "health_problem": "Needlestick injuries when used sharps are carried to a bin.",
    "care_settings": ["acute_inpatient", "community"],
    "evidence": "ISO 9001 certified.",
    "support_wanted": ["clinical_introductions", "regulation"],
    "consent_to_contact": True,
    "consent_to_data": True,
}


def make_application(
    session: Session,
    settings: Settings,
    *,
    client: str = "203.0.113.7",
    suspected_spam: bool = False,
    **values: Any,
) -> Application:
    data = ApplicationCreate.model_validate({**APPLICATION, **values})
    return applications.submit(session, settings, data, client, suspected_spam=suspected_spam)
