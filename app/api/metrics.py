import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import PrincipalDep, SessionDep
from app.api.problems import responses
from app.models.metrics import FunnelPublic
from app.models.vocabulary import Category, Region
from app.services import analytics

router = APIRouter(prefix="/metrics", tags=["metrics"])


DESCRIPTION = f"""The pipeline funnel over the adoptions the caller may see (as
`GET /api/v1/adoptions` lists them) that pass the filters, for example
`?region=north_west&category=digital`:

- `stages`: adoptions standing at each stage now.
- `conversions`: from each active stage to the next, of the adoptions
  that got at least as far as the first (the furthest active stage each
  ever entered, whatever happened since), the share that got at least as
  far as the second.
- `time_in_stage`: completed stays in each stage, from the move in (or
  the adoption's opening) to the move out, in whole days; median and
  90th percentile by nearest rank, over each stage's latest {analytics.RECENT_STAYS:,} stays.
- `stuck`: the adoptions longest in their stage, leaving out `adopted`,
  `sustained` and `not_progressed`.
- `stops` and `stops_by_stage`: where adoptions stop, as every move to
  `not_progressed` by its reason code and by the stage it left.
"""


@router.get("/funnel", response_model=FunnelPublic, responses=responses(403), description=DESCRIPTION)
def funnel(
    session: SessionDep,
    principal: PrincipalDep,
    region: Annotated[
        Region | None, Query(description="The adopting organisation's region.", examples=["north_west"])
    ] = None,
    category: Annotated[
        Category | None, Query(description="A category of the innovation.", examples=["medical_device"])
    ] = None,
    organisation_id: Annotated[uuid.UUID | None, Query(description="The adopting organisation.")] = None,
    innovation_id: Annotated[uuid.UUID | None, Query(description="The innovation.")] = None,
    stuck_limit: Annotated[
        int, Query(ge=1, le=analytics.MAX_STUCK_LIMIT, description="How many stuck adoptions to list.")
    ] = analytics.STUCK_LIMIT,
) -> FunnelPublic:
    filters = analytics.FunnelFilters(
        region=region, category=category, organisation_id=organisation_id, innovation_id=innovation_id
    )
    return analytics.funnel(session, principal, filters, stuck_limit=stuck_limit)
