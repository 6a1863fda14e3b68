"""Challenge pages: find challenges, read one with the innovations answering
it, post or change one, and close or withdraw it. The owner organisation,
facilitators and admins change a challenge (the services decide, as they do
for the API)."""

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from app.api.deps import SessionDep
from app.auth import Principal
from app.errors import Forbidden, PreconditionFailed, ValidationFailed
from app.models.challenge import Challenge, ChallengeCreate, ChallengeUpdate
from app.models.innovation import Innovation
from app.models.vocabulary import CareSetting, Category, ChallengeStatus
from app.services import adoptions, challenges, innovations, pipeline
from app.services.pagination import MAX_LIMIT, PageRequest
from app.web import listing
from app.web.deps import WebPrincipalDep
from app.web.forms import FormDep, error_list, errors_from, opened_version, stripped, validate
from app.web.matches import possible_innovations
from app.web.rendering import is_htmx, render
from app.web.responses import challenge_panel
from app.web.vocabulary import long_date, options, pounds, words, words_list

router = APIRouter(prefix="/challenges")

LABELS = {
    "title": "the title",
    "problem_statement": "the problem",
    "owner_id": "the organisation",
    "care_settings": "the care settings",
    "categories": "the categories",
    "desired_outcomes": "the outcomes you want",
    "success_measures": "how you will measure success",
    "budget_min": "the lowest budget",
    "budget_max": "the highest budget",
    "opens_on": "the opening date",
    "closes_on": "the closing date",
    "status": "the status",
}
COMPARED = {
    "title": "Title",
    "problem_statement": "Problem",
    "owner_id": "Organisation",
    "care_settings": "Care settings",
    "categories": "Categories",
    "desired_outcomes": "Outcomes wanted",
    "success_measures": "How success is measured",
    "budget_min": "Lowest budget",
    "budget_max": "Highest budget",
    "opens_on": "Opens",
    "closes_on": "Closes",
    "status": "Status",
}
TEXT_FIELDS = ("title", "problem_statement", "desired_outcomes", "success_measures")
DATE_FIELDS = {"opens_on": "Opening date", "closes_on": "Closing date"}
DATE_PARTS = ("day", "month", "year")
# Who may hold a challenge, when a facilitator or admin posts one for them.
NOT_OWNERS = challenges.NOT_OWNERS
MAX_ANSWERS = MAX_LIMIT


# --- finding ----------------------------------------------------------------


def read_filters(params: Mapping[str, str]) -> challenges.ChallengeFilters:
    """The list's filters from a query string (the list's and its CSV
    export's); a value a filter does not know is left out, as if not chosen."""
    return challenges.ChallengeFilters(
        q=listing.text(params.get("q")),
        status=listing.choice(params.get("status"), ChallengeStatus),
        care_setting=listing.choice(params.get("care_setting"), CareSetting),
        category=listing.choice(params.get("category"), Category),
    )


@router.get("")
def list_challenges(
    request: Request,
    session: SessionDep,
    principal: WebPrincipalDep,
    cursor: str | None = None,
) -> Response:
    filters = read_filters(request.query_params)
    page, cursor = listing.page_or_first(lambda p: challenges.list_(session, principal, filters, p), cursor)
    params = {
        "q": filters.q,
        "status": filters.status,
        "care_setting": filters.care_setting,
        "category": filters.category,
    }
    filtered = any(params.values())
    context = {
        "filters": params,
        "filtered": filtered,
        "page": page,
        "status_text": listing.status_text(
            len(page.items), "challenge", filtered=filtered, more=page.next_cursor is not None
        ),
        "owners": listing.organisation_names(session, (c.owner_id for c in page.items)),
        "next_url": listing.url("/challenges", {**params, "cursor": page.next_cursor})
        if page.next_cursor
        else None,
        "first_url": listing.url("/challenges", params) if cursor else None,
        "csv_url": listing.url("/exports/challenges.csv", params),
        "options": {
            "status": options(ChallengeStatus),
            "care_setting": options(CareSetting),
            "category": options(Category),
        },
        "can_create": _may_post(principal),
        "oob": is_htmx(request),
    }
    headers = None
    if is_htmx(request):
        headers = {"HX-Push-Url": listing.url("/challenges", {**params, "cursor": cursor})}
    return render(request, "challenges/list.html", context, fragment="results", headers=headers)


# --- posting ------------------------------------------------------------------


def _may_post(principal: Principal) -> bool:
    return principal.is_exchange_staff or principal.organisation_kind not in NOT_OWNERS


