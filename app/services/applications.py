"""Applications to join the exchange, from submission to decision.

A business applies without signing in (the pages or the public API); the
application is stored before anything else happens, and the applicant gets a
reference to check its status with. The exchange team (facilitators and
admins) reviews it: notes, questions to the applicant, a decision. Accepting
makes, in the same transaction, the supplier organisation, its first user and
a draft innovation from what the business sent. Every step is an event, seen
only by the team."""

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_
from sqlmodel import Session, col, delete, select

from app.auth import Principal
from app.config import Settings
from app.errors import Conflict, Forbidden, NotFound, TooManyRequests, ValidationFailed
from app.models.application import (
    Application,
    ApplicationCreate,
    ApplicationNote,
    ApplicationPublic,
    ApplicationStatus,
    ApplicationStatusPublic,
    Message,
    NoteKind,
    Receipt,
    Review,
)
from app.models.base import as_utc, utcnow
from app.models.innovation import Innovation, InnovationCreate
from app.models.organisation import Organisation, OrganisationCreate
from app.models.user import User, UserCreate
from app.models.vocabulary import InnovationStatus, Maturity, OrganisationKind, Region, Role
from app.services import areas, events, innovations, organisations, records, users
from app.services.pagination import Page, PageRequest, keyset

Status = ApplicationStatus
DECIDED = frozenset({Status.accepted, Status.declined})
# Where the team may take an application from each status. Asking again is a
# follow-up question; a decision is final.
NEXT: dict[Status, frozenset[Status]] = {
    Status.submitted: frozenset({Status.in_review, Status.more_information_needed, *DECIDED}),
    Status.in_review: frozenset({Status.more_information_needed, *DECIDED}),
    Status.more_information_needed: frozenset({Status.in_review, Status.more_information_needed, *DECIDED}),
    Status.accepted: frozenset(),
    Status.declined: frozenset(),
}
# Changes the applicant must be told the reason for.
NEEDS_MESSAGE = frozenset({Status.more_information_needed, Status.declined})
# What a message with each change is: to the applicant, or the team's own note.
NOTE_KINDS = {
    Status.more_information_needed: NoteKind.request,
    Status.declined: NoteKind.decision,
    Status.in_review: NoteKind.note,
}
APPLICANT = "the applicant"
# Crockford's base32: no I, L, O or U to misread when a reference is read out.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NEXT_STEPS = (
    "We will read your application and reply by email within 10 working days. "
    "You can check its status at any time with your reference and email address."
)


@dataclass(frozen=True)
class ApplicationFilters:
    status: str | None = None
    in_area: bool | None = None
    suspected_spam: bool | None = None
    q: str | None = None


@dataclass(frozen=True)
class AcceptedRecords:
    """What accepting made, and the token of the first user's one-time link."""

    application: Application
    organisation: Organisation
    user: User
    innovation: Innovation
    password_token: str
    password_expires_at: datetime


def to_public(application: Application) -> ApplicationPublic:
    return ApplicationPublic.model_validate(application, from_attributes=True)


def _require_team(principal: Principal) -> None:
    if not principal.is_exchange_staff:
        raise Forbidden("Only the exchange team (facilitators and admins) reviews applications.")


def _record(
    session: Session, actor: Principal | str, type: str, application: Application, **data: str
) -> None:
    # Staff-only (restricted, no organisation): an application is personal data
    # until it is accepted, so the event carries no contact details.
    events.record(
        session,
        actor,
        type,
        ("application", application.id),
        {
            "reference": application.reference,
            "status": application.status,
            "company_name": application.company_name,
            **data,
        },
        restricted=True,
    )


# --- applying -------------------------------------------------------------------


def client_hash(settings: Settings, address: str) -> str:
    """A keyed hash of the client's address: equal for equal addresses, and
    no use to anyone without the service's secret."""
    return hmac.new(settings.secret_key.encode(), address.encode(), hashlib.sha256).hexdigest()


