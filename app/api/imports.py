"""Bulk import (API.md, "Bulk import"): upsert records keyed by `external_ref`."""

from fastapi import APIRouter

from app.api.deps import PrincipalDep, SessionDep
from app.api.problems import responses
from app.models.imports import KINDS, ImportRequest, ImportResult
from app.services import imports

router = APIRouter(prefix="/import", tags=["import"])


@router.post("", response_model=ImportResult, responses=responses(403, 409, 413))
def import_records(session: SessionDep, principal: PrincipalDep, body: ImportRequest) -> ImportResult:
    """Create or update organisations, innovations, challenges and adoptions,
    each found by its `external_ref` among the caller's organisation's own.
    Everything is checked first: any error answers 422 with every error and
    its place (`innovations[41].care_settings[0]`), and nothing is written.
    Each record needs the rights that creating or changing it through its own
    route needs. A record that would not change is left alone: running the
    same import again changes nothing and writes no events. An adoption may
    name the `stage` it stands at: it opens at `identified` and is moved
    there by the pipeline's rules, reason `imported` (a facilitator of its
    region or an admin skips and overrides as needed; `not_progressed` needs
    `reason_code`)."""
    sources, errors = imports.from_document({kind: getattr(body, kind) for kind in KINDS})
    return imports.run(session, principal, sources, errors=errors)
