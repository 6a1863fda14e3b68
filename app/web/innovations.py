"""Innovation pages: find innovations (search as you type, filters, pages),
read one with its evidence, regulatory marks and spread, and add or change
one. Suppliers keep their own; facilitators and admins any (the services
decide, as they do for the API)."""

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session
from starlette.datastructures import FormData

from app.api.deps import SessionDep
from app.auth import Principal
from app.errors import Forbidden, PreconditionFailed, ValidationFailed
from app.models.innovation import EvidenceItem, Innovation, InnovationCreate, InnovationUpdate
from app.models.vocabulary import (
    CareSetting,
    Category,
    EvidenceType,
    InnovationStatus,
    Maturity,
    OrganisationKind,
    UkcaClass,
)
from app.services import innovations, pipeline, spread
from app.web import listing
from app.web.deps import WebPrincipalDep
from app.web.forms import FormDep, error_list, errors_from, opened_version, stripped, validate
from app.web.matches import DuplicateWarning, answerable_challenges, duplicate_warning
from app.web.rendering import is_htmx, render
from app.web.responses import innovation_panel
from app.web.vocabulary import options, words, words_list

router = APIRouter(prefix="/innovations")

LABELS = {
    "name": "the name",
    "summary": "the summary",
    "description": "the description",
    "supplier_id": "the supplier",
    "categories": "the categories",
    "care_settings": "the care settings",
    "maturity": "the maturity",
    "origin_sector": "the sector it comes from",
    "origin_use": "what it did there",
    "cost_summary": "the cost",
    "website": "the website",
    "status": "the status",
    "ukca_class": "the UKCA or CE class",
}
EVIDENCE_LABELS = {
    "type": "the type of evidence",
    "summary": "a summary of the evidence",
    "url": "the link to the evidence",
}
# The fields a person compares when their save meets someone else's, in form order.
COMPARED = {
    "name": "Name",
    "summary": "Summary",
    "description": "Description",
    "supplier_id": "Supplier",
    "categories": "Categories",
    "care_settings": "Care settings",
    "maturity": "Maturity",
    "origin_sector": "Sector it comes from",
    "origin_use": "What it did there",
    "evidence": "Evidence",
    "regulatory": "Regulatory marks",
    "cost_summary": "Cost",
    "website": "Website",
    "status": "Status",
}
TEXT_FIELDS = ("name", "summary", "description", "origin_sector", "origin_use", "cost_summary", "website")
OPTIONAL_TEXT = ("origin_sector", "origin_use", "cost_summary", "website")
EVIDENCE_FIELDS = ("type", "summary", "url")
MIN_EVIDENCE_ROWS = 3
MAX_EVIDENCE_ROWS = 50


# --- finding ----------------------------------------------------------------


def read_filters(params: Mapping[str, str]) -> innovations.InnovationFilters:
    """The list's filters from a query string (the list's and its CSV
    export's); a value a filter does not know is left out, as if not chosen."""
    return innovations.InnovationFilters(
        q=listing.text(params.get("q")),
        category=listing.choice(params.get("category"), Category),
        care_setting=listing.choice(params.get("care_setting"), CareSetting),
        maturity=listing.choice(params.get("maturity"), Maturity),
        origin_sector=listing.text(params.get("origin_sector"), 100),
    )


@router.get("")
def list_innovations(
    request: Request,
    session: SessionDep,
    principal: WebPrincipalDep,
    cursor: str | None = None,
) -> Response:
    filters = read_filters(request.query_params)
    page, cursor = listing.page_or_first(lambda p: innovations.list_(session, principal, filters, p), cursor)
    params = {
        "q": filters.q,
        "category": filters.category,
        "care_setting": filters.care_setting,
        "maturity": filters.maturity,
        "origin_sector": filters.origin_sector,
    }
    sectors = innovations.origin_sectors(session, principal)
    if filters.origin_sector and filters.origin_sector not in sectors:
        sectors.append(filters.origin_sector)
    context = {
        "filters": params,
        "filtered": any(params.values()),
        "page": page,
        "status_text": listing.status_text(
            len(page.items), "innovation", filtered=any(params.values()), more=page.next_cursor is not None
        ),
        "suppliers": listing.organisation_names(session, (i.supplier_id for i in page.items)),
        "next_url": listing.url("/innovations", {**params, "cursor": page.next_cursor})
        if page.next_cursor
        else None,
        "first_url": listing.url("/innovations", params) if cursor else None,
        "csv_url": listing.url("/exports/innovations.csv", params),
        "options": {
            "category": options(Category),
            "care_setting": options(CareSetting),
            "maturity": options(Maturity),
            "origin_sector": [{"value": s, "text": s} for s in sectors],
        },
        "can_create": _may_add(principal),
        "oob": is_htmx(request),
    }
    headers = None
    if is_htmx(request):
        # The address bar keeps the query and filters, without the empty ones.
        headers = {"HX-Push-Url": listing.url("/innovations", {**params, "cursor": cursor})}
    return render(request, "innovations/list.html", context, fragment="results", headers=headers)