@router.get("/new")
def new_challenge(request: Request, session: SessionDep, principal: WebPrincipalDep) -> Response:
    if not _may_post(principal):  # the form would only be refused
        raise Forbidden("Challenges are posted by NHS and care organisations, facilitators and admins.")
    values = _blank_values()
    if not principal.is_exchange_staff:
        values["owner_id"] = str(principal.organisation_id)
    return _form_page(request, session, principal, values, {})


@router.post("/new")
def create_challenge(
    request: Request, session: SessionDep, principal: WebPrincipalDep, form: FormDep
) -> Response:
    values = _values_from_form(form)
    if not principal.is_exchange_staff:
        # An organisation posts challenges for itself.
        values["owner_id"] = str(principal.organisation_id)
    data, errors = _validated(ChallengeCreate, values, with_owner=True)
    if data is not None:
        try:
            challenge = challenges.create(session, principal, data)
        except ValidationFailed as exc:
            errors = _known(errors_from(exc, LABELS))
        else:
            return RedirectResponse(f"/challenges/{challenge.id}", status_code=303)
    return _form_page(request, session, principal, values, errors, status_code=422)


# --- reading ------------------------------------------------------------------


@router.get("/{challenge_id}")
def show_challenge(
    request: Request, session: SessionDep, principal: WebPrincipalDep, challenge_id: uuid.UUID
) -> Response:
    challenge = challenges.get(session, principal, challenge_id)
    return _detail(request, session, principal, challenge)


def _detail(
    request: Request,
    session: Session,
    principal: Principal,
    challenge: Challenge,
    *,
    stale: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "challenge": challenges.to_public(challenge),
        "owner_name": listing.organisation_names(session, [challenge.owner_id]).get(challenge.owner_id, ""),
        "answers": _answers(session, principal, challenge),
        "can_change": challenges.can_change(principal, challenge),
        "stale": stale,
        "responses_panel": challenge_panel(request, session, principal, challenge),
        "possible_innovations": possible_innovations(session, challenge),
    }
    return render(request, "challenges/show.html", context, fragment="answers", status_code=status_code)


def _answers(session: Session, principal: Principal, challenge: Challenge) -> dict[str, Any]:
    """The adoptions answering the challenge that this person may see, with
    the innovation (named only if they may see it) and the organisation."""
    page = adoptions.list_(
        session,
        principal,
        adoptions.AdoptionFilters(challenge_id=challenge.id),
        PageRequest(limit=MAX_ANSWERS),
    )
    innovation_ids = {a.innovation_id for a in page.items}
    found = (
        session.exec(select(Innovation).where(col(Innovation.id).in_(innovation_ids))).all()
        if innovation_ids
        else []
    )
    seen = {i.id: i.name for i in found if innovations.can_see(principal, i)}
    organisations = listing.organisation_names(session, (a.organisation_id for a in page.items))
    stage_names = {s.key: s.name for s in pipeline.stages(session).ordered}
    rows = [
        {
            "adoption_id": a.id,
            "innovation_id": a.innovation_id if a.innovation_id in seen else None,
            "innovation": seen.get(a.innovation_id),
            "organisation": organisations.get(a.organisation_id, ""),
            "stage": stage_names.get(a.stage, words(a.stage)),
        }
        for a in page.items
    ]
    return {"rows": rows, "more": page.next_cursor is not None}


# --- changing -------------------------------------------------------------------


@router.get("/{challenge_id}/edit")
def edit_challenge(
    request: Request, session: SessionDep, principal: WebPrincipalDep, challenge_id: uuid.UUID
) -> Response:
    challenge = _changeable(session, principal, challenge_id)
    return _form_page(request, session, principal, _values_from_record(challenge), {}, challenge=challenge)


@router.post("/{challenge_id}/edit")
def update_challenge(
    request: Request, session: SessionDep, principal: WebPrincipalDep, challenge_id: uuid.UUID, form: FormDep
) -> Response:
    challenge = _changeable(session, principal, challenge_id, for_update=True)
    values = _values_from_form(form)
    staff = principal.is_exchange_staff
    if not staff:
        values["owner_id"] = str(challenge.owner_id)
    data, errors = _validated(ChallengeUpdate, values, with_owner=staff)
    if data is not None:
        try:
            challenges.update(session, principal, challenge, data, opened_version(form))
        except PreconditionFailed:
            # Someone saved first: show theirs against this person's, never overwrite.
            conflict = _differences(session, values, _values_from_record(challenge), with_owner=staff)
            return _form_page(
                request,
                session,
                principal,
                values,
                {},
                challenge=challenge,
                conflict=conflict,
                status_code=412,
            )
        except ValidationFailed as exc:
            errors = _known(errors_from(exc, LABELS))
        else:
            return RedirectResponse(f"/challenges/{challenge.id}", status_code=303)
    return _form_page(request, session, principal, values, errors, challenge=challenge, status_code=422)


