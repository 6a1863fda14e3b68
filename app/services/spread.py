"""Spread: how many organisations adopted an innovation, and where. Every
number is a SQL aggregate, so an innovation adopted a thousand times costs
no more to report than one adopted once."""

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


def _grouped(session: Session, column: Any, *where: Any) -> dict[str, int]:
    stmt = (
        select(column, func.count())
        .select_from(Adoption)
        .join(Organisation, col(Organisation.id) == Adoption.organisation_id)
        .where(*where)
        .group_by(column)
    )
    return {str(key): count for key, count in session.exec(stmt).all()}


def spread(session: Session, innovation: Innovation) -> SpreadPublic:
    of_it = col(Adoption.innovation_id) == innovation.id
    adopted = col(Adoption.stage).in_(ADOPTED_STAGES)

    by_stage = dict.fromkeys((s.key for s in pipeline.stages(session).ordered), 0)
    by_stage.update(_grouped(session, Adoption.stage, of_it))

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
        by_region=_grouped(session, func.coalesce(Organisation.region, "unknown"), of_it, adopted),
        by_kind=_grouped(session, Organisation.kind, of_it, adopted),
        by_stage=by_stage,
        first_adopted_at=min((q[3] for q in quarters if q[3] is not None), default=None),
        per_quarter=[QuarterCount(quarter=f"{y}-Q{q}", adoptions=n) for y, q, n, _ in quarters],
    )