def _may_add(principal: Principal) -> bool:
    """Whom the pages offer "Add an innovation": suppliers, facilitators, admins."""
    return principal.is_exchange_staff or principal.organisation_kind == OrganisationKind.supplier


# --- adding -----------------------------------------------------------------


@router.get("/new")
def new_innovation(request: Request, session: SessionDep, principal: WebPrincipalDep) -> Response:
    if not _may_add(principal):  # the form would only be refused
        raise Forbidden("Innovations are added by suppliers, facilitators and admins.")
    values = _blank_values()
    if not principal.is_exchange_staff:
        values["supplier_id"] = str(principal.organisation_id)
    return _form_page(request, session, principal, values, {})


@router.post("/new")
def create_innovation(
    request: Request, session: SessionDep, principal: WebPrincipalDep, form: FormDep
) -> Response:
    values = _values_from_form(form)
    if not principal.is_exchange_staff:
        # A supplier adds innovations for itself.
        values["supplier_id"] = str(principal.organisation_id)
    data, errors = _validated(InnovationCreate, values, with_supplier=True)
    if data is not None:
        # Like one already on the exchange? Say so, once: a second submit saves.
        warning = duplicate_warning(session, principal, form, data.name, data.summary)
        if warning is not None:
            return _form_page(request, session, principal, values, {}, duplicates=warning)
        try:
            innovation = innovations.create(session, principal, data)
        except ValidationFailed as exc:
            errors = _known(errors_from(exc, LABELS))
        else:
            return RedirectResponse(f"/innovations/{innovation.id}", status_code=303)
    return _form_page(request, session, principal, values, errors, status_code=422)


# --- reading ----------------------------------------------------------------


@router.get("/{innovation_id}")
def show_innovation(
    request: Request, session: SessionDep, principal: WebPrincipalDep, innovation_id: uuid.UUID
) -> Response:
    innovation = innovations.get(session, principal, innovation_id)
    stages = pipeline.stages(session)
    context = {
        "innovation": innovations.to_public(innovation),
        "supplier_name": listing.organisation_names(session, [innovation.supplier_id]).get(
            innovation.supplier_id, ""
        ),
        "spread": spread.spread(session, innovation),
        "stage_names": {s.key: s.name for s in stages.ordered},
        "can_change": innovations.can_change(principal, innovation),
        "responses_panel": innovation_panel(request, session, principal, innovation),
        "answerable_challenges": answerable_challenges(session, innovation),
    }
    return render(request, "innovations/show.html", context, fragment="spread")


# --- changing ---------------------------------------------------------------


@router.get("/{innovation_id}/edit")
def edit_innovation(
    request: Request, session: SessionDep, principal: WebPrincipalDep, innovation_id: uuid.UUID
) -> Response:
    innovation = _changeable(session, principal, innovation_id)
    return _form_page(request, session, principal, _values_from_record(innovation), {}, innovation=innovation)


@router.post("/{innovation_id}/edit")
def update_innovation(
    request: Request, session: SessionDep, principal: WebPrincipalDep, innovation_id: uuid.UUID, form: FormDep
) -> Response:
    innovation = _changeable(session, principal, innovation_id, for_update=True)
    values = _values_from_form(form)
    staff = principal.is_exchange_staff
    if not staff:
        values["supplier_id"] = str(innovation.supplier_id)
    data, errors = _validated(InnovationUpdate, values, with_supplier=staff)
    if data is not None:
        try:
            innovations.update(session, principal, innovation, data, opened_version(form))
        except PreconditionFailed:
            # Someone saved first: show theirs against this person's, never overwrite.
            conflict = _differences(session, values, _values_from_record(innovation), with_supplier=staff)
            return _form_page(
                request,
                session,
                principal,
                values,
                {},
                innovation=innovation,
                conflict=conflict,
                status_code=412,
            )
        except ValidationFailed as exc:
            errors = _known(errors_from(exc, LABELS))
        else:
            return RedirectResponse(f"/innovations/{innovation.id}", status_code=303)
    return _form_page(request, session, principal, values, errors, innovation=innovation, status_code=422)


