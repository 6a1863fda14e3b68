"""Join the exchange: the public pages where a business applies (no sign-in),
and where it checks its application's status and answers the team's questions.

The form is validated by the API's own schema (`ApplicationCreate`) and stored
through the same service as `POST /api/v1/applications`, so the two intakes
hold the same rules: the area, the rate limit and the honeypot."""

import hashlib
import hmac
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session
from starlette.datastructures import FormData

from app.api.deps import SessionDep
from app.config import Settings
from app.errors import Conflict, NotFound, TooManyRequests
from app.models.application import (
    POSTCODE,
    ApplicantReply,
    ApplicationCreate,
    ApplicationStatus,
    CompanySize,
    StatusLookup,
    SupportWanted,
    normalise_postcode,
)
from app.models.vocabulary import CareSetting
from app.request_info import client_address, settings_of
from app.services import applications, areas
from app.web.deps import MaybeUserDep
from app.web.errors import error_page
from app.web.forms import FormDep, error_list, stripped, validate
from app.web.rendering import NO_STORE, render
from app.web.vocabulary import options

router = APIRouter(prefix="/join")

# The form's fields in the order it asks them: the error summary follows it.
TEXT_FIELDS = (
    "company_name",
    "companies_house_number",
    "address",
    "postcode",
    "website",
    "contact_name",
    "contact_email",
    "contact_role",
    "product_name",
    "product_description",
    "origin_sector",
    "current_users",
    "health_problem",
    "evidence",
)
LIST_FIELDS = ("care_settings", "support_wanted")
CONSENTS = ("consent_to_contact", "consent_to_data")
ORDER = (
    *TEXT_FIELDS[:5],
    "company_size",
    *TEXT_FIELDS[5:13],
    "care_settings",
    "evidence",
    "support_wanted",
    *CONSENTS,
)
LABELS = {
    "company_name": "the company name",
    "companies_house_number": "the Companies House number",
    "address": "the company address",
    "postcode": "the postcode",
    "website": "the website",
    "company_size": "the size of the company",
    "contact_name": "your full name",
    "contact_email": "your email address",
    "contact_role": "your role in the company",
    "product_name": "the name of the product or service",
    "product_description": "what it does today",
    "origin_sector": "the sector it comes from",
    "current_users": "who uses it now",
    "health_problem": "the problem it could solve in health or care",
    "care_settings": "the care settings",
    "evidence": "the evidence or accreditations",
    "support_wanted": "the support you want",
}
# Said beside a checkbox left unticked (the model's own message is the same for both).
CONSENT_MESSAGES = {
    "consent_to_contact": "Select that you agree to us contacting you about your application",
    "consent_to_data": "Select that you agree to us holding the information you give",
}
EMAIL_FORMAT = "Enter an email address in the correct format, like name@example.com"
SIZE_OPTIONS = [
    {"value": CompanySize.micro.value, "text": "Micro: fewer than 10 employees"},
    {"value": CompanySize.small.value, "text": "Small: 10 to 49 employees"},
    {"value": CompanySize.medium.value, "text": "Medium: 50 to 249 employees"},
    {"value": CompanySize.large.value, "text": "Large: 250 or more employees"},
]
# The field only robots fill in: off screen, hidden from screen readers, out of
# the tab order and with autocomplete off, so a person never meets it.
HONEYPOT = "fax_number"
STATUS_WORDS = {
    ApplicationStatus.submitted: "Received: we have not started reading it yet.",
    ApplicationStatus.in_review: "In review: the exchange team is reading it.",
    ApplicationStatus.more_information_needed: "We need more information from you: see our message below.",
    ApplicationStatus.accepted: "Accepted: welcome to the exchange.",
    ApplicationStatus.declined: "Declined: see our message below.",
}
LOOKUP_LABELS = {"reference": "your reference", "email": "your email address", "text": "your reply"}
NO_MATCH = "No application matches that reference and email address"


# --- who it is for, and the area ---------------------------------------------------


