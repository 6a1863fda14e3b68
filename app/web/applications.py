"""The exchange team's review of applications to join: the queue by status,
one application with its trail of notes, and the review's steps (a note,
start the review, ask for more information, decline, accept). Facilitators
and admins only: the service refuses anyone else, as it does for the API.

Accepting shows, once, the one-time link the new supplier's first user sets a
password with: the service sends no email yet, so the reviewer passes it on."""

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session
from starlette.datastructures import FormData

from app.api.deps import SessionDep
from app.auth import Principal
from app.errors import Conflict, PreconditionFailed, ValidationFailed
from app.models.application import (
    Acceptance,
    Application,
    ApplicationStatus,
    NoteCreate,
    NoteKind,
    Review,
)
from app.models.base import as_utc
from app.request_info import settings_of
from app.services import applications
from app.services.applications import AcceptedRecords
from app.web import listing
from app.web.deps import WebPrincipalDep
from app.web.forms import FormDep, error_list, errors_from, opened_version, stripped, validate
from app.web.rendering import NO_STORE, render

router = APIRouter(prefix="/applications")

UK = ZoneInfo("Europe/London")
Status = ApplicationStatus
NOTE_TITLES = {
    NoteKind.note: "Note for the team",
    NoteKind.request: "Asked the applicant for more information",
    NoteKind.reply: "The applicant replied",
    NoteKind.decision: "Decision, told to the applicant",
}
# The review's forms: the status each asks for, its message field's id, and
# the message when it is left blank (None: the message is optional).
STEPS: dict[str, tuple[Status, str, str | None]] = {
    "start-review": (Status.in_review, "review_message", None),
    "request-information": (
        Status.more_information_needed,
        "request_message",
        "Enter the question the applicant will read",
    ),
    "decline": (Status.declined, "decline_message", "Enter the reason the applicant will read"),
}
MESSAGE_LABELS = {"message": "the message", "text": "the note"}


def _when(moment: datetime) -> str:
    """1 December 2026 at 9:30am, in UK time."""
    local = as_utc(moment).astimezone(UK)
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


# --- the queue ----------------------------------------------------------------------


@router.get("")
def queue(
    request: Request,
    session: SessionDep,
    principal: WebPrincipalDep,
    status: str | None = None,
    area: str | None = None,
    spam: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
) -> Response:
    """Oldest first, so what has waited longest is seen first. Suspected spam
    is left out unless asked for, and then shown alone."""
    params = {
        "status": listing.choice(status, Status),
        "area": "outside" if area == "outside" else None,
        "spam": "1" if spam == "1" else None,
        "q": listing.text(q),
    }
    filters = applications.ApplicationFilters(
        status=params["status"],
        in_area=False if params["area"] else None,
        suspected_spam=bool(params["spam"]),
        q=params["q"],
    )
    counts = applications.counts(session, principal)
    page, cursor = listing.page_or_first(lambda p: applications.list_(session, principal, filters, p), cursor)
    others = {k: v for k, v in params.items() if k != "status"}
    context = {
        "params": params,
        "page": page,
        "tabs": [
            {
                "text": "All",
                "count": sum(counts.values()),
                "href": listing.url("/applications", others),
                "current": params["status"] is None,
            },
            *(
                {
                    "text": s.value,
                    "count": counts[s.value],
                    "href": listing.url("/applications", {**others, "status": s.value}),
                    "current": params["status"] == s.value,
                }
                for s in Status
            ),
        ],
        "status_text": listing.status_text(
            len(page.items),
            "application",
            filtered=any(params.values()),
            more=page.next_cursor is not None,
        ),
        "next_url": listing.url("/applications", {**params, "cursor": page.next_cursor})
        if page.next_cursor
        else None,
        "first_url": listing.url("/applications", params) if cursor else None,
        "received": {a.id: _when(a.created_at) for a in page.items},
    }
    return render(request, "applications/list.html", context)


# --- one application --------------------------------------------------------------


@router.get("/{application_id}")
def show(
    request: Request, session: SessionDep, principal: WebPrincipalDep, application_id: uuid.UUID
) -> Response:
    application = applications.get(session, principal, application_id)
    return _detail(request, session, principal, application)


@router.post("/{application_id}/notes")
def add_note(
    request: Request,
    session: SessionDep,
    principal: WebPrincipalDep,
    application_id: uuid.UUID,
    form: FormDep,
) -> Response:
    application = applications.get(session, principal, application_id, for_update=True)
    text = stripped(form, "text")
    note, errors = validate(NoteCreate, {"text": text}, MESSAGE_LABELS)
    if note is None:
        message = "Enter the note" if not text else errors["text"]
        return _detail(
            request,
            session,
            principal,
            application,
            errors={"note_text": message},
            values={"note_text": text},
            status_code=422,
        )
    applications.add_note(session, principal, application, note.text)
    return RedirectResponse(f"/applications/{application.id}#trail", status_code=303)


@router.post("/{application_id}/start-review")
def start_review(
    request: Request,
    session: SessionDep,
    principal: WebPrincipalDep,
    application_id: uuid.UUID,
    form: FormDep,
) -> Response:
    return _review(request, session, principal, application_id, form, "start-review")