def _changeable(
    session: Session, principal: Principal, innovation_id: uuid.UUID, *, for_update: bool = False
) -> Innovation:
    innovation = innovations.get(session, principal, innovation_id, for_update=for_update)
    if not innovations.can_change(principal, innovation):
        raise Forbidden("Only the innovation's supplier, facilitators and admins change an innovation.")
    return innovation


# --- the form's values --------------------------------------------------------


def _blank_values() -> dict[str, Any]:
    return {
        **dict.fromkeys(TEXT_FIELDS, ""),
        "supplier_id": "",
        "categories": [],
        "care_settings": [],
        "maturity": "",
        "status": InnovationStatus.draft.value,
        "evidence": [],
        "ukca_class": "",
        "dtac": False,
        "dcb0129": False,
    }


def _values_from_record(innovation: Innovation) -> dict[str, Any]:
    public = innovations.to_public(innovation).model_dump(mode="json")
    regulatory = public["regulatory"] or {}
    return {
        **{field: public[field] or "" for field in TEXT_FIELDS},
        "supplier_id": public["supplier_id"],
        "categories": public["categories"],
        "care_settings": public["care_settings"],
        "maturity": public["maturity"],
        "status": public["status"],
        "evidence": [
            {"type": item["type"], "summary": item["summary"], "url": item["url"] or ""}
            for item in public["evidence"]
        ],
        "ukca_class": regulatory.get("ukca_class") or "",
        "dtac": bool(regulatory.get("dtac")),
        "dcb0129": bool(regulatory.get("dcb0129")),
    }


def _values_from_form(form: FormData) -> dict[str, Any]:
    evidence = []
    for index in range(MAX_EVIDENCE_ROWS):
        keys = [f"evidence-{index}-{field}" for field in EVIDENCE_FIELDS]
        if not any(key in form for key in keys):
            continue
        row = zip(EVIDENCE_FIELDS, keys, strict=True)
        evidence.append({field: stripped(form, key) for field, key in row})
    return {
        **{field: stripped(form, field) for field in TEXT_FIELDS},
        "supplier_id": stripped(form, "supplier_id"),
        "categories": [v for v in form.getlist("categories") if isinstance(v, str) and v],
        "care_settings": [v for v in form.getlist("care_settings") if isinstance(v, str) and v],
        "maturity": stripped(form, "maturity"),
        "status": stripped(form, "status"),
        "evidence": evidence,
        "ukca_class": stripped(form, "ukca_class"),
        "dtac": bool(stripped(form, "dtac")),
        "dcb0129": bool(stripped(form, "dcb0129")),
    }


def _validated(
    model: type[InnovationCreate] | type[InnovationUpdate], values: dict[str, Any], *, with_supplier: bool
) -> tuple[Any, dict[str, str]]:
    """The API's schema applied to the form: the model, or the messages by field."""
    errors: dict[str, str] = {}
    evidence = []
    for index, row in enumerate(values["evidence"]):
        if not any(row.values()):
            continue  # a blank row is no evidence
        item, row_errors = validate(EvidenceItem, {**row, "url": row["url"] or None}, EVIDENCE_LABELS)
        errors.update({f"evidence-{index}-{field}": message for field, message in row_errors.items()})
        if item is not None:
            evidence.append(item.model_dump(mode="json"))
    data: dict[str, Any] = {
        **{field: values[field] for field in TEXT_FIELDS},
        **{field: values[field] or None for field in OPTIONAL_TEXT},
        "categories": values["categories"],
        "care_settings": values["care_settings"],
        "maturity": values["maturity"],
        "status": values["status"],
        "evidence": evidence,
        "regulatory": {
            "ukca_class": values["ukca_class"] or None,
            "dtac": values["dtac"],
            "dcb0129": values["dcb0129"],
        },
    }
    if with_supplier:
        if not values["supplier_id"]:
            errors.setdefault("supplier_id", "Select the supplier")
        data["supplier_id"] = values["supplier_id"] or None
    record, model_errors = validate(model, data, LABELS)
    for field, message in _known(model_errors).items():
        errors.setdefault(field, message)
    if errors:
        return None, _ordered(errors)
    return record, {}


def _known(errors: dict[str, str]) -> dict[str, str]:
    """Messages keyed by the form's own field ids, so the summary links to them."""
    renamed: dict[str, str] = {}
    for field, message in errors.items():
        if field == "regulatory":
            field = "ukca_class"
        elif field == "evidence":
            field = "evidence-0-type"
        elif field == "supplier_id" and "uuid" in message.lower():
            message = "Select the supplier"
        elif field not in LABELS and not field.startswith("evidence-"):
            field = "name"
        renamed.setdefault(field, message)
    return renamed


