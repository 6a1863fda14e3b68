"""Response pages: put an innovation forward for a challenge; shortlist,
select or decline it (the challenge's owner, facilitators, admins); withdraw
it (the supplier). The challenge and innovation pages list them through the
panels built here; every form posts and answers 303, so all of it works
with JavaScript off."""

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from app.api.deps import SessionDep
from app.auth import Principal
from app.errors import Conflict, Forbidden, PreconditionFailed, ValidationFailed
from app.models.challenge import Challenge
from app.models.innovation import Innovation
from app.models.organisation import Organisation
from app.models.response import ResponseCreate, ResponseUpdate
from app.models.vocabulary import ChallengeStatus, ResponseStatus
from app.services import challenges
from app.services import responses as service
from app.web.deps import WebPrincipalDep
from app.web.forms import FormDep, error_list, errors_from, opened_version, stripped, validate
from app.web.rendering import render

router = APIRouter()

FORM_FIELDS = ("innovation_id", "pitch")
LABELS = {"innovation_id": "the innovation", "pitch": "your pitch", "reason": "the reason"}
# What the challenge or innovation page says after a change, by `?response=`.
DONE = {
    "submitted": "Your innovation has been put forward for this challenge.",
    "shortlisted": "The response has been shortlisted.",
    "selected": "The response has been selected, and an adoption opened for it.",
    "linked": "The response has been selected and linked to the adoption your organisation already has.",
    "declined": "The response has been declined.",
    "withdrawn": "The response has been withdrawn.",
}
VERBS = {
    ResponseStatus.shortlisted: "shortlist",
    ResponseStatus.selected: "select",
    ResponseStatus.declined: "decline",
    ResponseStatus.withdrawn: "withdraw",
}


# --- the panels on the challenge and innovation pages ----------------------------


def _actions(principal: Principal, row: service.Row, *, may_select: bool, deciding: bool) -> list[str]:
    """The moves this person may make on a response now, in the order shown;
    the decisions only where `deciding` (the challenge page)."""
    status = row.response.status
    loaded = row.loaded
    actions = []
    if deciding and service.can_decide(principal, loaded):
        if status == ResponseStatus.submitted:
            actions.append("shortlist")
        if status == ResponseStatus.shortlisted and may_select:
            actions.append("select")
        if status in service.LIVE:
            actions.append("decline")
    if service.can_withdraw(principal, loaded) and status in service.LIVE:
        actions.append("withdraw")
    return actions


def _done(request: Request) -> str | None:
    return DONE.get(request.query_params.get("response") or "")


def challenge_panel(
    request: Request, session: Session, principal: Principal, challenge: Challenge
) -> dict[str, Any]:
    """The "Responses" section of a challenge page."""
    owner = session.get(Organisation, challenge.owner_id)
    may_select = service.can_select(principal, challenge.owner_id, owner.region if owner else None)
    rows = service.rows_for_challenge(session, principal, challenge.id)
    is_open = challenge.status == ChallengeStatus.open
    return {
        "rows": [
            {"row": row, "actions": _actions(principal, row, may_select=may_select, deciding=True)}
            for row in rows
        ],
        "sees_all": principal.is_exchange_staff or principal.organisation_id == challenge.owner_id,
        "choices": _choices(session, principal, challenge) if is_open else [],
        "is_open": is_open,
        "done": _done(request),
        "return_to": f"/challenges/{challenge.id}",
    }


def _choices(session: Session, principal: Principal, challenge: Challenge) -> list[dict[str, str]]:
    """The innovations the person may put forward, as the items of a select."""
    found = service.innovations_to_put_forward(session, principal, challenge)
    return [{"value": str(choice.id), "text": choice.name} for choice in found]


def innovation_panel(
    request: Request, session: Session, principal: Principal, innovation: Innovation
) -> dict[str, Any]:
    """The "Responses to challenges" section of an innovation page."""
    rows = service.rows_for_innovation(session, principal, innovation.id)
    return {
        "rows": [
            {"row": row, "actions": _actions(principal, row, may_select=False, deciding=False)}
            for row in rows
        ],
        "shown": bool(rows)
        or principal.is_exchange_staff
        or principal.organisation_id == innovation.supplier_id,
        "done": _done(request),
        "return_to": f"/innovations/{innovation.id}",
    }


# --- putting an innovation forward ----------------------------------------------


@router.get("/challenges/{challenge_id}/responses/new")
def new_response(
    request: Request, session: SessionDep, principal: WebPrincipalDep, challenge_id: uuid.UUID
) -> Response:
    challenge = challenges.get(session, principal, challenge_id)
    return _respond_page(request, session, principal, challenge, {"innovation_id": "", "pitch": ""}, {})


