"""Applications to join the exchange: public intake (a partner network can run
it from its own site), the applicant's status, and the team's review."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from app.api.deps import IfMatchDep, PageDep, PrincipalDep, SessionDep, SettingsDep
from app.api.headers import ETAG_HEADER, tag
from app.api.problems import responses
from app.models.application import (
    Acceptance,
    Accepted,
    ApplicantReply,
    Application,
    ApplicationCreate,
    ApplicationNote,
    ApplicationPublic,
    ApplicationStatus,
    ApplicationStatusPublic,
    NoteCreate,
    NotePublic,
    Receipt,
    Review,
    StatusLookup,
)
from app.models.base import Timestamp
from app.request_info import client_address
from app.services import applications
from app.services.pagination import Page

router = APIRouter(prefix="/applications", tags=["applications"])
# `:uuid` on the id, so that `/applications/status` and `/replies` are never taken for an id:
# a PATCH there is 405, not a 428 from the review route.


def load_application(
    request: Request, application_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Application:
    for_update = request.method not in ("GET", "HEAD")
    return applications.get(session, principal, application_id, for_update=for_update)


ApplicationDep = Annotated[Application, Depends(load_application)]


class PasswordLink(BaseModel):
    """A one-time link for the first user to set their password: pass it on."""

    set_password_url: str
    expires_at: Timestamp


def _link(request: Request, token: str) -> str:
    return str(request.url_for("set_password_page", token=token))


def _note(note: ApplicationNote) -> NotePublic:
    return NotePublic.model_validate(note, from_attributes=True)


# --- the applicant --------------------------------------------------------------


@router.post("", status_code=201, response_model=Receipt, responses=responses(413, 429, public=True))
def submit_application(
    request: Request, session: SessionDep, settings: SettingsDep, body: ApplicationCreate
) -> Receipt:
    """Apply to join: no key needed. Limited per client address (429 with
    `Retry-After`). A business outside the programme's area may apply too;
    the receipt says how it will be handled. Keep the `reference`: with the
    contact email it shows the application's status."""
    application = applications.submit(session, settings, body, client_address(request))
    return applications.receipt(settings, application)


@router.post("/status", response_model=ApplicationStatusPublic, responses=responses(404, public=True))
def application_status(session: SessionDep, body: StatusLookup) -> ApplicationStatusPublic:
    """The applicant's view: status and the team's messages. The reference
    and the contact email must both match (a POST, so the email stays out of
    URLs and logs)."""
    return applications.status_for_applicant(session, body.reference, body.email)


@router.post("/replies", response_model=ApplicationStatusPublic, responses=responses(404, 409, public=True))
def reply_to_application(session: SessionDep, body: ApplicantReply) -> ApplicationStatusPublic:
    """The applicant answers a request for more information; the review resumes."""
    applications.reply(session, body.reference, body.email, body.text)
    return applications.status_for_applicant(session, body.reference, body.email)


# --- the exchange team ------------------------------------------------------------


@router.get("", response_model=Page[ApplicationPublic], responses=responses(403))
def list_applications(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    status: ApplicationStatus | None = None,
    in_area: bool | None = None,
    suspected_spam: bool | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Company, product or reference.")] = None,
) -> Page[ApplicationPublic]:
    """The review queue, oldest first; facilitators and admins only."""
    filters = applications.ApplicationFilters(
        status=status, in_area=in_area, suspected_spam=suspected_spam, q=q
    )
    return applications.list_(session, principal, filters, page)


@router.get(
    "/{application_id:uuid}",
    response_model=ApplicationPublic,
    responses={**responses(403, 404), 200: {"headers": ETAG_HEADER}},
)
def get_application(response: Response, application: ApplicationDep) -> ApplicationPublic:
    tag(response, application)
    return applications.to_public(application)


@router.patch(
    "/{application_id:uuid}",
    response_model=ApplicationPublic,
    responses={**responses(403, 404, 409, 412, 428), 200: {"headers": ETAG_HEADER}},
)
def review_application(
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    application: ApplicationDep,
    version: IfMatchDep,
    body: Review,
) -> ApplicationPublic:
    """Start the review (`in_review`), ask the applicant for more information
    (`more_information_needed`, with the `message` they will read) or decline
    (`declined`, with the reason). Accept with `POST .../acceptance`."""
    applications.review(session, principal, application, body, version)
    tag(response, application)
    return applications.to_public(application)


@router.get("/{application_id:uuid}/notes", response_model=Page[NotePublic], responses=responses(403, 404))
def list_notes(session: SessionDep, principal: PrincipalDep, application: ApplicationDep) -> Page[NotePublic]:
    """The review's trail, oldest first: the team's notes, the requests to the
    applicant and their replies, the decision. A handful per application, so
    all on one page (`next_cursor` always null)."""
    found = applications.notes(session, principal, application)
    return Page[NotePublic](items=[_note(n) for n in found], next_cursor=None)


@router.post(
    "/{application_id:uuid}/notes",
    status_code=201,
    response_model=NotePublic,
    responses=responses(403, 404),
)
def add_note(
    session: SessionDep, principal: PrincipalDep, application: ApplicationDep, body: NoteCreate
) -> NotePublic:
    """A note for the team; the applicant never sees it."""
    return _note(applications.add_note(session, principal, application, body.text))


@router.post(
    "/{application_id:uuid}/acceptance",
    status_code=201,
    response_model=Accepted,
    responses=responses(403, 404, 409, 412, 428),
)
def accept_application(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    application: ApplicationDep,
    version: IfMatchDep,
    body: Acceptance,
) -> Accepted:
    """Accept, making in one transaction the supplier organisation, its first
    user and a draft innovation from the application. The answer carries the
    one-time link for that user to set a password; it is not shown again
    (make a new one with `POST .../password-link`)."""
    made = applications.accept(session, settings, principal, application, body.message, version)
    return Accepted(
        application=applications.to_public(made.application),
        organisation_id=made.organisation.id,
        user_id=made.user.id,
        innovation_id=made.innovation.id,
        set_password_url=_link(request, made.password_token),
        set_password_expires_at=made.password_expires_at,
    )


@router.post(
    "/{application_id:uuid}/password-link",
    status_code=201,
    response_model=PasswordLink,
    responses=responses(403, 404, 409),
)
def new_password_link(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    application: ApplicationDep,
) -> PasswordLink:
    """A new one-time link for the accepted applicant's first user, while
    they have not set a password; the earlier link stops working."""
    token, expires_at = applications.new_password_link(session, settings, principal, application)
    return PasswordLink(set_password_url=_link(request, token), expires_at=expires_at)
