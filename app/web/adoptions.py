"""An adoption's page: its summary, its gate record as a form per stage
(generated from the stage's gate items, the definition the API validates
with), its lead, its history as a timeline, and the move form it shares
with the board (POST /adoptions/{id}/move answers either)."""

import re
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from app.api.deps import SessionDep
from app.auth import Principal
from app.errors import Forbidden, GateNotMet, NotFound, PreconditionFailed, ValidationFailed
from app.models.adoption import AdoptionUpdate, Lead
from app.models.base import as_utc
from app.models.challenge import Challenge
from app.models.transition import TransitionCreate
from app.models.vocabulary import NotProgressedReason
from app.services import adoptions, pipeline
from app.services.pagination import MAX_LIMIT, PageRequest
from app.web import board
from app.web.board import Problem
from app.web.deps import WebPrincipalDep, safe_next
from app.web.forms import FormDep, error_list, errors_from, fields, opened_version, validate
from app.web.rendering import is_htmx, render

router = APIRouter(prefix="/adoptions")

MOVE_LABELS = {"to_stage": "the stage to move it to", "reason": "a reason", "reason_code": "a reason code"}
LEAD_LABELS = {"name": "the lead's name", "email": "the lead's email address"}
# Gate items answered in a line; every other text item gets a text area.
SHORT_TEXT = frozenset({"champion", "funding_source", "procurement_route"})
UK = ZoneInfo("Europe/London")
CHANGED = "Someone else changed this adoption since you opened it"
SAVED = {"gate": "Gate record saved.", "lead": "Adoption lead saved.", "move": "Moved."}


# --- helpers ----------------------------------------------------------------


def _stage_words(stages: pipeline.Stages, text: str) -> str:
    """The pipeline's messages name stages as `key`: say their names."""

    def name(match: re.Match[str]) -> str:
        key = match.group(1)
        stage = stages.by_key.get(key)
        return stage.name if stage else key.replace("_", " ")

    return re.sub(r"`([a-z_]+)`", name, text).replace("with override", "by ticking override")


def missing_labels(stages: pipeline.Stages, keys: list[str]) -> list[str]:
    """Gate item keys as the labels a person reads."""
    labels = []
    for key in keys:
        item = stages.item_by_key.get(key)
        if item is not None:
            labels.append(item.label)
        elif key.endswith("_days_since_adopted"):
            labels.append(f"{key.split('_', 1)[0]} days since it was adopted")
        else:
            labels.append(key.replace("_", " ").capitalize())
    return labels


def _gate_problem(stages: pipeline.Stages, exc: GateNotMet, to_stage: str, values: dict[str, Any]) -> Problem:
    missing = list(exc.extra.get("missing") or [])
    target = stages.by_key.get(to_stage)
    if missing and target is not None:
        message = f"It cannot move to {target.name} until its gate record shows:"
    else:
        message = _stage_words(stages, exc.detail)
    return Problem("gate", message, missing=missing_labels(stages, missing), stage=to_stage, values=values)


def _stale_problem(stages: pipeline.Stages, loaded: adoptions.Loaded, values: dict[str, Any]) -> Problem:
    stage = stages.by_key[loaded.adoption.stage]
    return Problem(
        "stale",
        f"Someone else changed this adoption first: it is now at {stage.name}. Your move was not made.",
        values=values,
    )


def _field_errors(exc: ValidationFailed) -> dict[str, str]:
    """{field: message}, with a gate item's errors under the item's key."""
    errors: dict[str, str] = {}
    for error in exc.errors:
        path = error["field"].removeprefix("body.").split(".")
        key = path[1] if path[0] == "gate" and len(path) > 1 else path[0]
        errors.setdefault(key or "form", error["message"])
    return errors


def _require_editor(principal: Principal, loaded: adoptions.Loaded) -> None:
    """Refuse someone who may only look before reading what they sent."""
    if not pipeline.can_move(principal, loaded.adoption, loaded.adopter_region):
        raise Forbidden("Only the adopting organisation, its region's facilitators and admins change it.")


def _show(value: Any) -> str:
    if value is True:
        return "Yes"
    if value is None or value is False or value == "":
        return ""
    return str(value)


# --- the page -------------------------------------------------------------


