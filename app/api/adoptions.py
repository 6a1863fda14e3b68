import uuid

from fastapi import APIRouter, Request, Response

from app.api.deps import AdoptionDep, IfMatchDep, PageDep, PrincipalDep, SessionDep
from app.api.headers import CREATED_HEADERS, ETAG_HEADER, created, tag
from app.api.problems import responses
from app.models.adoption import AdoptionCreate, AdoptionPublic, AdoptionUpdate
from app.models.move import MovePublic
from app.models.transition import TransitionCreate, TransitionPublic
from app.models.vocabulary import Region
from app.services import adoptions, pipeline
from app.services.pagination import Page

router = APIRouter(prefix="/adoptions", tags=["adoptions"])


@router.get("", response_model=Page[AdoptionPublic], responses=responses(403))
def list_adoptions(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    innovation_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    challenge_id: uuid.UUID | None = None,
    stage: str | None = None,
    region: Region | None = None,
) -> Page[AdoptionPublic]:
    """The adoptions the caller may see: its own, its innovations', or (for
    facilitators and admins) all."""
    filters = adoptions.AdoptionFilters(
        innovation_id=innovation_id,
        organisation_id=organisation_id,
        challenge_id=challenge_id,
        stage=stage,
        region=region,
    )
    return adoptions.list_(session, principal, filters, page)


@router.post(
    "",
    status_code=201,
    response_model=AdoptionPublic,
    responses={**responses(403, 409), 201: {"headers": CREATED_HEADERS}},
)
def open_adoption(
    request: Request, response: Response, session: SessionDep, principal: PrincipalDep, body: AdoptionCreate
) -> AdoptionPublic:
    """Opens an adoption at `identified`: the adopting organisation itself, a
    facilitator of its region, or an admin."""
    loaded = adoptions.create(session, principal, body)
    created(request, response, loaded.adoption, "get_adoption", adoption_id=loaded.adoption.id)
    return adoptions.to_public(pipeline.stages(session), loaded.adoption)


@router.get(
    "/{adoption_id}",
    response_model=AdoptionPublic,
    responses={**responses(403, 404), 200: {"headers": ETAG_HEADER}},
)
def get_adoption(response: Response, session: SessionDep, loaded: AdoptionDep) -> AdoptionPublic:
    tag(response, loaded.adoption)
    return adoptions.to_public(pipeline.stages(session), loaded.adoption)


@router.patch(
    "/{adoption_id}",
    response_model=AdoptionPublic,
    responses={**responses(403, 404, 409, 412, 428), 200: {"headers": ETAG_HEADER}},
)
def update_adoption(
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    loaded: AdoptionDep,
    version: IfMatchDep,
    body: AdoptionUpdate,
) -> AdoptionPublic:
    """Changes the lead, the gate record (merged by key; `null` clears an
    item), notes or the challenge it answers."""
    adoptions.update(session, principal, loaded, body, version)
    tag(response, loaded.adoption)
    return adoptions.to_public(pipeline.stages(session), loaded.adoption)


@router.post(
    "/{adoption_id}/transitions",
    status_code=201,
    response_model=MovePublic,
    responses={**responses(403, 404, 409, 412, 428), 201: {"headers": CREATED_HEADERS}},
)
def move_adoption(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    loaded: AdoptionDep,
    version: IfMatchDep,
    body: TransitionCreate,
) -> MovePublic:
    """Moves the adoption to another stage under the pipeline's rules. A move
    the rules refuse is 409, and `missing` names the gate items not yet shown.
    The answer's ETag is the adoption's new one."""
    move = pipeline.MoveRequest(
        to_stage=body.to_stage, reason=body.reason, reason_code=body.reason_code, override=body.override
    )
    transition = adoptions.move(session, principal, loaded, move, version)
    tag(response, loaded.adoption)
    response.headers["Location"] = str(
        request.url_for("get_transition", adoption_id=loaded.adoption.id, transition_id=transition.id)
    )
    return MovePublic(
        transition=TransitionPublic.model_validate(transition, from_attributes=True),
        adoption=adoptions.to_public(pipeline.stages(session), loaded.adoption),
    )


@router.get(
    "/{adoption_id}/transitions", response_model=Page[TransitionPublic], responses=responses(403, 404)
)
def list_transitions(session: SessionDep, loaded: AdoptionDep, page: PageDep) -> Page[TransitionPublic]:
    """The adoption's history, oldest first."""
    return pipeline.history(session, loaded.adoption.id, page)


@router.get(
    "/{adoption_id}/transitions/{transition_id}",
    response_model=TransitionPublic,
    responses=responses(403, 404),
)
def get_transition(session: SessionDep, loaded: AdoptionDep, transition_id: uuid.UUID) -> TransitionPublic:
    return pipeline.transition(session, loaded.adoption.id, transition_id)