@router.get("")
def start(request: Request, _: MaybeUserDep, postcode: str | None = None) -> Response:
    """The start page: who the exchange is for, the area it serves, and an
    optional check of a postcode (a GET form, so it works without JavaScript)."""
    area = areas.load(settings_of(request).programme_area)
    checked, error = _check_postcode(area, postcode)
    context = {
        "area": area,
        "postcode": (postcode or "").strip()[:20],
        "checked": checked,
        "errors": {"postcode": error} if error else {},
        "error_list": error_list({"postcode": error}) if error else [],
    }
    return render(request, "join/start.html", context, status_code=422 if error else 200)


def _check_postcode(area: areas.Area, postcode: str | None) -> tuple[dict[str, Any] | None, str | None]:
    if postcode is None:
        return None, None
    text = normalise_postcode(postcode[:20])
    if not text:
        return None, "Enter a postcode"
    if not POSTCODE.match(text):
        return None, "Enter a real postcode, like L3 4BJ"
    return {"postcode": text, "authority": area.local_authority_of(text)}, None


# --- applying ----------------------------------------------------------------------


@router.get("/apply")
def apply_form(request: Request, _: MaybeUserDep) -> Response:
    return _form_page(request, _blank(), {})


@router.post("/apply")
def apply(request: Request, session: SessionDep, _: MaybeUserDep, form: FormDep) -> Response:
    """Validate, store, and send the applicant to their confirmation. A form
    whose hidden honeypot is filled in is stored all the same, marked as
    suspected spam, and confirmed like any other: a robot learns nothing."""
    values = _values(form)
    data, errors = _validated(values)
    if data is None:
        return _form_page(request, values, errors, status_code=422)
    settings = settings_of(request)
    try:
        application = applications.submit(
            session,
            settings,
            data,
            client_address(request),
            suspected_spam=bool(stripped(form, HONEYPOT)),
        )
    except TooManyRequests as exc:
        # The form again, with what they typed: nothing is lost while they wait.
        return _form_page(
            request,
            values,
            {"form": exc.detail},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    check = confirmation_check(settings, application.reference, application.in_area)
    area = "in" if application.in_area else "out"
    return RedirectResponse(
        f"/join/applied/{application.reference}?area={area}&check={check}", status_code=303
    )


def confirmation_check(settings: Settings, reference: str, in_area: bool) -> str:
    """What proves the confirmation's address came from this service's
    redirect: without it the page is not found, so guessing references there
    tells nothing (it never reads the database)."""
    message = f"applied:{reference}:{'in' if in_area else 'out'}"
    return hmac.new(settings.secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()[:32]


@router.get("/applied/{reference}")
def applied(request: Request, _: MaybeUserDep, reference: str, area: str = "", check: str = "") -> Response:
    settings = settings_of(request)
    in_area = area == "in"
    expected = confirmation_check(settings, reference, in_area)
    if area not in ("in", "out") or not hmac.compare_digest(check.encode(), expected.encode()):
        return error_page(request, 404)
    context = {
        "reference": reference,
        "in_area": in_area,
        "area_name": areas.load(settings.programme_area).name,
        "next_steps": applications.next_steps(settings, in_area),
    }
    return render(request, "join/applied.html", context, headers={"Referrer-Policy": "no-referrer"})


def _blank() -> dict[str, Any]:
    return {
        **dict.fromkeys(TEXT_FIELDS, ""),
        "company_size": "",
        **{field: [] for field in LIST_FIELDS},
        **dict.fromkeys(CONSENTS, False),
    }


def _values(form: FormData) -> dict[str, Any]:
    return {
        **{field: stripped(form, field) for field in TEXT_FIELDS},
        "company_size": stripped(form, "company_size"),
        **{field: [v for v in form.getlist(field) if isinstance(v, str) and v] for field in LIST_FIELDS},
        **{field: form.get(field) == "yes" for field in CONSENTS},
    }


def _validated(values: dict[str, Any]) -> tuple[ApplicationCreate | None, dict[str, str]]:
    data = {
        **values,
        "companies_house_number": values["companies_house_number"] or None,
        "website": values["website"] or None,
    }
    model, errors = validate(ApplicationCreate, data, LABELS)
    if model is not None:
        return model, {}
    if "contact_email" in errors and len(values["contact_email"]) <= 254:
        errors["contact_email"] = EMAIL_FORMAT if values["contact_email"] else "Enter your email address"
    if "support_wanted" in errors and not values["support_wanted"]:
        errors["support_wanted"] = "Select the support you want"
    for field, message in CONSENT_MESSAGES.items():
        if field in errors:
            errors[field] = message
    return None, {field: errors[field] for field in ORDER if field in errors}


def _form_page(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    listed = error_list({f: m for f, m in errors.items() if f != "form"})
    if "form" in errors:
        listed.insert(0, {"text": errors["form"]})  # about the whole form, so no field to link to
    context = {
        "values": values,
        "errors": errors,
        "error_list": listed,
        "area": areas.load(settings_of(request).programme_area),
        "honeypot": HONEYPOT,
        "options": {
            "company_size": SIZE_OPTIONS,
            "care_settings": options(CareSetting),
            "support_wanted": options(SupportWanted),
        },
    }
    return render(request, "join/form.html", context, status_code=status_code, headers=headers)


# --- the applicant's status --------------------------------------------------------


@router.get("/status")
def status_form(request: Request, _: MaybeUserDep) -> Response:
    return _lookup_page(request, {"reference": "", "email": ""}, {})


@router.post("/status")
def status(request: Request, session: SessionDep, _: MaybeUserDep, form: FormDep) -> Response:
    """The status for a reference and email (a POST: the email stays out of
    addresses and logs)."""
    values = {"reference": stripped(form, "reference"), "email": stripped(form, "email")}
    lookup, errors = validate(StatusLookup, values, LOOKUP_LABELS)
    if lookup is None:
        return _lookup_page(request, values, _lookup_errors(values, errors), status_code=422)
    return _status_or_lookup(request, session, lookup.reference, str(lookup.email))


@router.post("/status/reply")
def reply(request: Request, session: SessionDep, _: MaybeUserDep, form: FormDep) -> Response:
    """The applicant's answer to a request for more information; the page
    shows the status again, with the reply among the messages."""
    values = {key: stripped(form, key) for key in ("reference", "email", "text")}
    answer, errors = validate(ApplicantReply, values, LOOKUP_LABELS)
    if answer is None:
        if "reference" in errors or "email" in errors:
            return _lookup_page(request, values, {"reference": NO_MATCH}, status_code=422)
        errors = {"text": "Enter your reply" if not values["text"] else errors["text"]}
        return _status_or_lookup(
            request, session, values["reference"], values["email"], reply=values, errors=errors
        )
    try:
        applications.reply(session, answer.reference, str(answer.email), answer.text)
    except NotFound:
        return _lookup_page(request, values, {"reference": NO_MATCH}, status_code=422)
    except Conflict as exc:
        return _status_or_lookup(
            request, session, answer.reference, str(answer.email), notice=exc.detail, status_code=409
        )
    return _status_or_lookup(request, session, answer.reference, str(answer.email), sent=True)


def _lookup_errors(values: dict[str, str], errors: dict[str, str]) -> dict[str, str]:
    if "email" in errors:
        errors["email"] = EMAIL_FORMAT if values["email"] else "Enter your email address"
    return {field: errors[field] for field in ("reference", "email") if field in errors}


def _status_or_lookup(
    request: Request,
    session: Session,
    reference: str,
    email: str,
    *,
    reply: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    sent: bool = False,
    status_code: int | None = None,
) -> Response:
    try:
        found = applications.status_for_applicant(session, reference, email)
    except NotFound:
        values = {"reference": reference, "email": email}
        return _lookup_page(request, values, {"reference": NO_MATCH}, status_code=422)
    errors = errors or {}
    context = {
        "found": found,
        "status_words": STATUS_WORDS[found.status],
        "email": email,
        "reply": reply or {"text": ""},
        "errors": errors,
        "error_list": error_list(errors),
        "notice": notice,
        "sent": sent,
    }
    code = status_code or (422 if errors else 200)
    return render(request, "join/status.html", context, status_code=code, headers=NO_STORE)


def _lookup_page(
    request: Request, values: dict[str, str], errors: dict[str, str], *, status_code: int = 200
) -> Response:
    context = {"values": values, "errors": errors, "error_list": error_list(errors)}
    return render(request, "join/status_lookup.html", context, status_code=status_code, headers=NO_STORE)