def _when(moment: datetime) -> str:
    """1 December 2026 at 9:30am, in UK time."""
    local = as_utc(moment).astimezone(UK)
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def _history(session: Session, adoption_id: uuid.UUID) -> tuple[list[dict[str, Any]], bool]:
    """The adoption's moves, oldest first, as the timeline shows them."""
    page = pipeline.history(session, adoption_id, PageRequest(limit=MAX_LIMIT))
    entries = [
        {
            **moved.model_dump(),
            "when": _when(moved.created_at),
            "iso": as_utc(moved.created_at).isoformat(),
        }
        for moved in page.items
    ]
    return entries, page.next_cursor is not None


def page_context(
    session: Session,
    principal: Principal,
    loaded: adoptions.Loaded,
    **extra: Any,
) -> dict[str, Any]:
    adoption = loaded.adoption
    stages = pipeline.stages(session)
    card = adoptions.board_card(session, loaded)
    challenge = session.get(Challenge, adoption.challenge_id) if adoption.challenge_id else None
    status = pipeline.gate_status(stages, adoption)
    history, more_history = _history(session, adoption.id)
    gate_stages = [s for s in stages.active if stages.items.get(s.key)]
    index = stages.active_index(adoption.stage)
    next_stage = stages.active[index + 1] if index is not None and index + 1 < len(stages.active) else None
    context: dict[str, Any] = {
        "adoption": adoption,
        "card": card,
        "challenge": challenge,
        "stages": stages,
        "stage_names": {s.key: s.name for s in stages.ordered},
        "gate_stages": gate_stages,
        "wait_stages": [s for s in stages.active if s.wait_days],
        "gate_status": status,
        "missing": {key: missing_labels(stages, value["missing"]) for key, value in status.items()},
        "next_stage": next_stage,
        "gate_values": dict(adoption.gate or {}),
        "short_text": SHORT_TEXT,
        "lead_item": pipeline.LEAD_ITEM,
        "can_edit": pipeline.can_move(principal, adoption, loaded.adopter_region),
        "targets": adoptions.move_targets(session, principal, loaded),
        "history": history,
        "more_history": more_history,
        "lead_values": {"name": adoption.lead_name or "", "email": adoption.lead_email or ""},
        "return_to": f"/adoptions/{adoption.id}",
        "version_ids": ["move-version", "lead-version"] + [f"gate-{s.key}-version" for s in gate_stages],
        "reason_codes": list(NotProgressedReason),
        "oob": (),
        "gate_errors": {},
        "gate_form_stage": None,
        "gate_stage": None,
        "inline_saved": None,
        "lead_saved": None,
        "gate_conflict": None,
        "lead_errors": {},
        "lead_conflict": None,
        "move_issue": None,
        "saved": None,
        "announcement": None,
        "errors_summary": [],
    }
    context.update(extra)
    return context


@router.get("/{adoption_id}")
def adoption_page(
    request: Request,
    session: SessionDep,
    principal: WebPrincipalDep,
    adoption_id: uuid.UUID,
    saved: str | None = None,
) -> Response:
    loaded = adoptions.get(session, principal, adoption_id)
    context = page_context(session, principal, loaded, saved=SAVED.get(saved or ""))
    return render(request, "adoptions/show.html", context, fragment="adoption")


# --- the move -----------------------------------------------------------------


