"""Spread: how many organisations adopted an innovation, and where. Every
number is a SQL aggregate over the innovation's adoptions, found by the
index on (innovation_id, stage): its adopted ones are read without reading
those at earlier stages, and its counts per stage from the index alone."""

from typing import Any

from sqlalchemy import Integer, cast, extract, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.models.adoption import Adoption
from app.models.innovation import Innovation
from app.models.organisation import Organisation
from app.models.spread import Adopter, QuarterCount, SpreadPublic
from app.models.vocabulary import ADOPTED_STAGES
from app.services import pipeline

MAX_ADOPTERS = 500


def _by_region_and_kind(session: Session, *where: Any) -> tuple[dict[str, int], dict[str, int]]:
    """The adopters counted by region and by kind, from one grouped join:
    a few dozen (region, kind) groups, totalled each way."""
    region = func.coalesce(Organisation.region, "unknown")
    stmt = (
        select(region, Organisation.kind, func.count())
        .select_from(Adoption)
        .join(Organisation, col(Organisation.id) == Adoption.organisation_id)
        .where(*where)
        .group_by(region, col(Organisation.kind))
    )
    by_region: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    for area, kind, count in session.exec(stmt).all():
        by_region[area] = by_region.get(area, 0) + count
        by_kind[kind] = by_kind.get(kind, 0) + count
    return by_region, by_kind


def spread(session: Session, innovation: Innovation) -> SpreadPublic:
    of_it = col(Adoption.innovation_id) == innovation.id
    adopted = col(Adoption.stage).in_(ADOPTED_STAGES)

    # The stages of its adoptions: read from the index on (innovation_id, stage) alone.
    by_stage = dict.fromkeys((s.key for s in pipeline.stages(session).ordered), 0)
    by_stage.update(
        session.exec(select(Adoption.stage, func.count()).where(of_it).group_by(col(Adoption.stage))).all()
    )
    by_region, by_kind = _by_region_and_kind(session, of_it, adopted)

    # Six columns: more than sqlmodel's typed `select` takes, so SQLAlchemy's own.
    adopters = session.execute(
        sa_select(
            col(Organisation.id),
            col(Organisation.name),
            col(Organisation.kind),
            col(Organisation.region),
            col(Adoption.stage),
            col(Adoption.adopted_at),
        )
        .join(Adoption, col(Adoption.organisation_id) == Organisation.id)
        .where(of_it, adopted)
        .order_by(col(Adoption.adopted_at), col(Organisation.name))
        .limit(MAX_ADOPTERS)
    ).all()

    adopted_at = col(Adoption.adopted_at)
    year = cast(extract("year", adopted_at), Integer)
    quarter = (cast(extract("month", adopted_at), Integer) - 1) // 3 + 1
    quarters = session.exec(
        select(year, cast(quarter, Integer), func.count(), func.min(Adoption.adopted_at))
        .where(of_it, adopted, col(Adoption.adopted_at).is_not(None))
        .group_by(year, cast(quarter, Integer))
        .order_by(year, cast(quarter, Integer))
    ).all()

    return SpreadPublic(
        innovation_id=innovation.id,
        adopted=sum(by_stage.get(key, 0) for key in ADOPTED_STAGES),
        adopters=[
            Adopter(organisation_id=o, name=n, kind=k, region=r, stage=s, adopted_at=a)
            for o, n, k, r, s, a in adopters
        ],
        by_region=by_region,
        by_kind=by_kind,
        by_stage=by_stage,
        first_adopted_at=min((q[3] for q in quarters if q[3] is not None), default=None),
        per_quarter=[QuarterCount(quarter=f"{y}-Q{q}", adoptions=n) for y, q, n, _ in quarters],
    )