@router.post("/{challenge_id}/close")
def close_challenge(
    request: Request, session: SessionDep, principal: WebPrincipalDep, challenge_id: uuid.UUID, form: FormDep
) -> Response:
    challenge = challenges.get(session, principal, challenge_id, for_update=True)
    closed = ChallengeUpdate.model_validate({"status": ChallengeStatus.closed})
    try:
        challenges.update(session, principal, challenge, closed, opened_version(form))
    except PreconditionFailed:
        return _detail(request, session, principal, challenge, stale="close", status_code=412)
    return RedirectResponse(f"/challenges/{challenge.id}", status_code=303)


@router.post("/{challenge_id}/withdraw")
def withdraw_challenge(
    request: Request, session: SessionDep, principal: WebPrincipalDep, challenge_id: uuid.UUID, form: FormDep
) -> Response:
    challenge = challenges.get(session, principal, challenge_id, for_update=True)
    try:
        challenges.withdraw(session, principal, challenge, opened_version(form))
    except PreconditionFailed:
        return _detail(request, session, principal, challenge, stale="withdraw", status_code=412)
    return RedirectResponse(f"/challenges/{challenge.id}", status_code=303)


def _changeable(
    session: Session, principal: Principal, challenge_id: uuid.UUID, *, for_update: bool = False
) -> Challenge:
    challenge = challenges.get(session, principal, challenge_id, for_update=for_update)
    if not challenges.can_change(principal, challenge):
        raise Forbidden("Only the organisation that posted a challenge, facilitators and admins change it.")
    return challenge


# --- the form's values --------------------------------------------------------


def _blank_values() -> dict[str, Any]:
    return {
        **dict.fromkeys(TEXT_FIELDS, ""),
        "owner_id": "",
        "care_settings": [],
        "categories": [],
        "budget_min": "",
        "budget_max": "",
        **{field: dict.fromkeys(DATE_PARTS, "") for field in DATE_FIELDS},
        "status": ChallengeStatus.draft.value,
    }


def _date_parts(value: date | None) -> dict[str, str]:
    if value is None:
        return dict.fromkeys(DATE_PARTS, "")
    return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}


def _values_from_record(challenge: Challenge) -> dict[str, Any]:
    public = challenges.to_public(challenge)
    return {
        **{field: getattr(public, field) or "" for field in TEXT_FIELDS},
        "owner_id": str(public.owner_id),
        "care_settings": [c.value for c in public.care_settings],
        "categories": [c.value for c in public.categories],
        "budget_min": "" if public.budget_min is None else str(public.budget_min),
        "budget_max": "" if public.budget_max is None else str(public.budget_max),
        "opens_on": _date_parts(public.opens_on),
        "closes_on": _date_parts(public.closes_on),
        "status": public.status.value,
    }


def _values_from_form(form: FormData) -> dict[str, Any]:
    return {
        **{field: stripped(form, field) for field in TEXT_FIELDS},
        "owner_id": stripped(form, "owner_id"),
        "care_settings": [v for v in form.getlist("care_settings") if isinstance(v, str) and v],
        "categories": [v for v in form.getlist("categories") if isinstance(v, str) and v],
        "budget_min": stripped(form, "budget_min"),
        "budget_max": stripped(form, "budget_max"),
        **{field: {part: stripped(form, f"{field}-{part}") for part in DATE_PARTS} for field in DATE_FIELDS},
        "status": stripped(form, "status"),
    }


def _date(parts: dict[str, str], label: str) -> tuple[date | None, str | None]:
    """A date from the NHS date input's three boxes, or the message to show."""
    if not any(parts.values()):
        return None, None
    missing = [part for part in DATE_PARTS if not parts[part]]
    if missing:
        return None, f"{label} must include a {' and a '.join(missing)}"
    if not parts["year"].isdigit() or len(parts["year"]) != 4:
        return None, "Year must include 4 numbers"
    try:
        return date(int(parts["year"]), int(parts["month"]), int(parts["day"])), None
    except ValueError:
        return None, f"{label} must be a real date"


def _amount(text: str) -> str | None:
    """Pounds as typed ("£10,000") as the API takes them (10000)."""
    cleaned = text.replace("£", "").replace(",", "").replace(" ", "")
    return cleaned or None