def _ordered(errors: dict[str, str]) -> dict[str, str]:
    """The messages in the order of the fields on the page."""
    order = [*COMPARED, "ukca_class"]

    def position(field: str) -> tuple[int, str]:
        if field.startswith("evidence-"):
            return order.index("evidence"), field
        return (order.index(field) if field in order else len(order)), field

    return dict(sorted(errors.items(), key=lambda item: position(item[0])))


# --- conflicts ----------------------------------------------------------------


def _shown(session: Session, field: str, values: dict[str, Any]) -> str:
    """One field of the form's values in words, to compare two versions."""
    if field == "supplier_id":
        try:
            supplier = uuid.UUID(values["supplier_id"])
        except ValueError:
            return ""
        return listing.organisation_names(session, [supplier]).get(supplier, "")
    if field in ("categories", "care_settings"):
        return words_list(sorted(values[field]))
    if field in ("maturity", "status"):
        return words(values[field])
    if field == "evidence":
        rows = [row for row in values["evidence"] if any(row.values())]
        return "; ".join(
            f"{words(row['type'])}: {row['summary']}" + (f" ({row['url']})" if row["url"] else "")
            for row in rows
        )
    if field == "regulatory":
        return (
            f"UKCA or CE class: {words(values['ukca_class']) or 'not stated'}; "
            f"DTAC passed: {'yes' if values['dtac'] else 'no'}; "
            f"DCB0129 in place: {'yes' if values['dcb0129'] else 'no'}"
        )
    return str(values[field] or "")


def _differences(
    session: Session, theirs: dict[str, Any], current: dict[str, Any], *, with_supplier: bool
) -> list[dict[str, str]]:
    rows = []
    for field, label in COMPARED.items():
        if field == "supplier_id" and not with_supplier:
            continue
        mine, saved = _shown(session, field, theirs), _shown(session, field, current)
        if mine != saved:
            rows.append({"label": label, "yours": mine, "saved": saved})
    return rows


# --- the form page --------------------------------------------------------------


def _evidence_rows(evidence: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows to show: those given, padded with blank ones to three (and one
    more when three are full), so that editing never drops an item."""
    rows = list(evidence)
    wanted = max(MIN_EVIDENCE_ROWS, len(rows) + 1 if len(rows) >= MIN_EVIDENCE_ROWS else 0)
    while len(rows) < min(wanted, MAX_EVIDENCE_ROWS):
        rows.append(dict.fromkeys(EVIDENCE_FIELDS, ""))
    return rows


def _form_page(
    request: Request,
    session: Session,
    principal: Principal,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    innovation: Innovation | None = None,
    conflict: list[dict[str, str]] | None = None,
    duplicates: DuplicateWarning | None = None,
    status_code: int = 200,
) -> Response:
    staff = principal.is_exchange_staff
    suppliers = []
    if staff:
        suppliers = [
            {"value": str(org.id), "text": org.name}
            for org in listing.organisation_choices(session, kind=OrganisationKind.supplier)
        ]
        if values["supplier_id"] and values["supplier_id"] not in {s["value"] for s in suppliers}:
            try:
                current = uuid.UUID(values["supplier_id"])
                name = listing.organisation_names(session, [current]).get(current)
            except ValueError:
                name = None
            if name:
                suppliers.append({"value": values["supplier_id"], "text": name})
    statuses = [InnovationStatus.draft, InnovationStatus.published]
    if innovation is not None:
        statuses.append(InnovationStatus.archived)
    own_name = listing.organisation_names(session, [principal.organisation_id]).get(
        principal.organisation_id, ""
    )
    context = {
        "innovation": innovation,
        "action": f"/innovations/{innovation.id}/edit" if innovation else "/innovations/new",
        "version": innovation.version if innovation else None,
        "values": {**values, "evidence": _evidence_rows(values["evidence"])},
        "errors": errors,
        "error_list": error_list(errors),
        "conflict": conflict,
        "duplicates": duplicates,
        "staff": staff,
        "suppliers": suppliers,
        "supplier_name": own_name if innovation is None else _shown(session, "supplier_id", values),
        "options": {
            "categories": options(Category),
            "care_settings": options(CareSetting),
            "maturity": options(Maturity),
            "evidence_type": options(EvidenceType),
            "ukca_class": options(UkcaClass),
            "status": [{"value": s.value, "text": words(s.value)} for s in statuses],
        },
    }
    return render(request, "innovations/form.html", context, fragment="form", status_code=status_code)