@router.post("/{adoption_id}/move")
def move(
    request: Request,
    session: SessionDep,
    principal: WebPrincipalDep,
    adoption_id: uuid.UUID,
    form: FormDep,
) -> Response:
    """Move the adoption from a card on the board or from its page: 303 back
    without JavaScript, the changed parts for htmx; 409 when the rules
    refuse it (with the gate items missing), 412 when someone moved it first,
    422 when the form lacks what the move asks (a reason, a reason code)."""
    loaded = adoptions.get(session, principal, adoption_id, for_update=True)
    _require_editor(principal, loaded)
    stages = pipeline.stages(session)
    data = fields(form, blank_is_none=("reason", "reason_code"))
    return_to = safe_next(data.get("return_to") or "/board")
    on_board = board.is_board(return_to)
    if not on_board:
        return_to = f"/adoptions/{adoption_id}"
    values = {
        "to_stage": data.get("to_stage") or "",
        "reason": data.get("reason"),
        "reason_code": data.get("reason_code"),
        "override": data.get("override") == "true",
    }
    body, errors = validate(TransitionCreate, values, MOVE_LABELS)
    problem: Problem | None = None
    status = 200
    from_stage = loaded.adoption.stage
    if body is None:
        problem, status = Problem("invalid", "Check the move", errors=errors, values=values), 422
    else:
        request_ = pipeline.MoveRequest(
            to_stage=body.to_stage, reason=body.reason, reason_code=body.reason_code, override=body.override
        )
        try:
            adoptions.move(session, principal, loaded, request_, opened_version(data))
        except GateNotMet as exc:
            problem, status = _gate_problem(stages, exc, body.to_stage, values), 409
        except PreconditionFailed:
            problem, status = _stale_problem(stages, loaded, values), 412
        except ValidationFailed as exc:
            problem = Problem(
                "invalid", "Check the move", errors=errors_from(exc, MOVE_LABELS), values=values
            )
            status = 422

    if problem is None and not is_htmx(request):
        target = return_to if on_board else f"/adoptions/{adoption_id}?saved=move"
        return RedirectResponse(target, status_code=303)
    card = adoptions.board_card(session, loaded)
    card_name = f"{card.innovation_name} at {card.organisation_name}"
    if problem is None:
        to_name = stages.by_key[loaded.adoption.stage].name
        announcement = f"Moved {card_name} from {stages.by_key[from_stage].name} to {to_name}."
        if on_board:
            return board.moved_answer(request, session, principal, card, return_to, announcement)
        context = page_context(
            session,
            principal,
            loaded,
            oob=("summary", "history", "versions"),
            announcement=announcement,
        )
        return render(
            request,
            "adoptions/show.html",
            context,
            fragment=["move", "summary", "history", "versions", "announce"],
        )

    announcement = f"Not moved: {card_name}. {problem.sentence}"
    if problem.errors:
        announcement = f"Not moved: {card_name}. " + " ".join(problem.errors.values())
    if on_board:
        if is_htmx(request):
            return board.card_answer(
                request, session, principal, card, return_to, problem, status, announcement
            )
        return board.page_with_problem(request, session, principal, return_to, adoption_id, problem, status)
    problem.fresh = not is_htmx(request)
    summary = [{"text": message, "href": f"#move-{_anchor(key)}"} for key, message in problem.errors.items()]
    if not problem.errors:
        summary = [{"text": problem.sentence, "href": "#adoption-move"}]
    context = page_context(
        session, principal, loaded, move_issue=problem, announcement=announcement, errors_summary=summary
    )
    return render(request, "adoptions/show.html", context, fragment=["move", "announce"], status_code=status)


def _anchor(field_name: str) -> str:
    return {"to_stage": "to", "reason": "reason", "reason_code": "reason-code"}.get(field_name, "to")


# --- the gate record ------------------------------------------------------------


def _gate_values(stages: pipeline.Stages, stage_key: str, data: dict[str, Any]) -> dict[str, Any]:
    """A stage's gate items from its form: an unticked box or a blank answer
    clears the item (None), as the API's PATCH with null does."""
    values: dict[str, Any] = {}
    for item in stages.items.get(stage_key, ()):
        raw = data.get(item.key)
        if item.kind == "bool":
            values[item.key] = True if raw == "true" else None
        else:
            values[item.key] = raw if isinstance(raw, str) and raw else None
    return values