@router.post("/challenges/{challenge_id}/responses")
def create_response(
    request: Request, session: SessionDep, principal: WebPrincipalDep, challenge_id: uuid.UUID, form: FormDep
) -> Response:
    challenge = challenges.get(session, principal, challenge_id, for_update=True)
    values = {"innovation_id": stripped(form, "innovation_id"), "pitch": stripped(form, "pitch")}
    data, errors = validate(
        ResponseCreate, {**values, "innovation_id": values["innovation_id"] or None}, LABELS
    )
    if "innovation_id" in errors:
        errors["innovation_id"] = "Select the innovation to put forward"
    if data is not None:
        try:
            service.respond(session, principal, challenge, data)
        except ValidationFailed as exc:
            errors = errors_from(exc, LABELS)
        except Conflict as exc:
            errors = {"innovation_id": exc.detail}
        else:
            return RedirectResponse(
                f"/challenges/{challenge.id}?response=submitted#responses", status_code=303
            )
    return _respond_page(request, session, principal, challenge, values, errors, status_code=422)


def _respond_page(
    request: Request,
    session: Session,
    principal: Principal,
    challenge: Challenge,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    # Each message beside its field, in the form's order; any other beside the first.
    known: dict[str, str] = {}
    for field, message in errors.items():
        known.setdefault(field if field in FORM_FIELDS else FORM_FIELDS[0], message)
    ordered = {field: known[field] for field in FORM_FIELDS if field in known}
    context = {
        "challenge": challenge,
        "values": values,
        "errors": ordered,
        "error_list": error_list(ordered),
        "choices": _choices(session, principal, challenge),
    }
    return render(request, "responses/form.html", context, status_code=status_code)


# --- shortlisting, selecting, declining, withdrawing ----------------------------


@router.get("/responses/{response_id}/decline")
def decline_page(
    request: Request, session: SessionDep, principal: WebPrincipalDep, response_id: uuid.UUID
) -> Response:
    loaded = service.get(session, principal, response_id)
    if not service.can_decide(principal, loaded):  # the form would only be refused
        raise Forbidden("Only the challenge's owner, facilitators and admins decline a response.")
    return _decide_page(request, session, principal, loaded, ResponseStatus.declined)


@router.post("/responses/{response_id}/{verb}")
def move_response(
    request: Request,
    session: SessionDep,
    principal: WebPrincipalDep,
    response_id: uuid.UUID,
    verb: Literal["shortlist", "select", "decline", "withdraw"],
    form: FormDep,
) -> Response:
    to = next(status for status, name in VERBS.items() if name == verb)
    loaded = service.get(session, principal, response_id, for_update=True)
    reason = stripped(form, "reason")
    values = {"reason": reason}
    update, errors = validate(ResponseUpdate, {"status": to, "reason": reason or None}, LABELS)
    if update is not None:
        try:
            moved = service.move(session, principal, loaded, update, opened_version(form))
        except ValidationFailed as exc:
            errors = errors_from(exc, LABELS)
        except PreconditionFailed:
            return _decide_page(request, session, principal, loaded, to, values, stale=True, status_code=412)
        except Conflict as exc:
            return _decide_page(
                request, session, principal, loaded, to, values, refused=exc.detail, status_code=409
            )
        else:
            done = "linked" if moved.adoption_existed else str(to)
            return RedirectResponse(f"{_return_to(form, loaded)}?response={done}#responses", status_code=303)
    if "reason" in errors and not reason:
        errors["reason"] = "Enter the reason for declining it"
    return _decide_page(request, session, principal, loaded, to, values, errors, status_code=422)


def _return_to(form: Any, loaded: service.Loaded) -> str:
    """Back to the challenge page, or to the innovation page the form came from."""
    innovation_page = f"/innovations/{loaded.response.innovation_id}"
    if stripped(form, "return_to") == innovation_page:
        return innovation_page
    return f"/challenges/{loaded.response.challenge_id}"


def _decide_page(
    request: Request,
    session: Session,
    principal: Principal,
    loaded: service.Loaded,
    to: ResponseStatus,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    *,
    stale: bool = False,
    refused: str | None = None,
    status_code: int = 200,
) -> Response:
    """The page for one move of a response: the decline form with its reason,
    or why a move was not made (someone changed it first, or the workflow refuses)."""
    row = next(iter(service.rows_for_response(session, principal, loaded.response.id)))
    errors = errors or {}
    summary = error_list(errors)
    if stale:
        summary = [
            {"text": "Someone else changed this response since you opened the page", "href": "#response"}
        ]
    elif refused:
        summary = [{"text": refused, "href": "#response"}]
    context = {
        "row": row,
        "to": to,
        "verb": VERBS[to],
        "can_decide": service.can_decide(principal, loaded),
        "values": values or {"reason": ""},
        "errors": errors,
        "error_list": summary,
        "stale": stale,
        "refused": refused,
        "return_to": f"/challenges/{loaded.response.challenge_id}",
    }
    return render(request, "responses/decide.html", context, status_code=status_code)