@router.post("/{application_id}/request-information")
def request_information(
    request: Request,
    session: SessionDep,
    principal: WebPrincipalDep,
    application_id: uuid.UUID,
    form: FormDep,
) -> Response:
    return _review(request, session, principal, application_id, form, "request-information")


@router.post("/{application_id}/decline")
def decline(
    request: Request,
    session: SessionDep,
    principal: WebPrincipalDep,
    application_id: uuid.UUID,
    form: FormDep,
) -> Response:
    return _review(request, session, principal, application_id, form, "decline")


def _review(
    request: Request,
    session: Session,
    principal: Principal,
    application_id: uuid.UUID,
    form: FormData,
    step: str,
) -> Response:
    """One change of status, against the version the page was opened at."""
    application = applications.get(session, principal, application_id, for_update=True)
    to, field, blank = STEPS[step]
    message = stripped(form, "message")
    values = {field: message}
    data, errors = validate(Review, {"status": to.value, "message": message}, MESSAGE_LABELS)
    if blank and not message:
        errors = {"message": blank}
    if data is None or errors:
        errors = {field: errors.get("message", "Check the message")}
        return _detail(
            request, session, principal, application, errors=errors, values=values, status_code=422
        )
    try:
        applications.review(session, principal, application, data, opened_version(form))
    except PreconditionFailed:
        return _detail(request, session, principal, application, values=values, stale=True, status_code=412)
    except Conflict as exc:
        return _detail(request, session, principal, application, problem=exc.detail, status_code=409)
    except ValidationFailed as exc:
        errors = {field: errors_from(exc, MESSAGE_LABELS).get("message", exc.detail)}
        return _detail(
            request, session, principal, application, errors=errors, values=values, status_code=422
        )
    return RedirectResponse(f"/applications/{application.id}", status_code=303)


@router.post("/{application_id}/accept")
def accept(
    request: Request,
    session: SessionDep,
    principal: WebPrincipalDep,
    application_id: uuid.UUID,
    form: FormDep,
) -> Response:
    """Make the organisation, its first user and the draft innovation, and
    show the link to pass on. In a savepoint: a refusal midway (the email has
    an account already) leaves nothing made, and the page says why."""
    application = applications.get(session, principal, application_id, for_update=True)
    message = stripped(form, "message")
    values = {"accept_message": message}
    data, errors = validate(Acceptance, {"message": message}, MESSAGE_LABELS)
    if data is None:
        errors = {"accept_message": errors.get("message", "Check the message")}
        return _detail(
            request, session, principal, application, errors=errors, values=values, status_code=422
        )
    try:
        with session.begin_nested():
            made = applications.accept(
                session, settings_of(request), principal, application, data.message, opened_version(form)
            )
    except PreconditionFailed:
        return _detail(request, session, principal, application, values=values, stale=True, status_code=412)
    except Conflict as exc:
        return _detail(request, session, principal, application, problem=exc.detail, status_code=409)
    return _link_page(request, principal, application, made.password_token, made.password_expires_at, made)


@router.post("/{application_id}/password-link")
def new_password_link(
    request: Request, session: SessionDep, principal: WebPrincipalDep, application_id: uuid.UUID
) -> Response:
    """A new one-time link while the first user has set no password; the
    earlier link stops working."""
    application = applications.get(session, principal, application_id, for_update=True)
    try:
        settings = settings_of(request)
        token, expires_at = applications.new_password_link(session, settings, principal, application)
    except Conflict as exc:
        return _detail(request, session, principal, application, problem=exc.detail, status_code=409)
    return _link_page(request, principal, application, token, expires_at)


def _link_page(
    request: Request,
    principal: Principal,
    application: Application,
    token: str,
    expires_at: datetime,
    made: AcceptedRecords | None = None,
) -> Response:
    """The one-time link, shown now and never again: the answer is not kept
    by any cache, and it is a page, not a redirect, so the link is in no URL."""
    context = {
        "application": applications.to_public(application),
        "made": made,
        "link": str(request.url_for("set_password_page", token=token)),
        "expires": _when(expires_at),
        "is_admin": principal.is_admin,
    }
    return render(request, "applications/link.html", context, headers=NO_STORE)


def _detail(
    request: Request,
    session: Session,
    principal: Principal,
    application: Application,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    stale: bool = False,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    errors = errors or {}
    allowed = applications.NEXT[application.status]
    trail = [
        {
            "title": NOTE_TITLES[note.kind],
            "kind": note.kind,
            "author": note.author,
            "when": _when(note.created_at),
            "iso": as_utc(note.created_at).isoformat(),
            "text": note.text,
        }
        for note in applications.notes(session, principal, application)
    ]
    context = {
        "application": applications.to_public(application),
        "received": _when(application.created_at),
        "decided": _when(application.decided_at) if application.decided_at else None,
        "trail": trail,
        "can": {
            "start_review": Status.in_review in allowed,
            "request_information": Status.more_information_needed in allowed,
            "decline": Status.declined in allowed,
            "accept": Status.accepted in allowed,
            "new_link": applications.awaits_password(session, principal, application),
        },
        "is_admin": principal.is_admin,
        "errors": errors,
        "error_list": error_list(errors),
        "values": values or {},
        "stale": stale,
        "problem": problem,
    }
    return render(request, "applications/show.html", context, status_code=status_code)