def _check_rate(session: Session, settings: Settings, client: str, now: datetime) -> None:
    """At most `applications_per_address` from one address in the window; the
    count is of stored applications, so it holds across every worker process."""
    window = timedelta(minutes=settings.applications_window_minutes)
    recent = session.exec(
        select(Application.created_at)
        .where(Application.client_hash == client, col(Application.created_at) > now - window)
        .order_by(col(Application.created_at))
        .limit(settings.applications_per_address)
    ).all()
    if len(recent) >= settings.applications_per_address:
        seconds = int((as_utc(recent[0]) + window - now).total_seconds()) + 1
        raise TooManyRequests(
            f"Too many applications from your network. Try again in {_minutes(seconds)}.",
            retry_after=seconds,
        )


def _minutes(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def new_reference() -> str:
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"HIE-{code[:4]}-{code[4:]}"


def canonical_reference(text: str) -> str:
    """`hie 4k7q9mxz` or `HIE-4K7Q-9MXZ` as stored; O and I read as 0 and 1."""
    code = re.sub(r"[^A-Z0-9]", "", text.upper()).removeprefix("HIE")
    code = code.translate(str.maketrans("OIL", "011"))
    return f"HIE-{code[:4]}-{code[4:]}" if len(code) == 8 else text.strip().upper()


def next_steps(settings: Settings, in_area: bool) -> str:
    """What happens next, told to an applicant in the area or outside it."""
    return NEXT_STEPS if in_area else f"{areas.load(settings.programme_area).outside} {NEXT_STEPS}"


def receipt(settings: Settings, application: Application) -> Receipt:
    return Receipt(
        reference=application.reference,
        status=application.status,
        in_area=application.in_area,
        area_name=areas.load(settings.programme_area).name,
        next_steps=next_steps(settings, application.in_area),
    )


def submit(
    session: Session,
    settings: Settings,
    data: ApplicationCreate,
    client_address: str,
    *,
    suspected_spam: bool = False,
    now: datetime | None = None,
    reference: str | None = None,
) -> Application:
    """Store an application from anyone: rate-limited per client address,
    checked for the programme's area, never refused for being outside it.
    `reference` is for fixed demo data; everyone else gets a random one."""
    now = now or utcnow()
    client = client_hash(settings, client_address)
    _check_rate(session, settings, client, now)
    district = areas.load(settings.programme_area).local_authority_of(data.postcode)
    values = data.model_dump(exclude={"consent_to_contact", "consent_to_data"})
    values.update(data.model_dump(mode="json", include={"website"}))
    application = Application(
        **values,
        reference=canonical_reference(reference) if reference else new_reference(),
        in_area=district is not None,
        area_district=district,
        client_hash=client,
        suspected_spam=suspected_spam,
        consented_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(application)
    records.flush_unique(session, "An application with this reference")
    _record(session, APPLICANT, "application.submitted", application)
    # Each new application clears those past their time, so the privacy
    # notice's promise holds even where nobody schedules `hie applications purge`.
    purge(session, settings, now)
    return application


def purge(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Delete the applications decided more than `application_retention_days`
    ago, with their notes (the privacy notice's promise); the events keep only
    the reference, the status and the company's name. Returns how many."""
    cutoff = (now or utcnow()) - timedelta(days=settings.application_retention_days)
    expired = select(Application.id).where(col(Application.decided_at) < cutoff)
    session.exec(delete(ApplicationNote).where(col(ApplicationNote.application_id).in_(expired)))
    result = session.exec(delete(Application).where(col(Application.decided_at) < cutoff))
    return int(result.rowcount or 0)


def _by_reference(session: Session, reference: str, email: str, *, for_update: bool = False) -> Application:
    """The applicant's own application: both the reference and the email must match."""
    stmt = select(Application).where(Application.reference == canonical_reference(reference))
    application = session.exec(stmt.with_for_update() if for_update else stmt).first()
    if application is None or not hmac.compare_digest(
        application.contact_email.lower(), email.strip().lower()
    ):
        raise NotFound("application with that reference and email address")
    return application


def status_for_applicant(session: Session, reference: str, email: str) -> ApplicationStatusPublic:
    application = _by_reference(session, reference, email)
    told = session.exec(
        select(ApplicationNote)
        .where(
            ApplicationNote.application_id == application.id,
            col(ApplicationNote.kind).in_([NoteKind.request, NoteKind.reply, NoteKind.decision]),
        )
        .order_by(col(ApplicationNote.id))
    ).all()
    return ApplicationStatusPublic(
        reference=application.reference,
        status=application.status,
        submitted_at=application.created_at,
        updated_at=application.updated_at,
        messages=[
            Message(at=note.created_at, text=note.text, from_applicant=note.kind == NoteKind.reply)
            for note in told
        ],
    )


def reply(session: Session, reference: str, email: str, text: str) -> Application:
    """The applicant answers a request for more information; the review goes on."""
    application = _by_reference(session, reference, email, for_update=True)
    if application.status != Status.more_information_needed:
        raise Conflict("We have not asked you for more information. There is nothing to reply to.")
    _note(session, application, NoteKind.reply, APPLICANT, text)
    application.status = Status.in_review
    records.touch(application)
    session.flush()
    _record(session, APPLICANT, "application.replied", application)
    return application


# --- reviewing ------------------------------------------------------------------


def list_(
    session: Session, principal: Principal, filters: ApplicationFilters, page: PageRequest
) -> Page[ApplicationPublic]:
    """The queue, oldest first: what waits longest is seen first."""
    _require_team(principal)
    stmt = select(Application)
    if filters.status:
        stmt = stmt.where(Application.status == filters.status)
    if filters.in_area is not None:
        stmt = stmt.where(Application.in_area == filters.in_area)
    if filters.suspected_spam is not None:
        stmt = stmt.where(Application.suspected_spam == filters.suspected_spam)
    if filters.q:
        text = filters.q.lower()
        stmt = stmt.where(
            or_(
                func.lower(Application.company_name).contains(text, autoescape=True),
                func.lower(Application.product_name).contains(text, autoescape=True),
                func.lower(Application.reference).contains(text, autoescape=True),
            )
        )
    return keyset(session, stmt, col(Application.id), page, to_public)


def counts(session: Session, principal: Principal) -> dict[str, int]:
    """Applications per status (leaving out suspected robots), for the queue's tabs."""
    _require_team(principal)
    rows = session.exec(
        select(Application.status, func.count())
        .where(col(Application.suspected_spam).is_(False))
        .group_by(Application.status)
    ).all()
    found = {str(status): count for status, count in rows}
    return {status.value: found.get(status.value, 0) for status in Status}


def get(
    session: Session, principal: Principal, application_id: uuid.UUID, *, for_update: bool = False
) -> Application:
    _require_team(principal)
    application = session.get(Application, application_id, with_for_update=for_update)
    if application is None:
        raise NotFound("application")
    return application


def notes(session: Session, principal: Principal, application: Application) -> list[ApplicationNote]:
    """The whole trail, oldest first (a review has a handful, not thousands)."""
    _require_team(principal)
    return list(
        session.exec(
            select(ApplicationNote)
            .where(ApplicationNote.application_id == application.id)
            .order_by(col(ApplicationNote.id))
        ).all()
    )


def _note(
    session: Session, application: Application, kind: NoteKind, author: str, text: str
) -> ApplicationNote:
    note = ApplicationNote(application_id=application.id, kind=kind, author=author, text=text)
    session.add(note)
    return note


def add_note(session: Session, principal: Principal, application: Application, text: str) -> ApplicationNote:
    """A note for the team only; the applicant never sees it."""
    _require_team(principal)
    note = _note(session, application, NoteKind.note, principal.label, text)
    session.flush()
    _record(session, principal, "application.note_added", application)
    return note


def _check_move(application: Application, to: Status) -> None:
    now = Status(application.status)
    if to not in NEXT[now]:
        if now in DECIDED:
            raise Conflict(f"This application was {_words(now)} already; the decision stands.")
        raise Conflict(f"An application that is {_words(now)} cannot move to {_words(to)}.")


def _words(status: Status) -> str:
    return status.value.replace("_", " ")


def review(
    session: Session,
    principal: Principal,
    application: Application,
    data: Review,
    expected_version: int | None,
    now: datetime | None = None,
) -> Application:
    """Start the review, ask the applicant for more information, or decline.
    Accepting makes records, so it is `accept`."""
    _require_team(principal)
    if data.status == Status.accepted:
        raise ValidationFailed.field(
            "body.status", "Accept with POST /api/v1/applications/{id}/acceptance: it makes the records."
        )
    if data.status in NEEDS_MESSAGE and not data.message:
        raise ValidationFailed.field("body.message", "Write the message the applicant will read.")
    records.check_version(application, expected_version)
    _check_move(application, data.status)
    now = now or utcnow()
    application.status = data.status
    if data.status in DECIDED:
        application.decided_at = now
    if data.message:
        _note(session, application, NOTE_KINDS[data.status], principal.label, data.message)
    records.touch(application, now)
    session.flush()
    _record(session, principal, "application.status_changed", application)
    return application


def accept(
    session: Session,
    settings: Settings,
    principal: Principal,
    application: Application,
    message: str,
    expected_version: int | None,
    now: datetime | None = None,
) -> AcceptedRecords:
    """Accept, and make from the application, in this one transaction: the
    supplier organisation, its first user (an admin of that organisation, with
    no password until they use the one-time link) and a draft innovation. Any
    failure (the email already has an account) leaves none of them."""
    _require_team(principal)
    records.check_version(application, expected_version)
    _check_move(application, Status.accepted)
    now = now or utcnow()
    area = areas.load(settings.programme_area)
    organisation = organisations.add(
        session,
        principal,
        OrganisationCreate(
            name=application.company_name,
            kind=OrganisationKind.supplier,
            region=Region(area.region) if application.in_area else None,
        ),
    )
    user = users.add(
        session,
        principal,
        UserCreate(
            email=application.contact_email,
            name=application.contact_name,
            organisation_id=organisation.id,
            role=Role.admin,
        ),
        password=None,
    )
    innovation = innovations.create(session, principal, _draft_innovation(application, organisation))
    token, expires_at = users.issue_password_link(session, user, settings.password_link_days, now)

    application.status = Status.accepted
    application.decided_at = now
    application.organisation_id = organisation.id
    application.user_id = user.id
    application.innovation_id = innovation.id
    _note(
        session, application, NoteKind.decision, principal.label, message or "Your application is accepted."
    )
    records.touch(application, now)
    session.flush()
    _record(
        session,
        principal,
        "application.accepted",
        application,
        organisation_id=str(organisation.id),
        user_id=str(user.id),
        innovation_id=str(innovation.id),
    )
    return AcceptedRecords(application, organisation, user, innovation, token, expires_at)


def _draft_innovation(application: Application, organisation: Organisation) -> InnovationCreate:
    """The draft innovation, in the applicant's own words: nobody retypes them."""
    sections = [
        ("What it does today", application.product_description),
        ("Who uses it now", application.current_users),
        ("The problem it could solve in health or care", application.health_problem),
        ("Evidence and accreditations", application.evidence),
    ]
    return InnovationCreate(
        name=application.product_name,
        summary=application.product_description,
        description="\n\n".join(f"{title}: {text}" for title, text in sections if text),
        supplier_id=organisation.id,
        care_settings=application.care_settings,  # type: ignore[arg-type]
        maturity=Maturity.discovery,
        origin_sector=application.origin_sector,
        origin_use=f"{application.product_description}\n\nUsed by: {application.current_users}",
        website=application.website,  # type: ignore[arg-type]
        status=InnovationStatus.draft,
    )


def awaits_password(session: Session, principal: Principal, application: Application) -> bool:
    """Whether the accepted applicant's first user has yet to set a password
    (so a new one-time link would help)."""
    _require_team(principal)
    if application.user_id is None:
        return False
    waiting = select(User.id).where(User.id == application.user_id, col(User.password_hash).is_(None))
    return session.exec(waiting).first() is not None


def new_password_link(
    session: Session, settings: Settings, principal: Principal, application: Application
) -> tuple[str, datetime]:
    """A fresh one-time link for the first user, while they have set no password."""
    _require_team(principal)
    user = session.get(User, application.user_id) if application.user_id else None
    if user is None:
        raise Conflict("Only an accepted application has a user to make a link for.")
    if user.password_hash is not None:
        raise Conflict("They have set their password already; they sign in as usual.")
    token, expires_at = users.issue_password_link(session, user, settings.password_link_days)
    _record(session, principal, "application.password_link_issued", application)
    return token, expires_at