@router.post("/{adoption_id}/gate")
def save_gate(
    request: Request,
    session: SessionDep,
    principal: WebPrincipalDep,
    adoption_id: uuid.UUID,
    form: FormDep,
) -> Response:
    """Save one stage's part of the gate record."""
    loaded = adoptions.get(session, principal, adoption_id, for_update=True)
    _require_editor(principal, loaded)
    stages = pipeline.stages(session)
    data = fields(form)
    stage_key = data.get("stage") or ""
    stage = stages.by_key.get(stage_key)
    if stage is None or not stages.items.get(stage_key):
        raise NotFound("stage with a gate record")
    values = _gate_values(stages, stage_key, data)
    labels = {item.key: item.label for item in stages.items[stage_key]}
    try:
        adoptions.update(session, principal, loaded, AdoptionUpdate(gate=values), opened_version(data))
    except ValidationFailed as exc:
        errors = _field_errors(exc)
        context = page_context(
            session,
            principal,
            loaded,
            gate_form_stage=stage,
            gate_stage=stage,
            gate_errors=errors,
            gate_values={**(loaded.adoption.gate or {}), **values},
            errors_summary=[{"text": m, "href": f"#gate-item-{k}"} for k, m in errors.items()],
            announcement="The gate record was not saved: " + " ".join(errors.values()),
        )
        return render(request, "adoptions/show.html", context, fragment=["gate", "announce"], status_code=422)
    except PreconditionFailed:
        current = loaded.adoption.gate or {}
        rows = [
            {"label": labels[key], "yours": _show(value), "saved": _show(current.get(key))}
            for key, value in values.items()
            if _show(value) != _show(current.get(key))
        ]
        context = page_context(
            session,
            principal,
            loaded,
            gate_form_stage=stage,
            gate_stage=stage,
            gate_conflict={"rows": rows, "stage": stages.by_key[loaded.adoption.stage].name},
            gate_values={**current, **values},
            errors_summary=[{"text": CHANGED, "href": f"#gate-{stage_key}"}],
            announcement=f"Not saved. {CHANGED}.",
        )
        return render(request, "adoptions/show.html", context, fragment=["gate", "announce"], status_code=412)
    if not is_htmx(request):
        return RedirectResponse(f"/adoptions/{adoption_id}?saved=gate#gate-{stage_key}", status_code=303)
    context = page_context(
        session,
        principal,
        loaded,
        gate_form_stage=stage,
        gate_stage=stage,
        inline_saved=f"{stage.name}: gate record saved.",
        oob=("summary", "versions"),
        announcement=f"{stage.name}: gate record saved.",
    )
    return render(
        request, "adoptions/show.html", context, fragment=["gate", "summary", "versions", "announce"]
    )


# --- the lead -------------------------------------------------------------------


@router.post("/{adoption_id}/lead")
def save_lead(
    request: Request,
    session: SessionDep,
    principal: WebPrincipalDep,
    adoption_id: uuid.UUID,
    form: FormDep,
) -> Response:
    """Name the adoption lead (the champion), or clear both fields to have none."""
    loaded = adoptions.get(session, principal, adoption_id, for_update=True)
    _require_editor(principal, loaded)
    data = fields(form)
    name, email = data.get("lead_name") or "", data.get("lead_email") or ""
    posted = {"name": name, "email": email}
    lead, errors = (None, {}) if not (name or email) else validate(Lead, posted, LEAD_LABELS)
    if email and "email" in errors:
        errors["email"] = "Enter the lead's email address in the correct format, like name@nhs.net"
    if not errors:
        try:
            adoptions.update(session, principal, loaded, AdoptionUpdate(lead=lead), opened_version(data))
        except ValidationFailed as exc:
            errors = errors_from(exc, LEAD_LABELS)
        except PreconditionFailed:
            adoption = loaded.adoption
            saved = {"name": adoption.lead_name or "", "email": adoption.lead_email or ""}
            rows = [
                {"label": label, "yours": posted[key], "saved": saved[key]}
                for key, label in (("name", "Name"), ("email", "Email address"))
                if posted[key] != saved[key]
            ]
            context = page_context(
                session,
                principal,
                loaded,
                lead_values=posted,
                lead_conflict={"rows": rows, "stage": pipeline.stages(session).by_key[adoption.stage].name},
                errors_summary=[{"text": CHANGED, "href": "#adoption-lead"}],
                announcement=f"Not saved. {CHANGED}.",
            )
            return render(
                request, "adoptions/show.html", context, fragment=["lead", "announce"], status_code=412
            )
    if errors:
        errors = {f"lead_{key}": message for key, message in errors.items()}
        context = page_context(
            session,
            principal,
            loaded,
            lead_values=posted,
            lead_errors=errors,
            errors_summary=error_list({key.replace("_", "-"): m for key, m in errors.items()}),
            announcement="The lead was not saved: " + " ".join(errors.values()),
        )
        return render(request, "adoptions/show.html", context, fragment=["lead", "announce"], status_code=422)
    if not is_htmx(request):
        return RedirectResponse(f"/adoptions/{adoption_id}?saved=lead", status_code=303)
    context = page_context(
        session,
        principal,
        loaded,
        lead_saved="Adoption lead saved.",
        oob=("summary", "versions"),
        announcement="Adoption lead saved.",
    )
    return render(
        request, "adoptions/show.html", context, fragment=["lead", "summary", "versions", "announce"]
    )