def _validated(
    model: type[ChallengeCreate] | type[ChallengeUpdate], values: dict[str, Any], *, with_owner: bool
) -> tuple[Any, dict[str, str]]:
    """The API's schema applied to the form: the model, or the messages by field."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        **{field: values[field] for field in TEXT_FIELDS},
        "care_settings": values["care_settings"],
        "categories": values["categories"],
        "budget_min": _amount(values["budget_min"]),
        "budget_max": _amount(values["budget_max"]),
        "status": values["status"],
    }
    for field, label in DATE_FIELDS.items():
        data[field], message = _date(values[field], label)
        if message:
            errors[field] = message
    if with_owner:
        if not values["owner_id"]:
            errors["owner_id"] = "Select the organisation"
        data["owner_id"] = values["owner_id"] or None
    record, model_errors = validate(model, data, LABELS)
    for field, message in _known(model_errors).items():
        errors.setdefault(field, message)
    # The ranges, said beside the field that would fix them.
    low, high = _number(data["budget_min"]), _number(data["budget_max"])
    if low is not None and high is not None and low > high:
        errors.setdefault("budget_max", "The highest budget must be the same as or more than the lowest")
    if data["opens_on"] and data["closes_on"] and data["opens_on"] > data["closes_on"]:
        errors.setdefault("closes_on", "The closing date must be the same as or after the opening date")
    errors.pop("form", None)
    if errors:
        return None, {field: errors[field] for field in [*COMPARED, "form"] if field in errors}
    return record, {}


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _known(errors: dict[str, str]) -> dict[str, str]:
    """Messages keyed by the form's own field ids, so the summary links to them;
    one about the whole record (a range) is said by the range checks instead."""
    renamed: dict[str, str] = {}
    for field, message in errors.items():
        if field == "owner_id" and "uuid" in message.lower():
            message = "Select the organisation"
        elif field not in LABELS:
            field = "form"
        renamed.setdefault(field, message)
    return renamed


# --- conflicts ----------------------------------------------------------------


def _shown(session: Session, field: str, values: dict[str, Any]) -> str:
    """One field of the form's values in words, to compare two versions."""
    if field == "owner_id":
        try:
            owner = uuid.UUID(values["owner_id"])
        except ValueError:
            return ""
        return listing.organisation_names(session, [owner]).get(owner, "")
    if field in ("categories", "care_settings"):
        return words_list(sorted(values[field]))
    if field == "status":
        return words(values[field])
    if field in DATE_FIELDS:
        parsed, _ = _date(values[field], DATE_FIELDS[field])
        return long_date(parsed) if parsed else " ".join(v for v in values[field].values() if v)
    if field in ("budget_min", "budget_max"):
        amount = _amount(values[field])
        return pounds(int(amount)) if amount and amount.isdigit() else (amount or "")
    return str(values[field] or "")


def _differences(
    session: Session, theirs: dict[str, Any], current: dict[str, Any], *, with_owner: bool
) -> list[dict[str, str]]:
    rows = []
    for field, label in COMPARED.items():
        if field == "owner_id" and not with_owner:
            continue
        mine, saved = _shown(session, field, theirs), _shown(session, field, current)
        if mine != saved:
            rows.append({"label": label, "yours": mine, "saved": saved})
    return rows


# --- the form page --------------------------------------------------------------


def _form_page(
    request: Request,
    session: Session,
    principal: Principal,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    challenge: Challenge | None = None,
    conflict: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    staff = principal.is_exchange_staff
    owners = []
    if staff:
        owners = [
            {"value": str(org.id), "text": org.name}
            for org in listing.organisation_choices(session, exclude_kinds=NOT_OWNERS)
        ]
        if values["owner_id"] and values["owner_id"] not in {o["value"] for o in owners}:
            name = _shown(session, "owner_id", values)
            if name:
                owners.append({"value": values["owner_id"], "text": name})
    statuses = [ChallengeStatus.draft, ChallengeStatus.open]
    if challenge is not None:
        statuses = list(ChallengeStatus)
    own_name = listing.organisation_names(session, [principal.organisation_id]).get(
        principal.organisation_id, ""
    )
    context = {
        "challenge": challenge,
        "action": f"/challenges/{challenge.id}/edit" if challenge else "/challenges/new",
        "version": challenge.version if challenge else None,
        "values": values,
        "errors": errors,
        "error_list": _error_list(errors),
        "conflict": conflict,
        "staff": staff,
        "owners": owners,
        "owner_name": own_name if challenge is None else _shown(session, "owner_id", values),
        "options": {
            "categories": options(Category),
            "care_settings": options(CareSetting),
            "status": options(statuses),
        },
    }
    return render(request, "challenges/form.html", context, fragment="form", status_code=status_code)


def _error_list(errors: dict[str, str]) -> list[dict[str, str]]:
    """The summary's links; a message about the whole record goes to the first field."""
    listed = error_list(errors)
    for item in listed:
        if item["href"] == "#form":
            item["href"] = "#title"
    return listed
