"""Pipeline analytics: the funnel of the adoptions a person may see.

Every number is a SQL aggregate; Python only names and orders the handful
of rows that come back. The definitions, also in the API's description:

- **Adoptions per stage**: the adoptions standing at each stage now.
- **Conversion** from an active stage N to the next, N+1: of the adoptions
  that got at least as far as N, the share that got at least as far as
  N+1. How far an adoption got is the furthest active stage it ever
  entered (every adoption entered `identified`), kept on the adoption by
  each move (`furthest_stage`), so one that reached co-design and was then
  stopped, paused or moved back still counts as having reached co-design,
  and a facilitator's skip past a stage counts as passing it.
- **Time in stage**: each completed stay in a stage, from entering it (the
  transition into it, or the adoption's opening for `identified`) to the
  next transition out of it, in whole days. The median and 90th percentile
  are by nearest rank: the smallest d such that at least half (nine in
  ten) of the stays lasted d days or fewer. A stay still going is left out:
  it shows in the stuck list instead. Each stage's latest RECENT_STAYS completed
  stays are measured (all of them, where there are fewer): how long a stage
  takes now, at a cost that does not grow with the years of history.
- **Stuck**: the adoptions longest in their current stage, leaving out
  `adopted`, `sustained` and `not_progressed`.
- **Stops**: every move to `not_progressed`, by its reason code and by the
  stage it left (an adoption stopped twice counts twice).

Who sees what, and the filters, are the adoptions list's
(`adoptions.query`): a person's funnel counts exactly the adoptions their
list shows them.

A transition's place in its adoption's history is its id's (UUIDv7, in
creation order), as `pipeline.history` lists it."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    case,
    cast,
    column,
    func,
    literal,
    table,
    text,
    union_all,
)
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.auth import Principal
from app.models.adoption import Adoption
from app.models.base import as_utc, utcnow
from app.models.innovation import Innovation
from app.models.metrics import (
    Conversion,
    FunnelPublic,
    StageCount,
    StopCount,
    StopsFromStage,
    StuckAdoption,
    TimeInStage,
)
from app.models.organisation import Organisation
from app.models.transition import Transition
from app.models.vocabulary import ADOPTED_STAGES, NOT_PROGRESSED
from app.services import adoptions, pipeline

_Ts = TypeVarTuple("_Ts")
STUCK_LIMIT = 10
# Time in stage is measured over each stage's latest stays, so that it costs
# the same at a million adoptions as at a thousand (bench/RESULTS.md).
RECENT_STAYS = 1_000
MAX_STUCK_LIMIT = 100
# Not stuck, wherever they stand: done, or stopped.
NOT_STUCK = (*ADOPTED_STAGES, NOT_PROGRESSED)
_NO_STAYS: dict[str, Any] = {"stays": 0, "median_days": None, "p90_days": None}


@dataclass(frozen=True)
class FunnelFilters:
    region: str | None = None
    category: str | None = None
    organisation_id: uuid.UUID | None = None
    innovation_id: uuid.UUID | None = None
    # All or part of a name: the analytics page's search fields, as the board's.
    organisation_name: str | None = None
    innovation_name: str | None = None


def funnel(
    session: Session,
    principal: Principal,
    filters: FunnelFilters,
    *,
    stuck_limit: int = STUCK_LIMIT,
    now: datetime | None = None,
) -> FunnelPublic:
    """Four queries, each answered from an index: counts per current and
    furthest stage (one pass over every adoption: stages and conversions),
    each stage's latest stays (time in stage: bounded by RECENT_STAYS), the
    stuck list (bounded by `stuck_limit`) and the stops."""
    stages = pipeline.stages(session)
    where = _where(session, principal, filters)
    if session.get_bind().dialect.name == "postgresql":
        # The planner prices the correlated probes of time in stage far above
        # their cost, and would compile the query with its JIT first: longer
        # than the query then takes. For this transaction (the request's) only.
        session.execute(text("SET LOCAL jit = off"))
    counts, furthest = _counts(session, where)
    stays = _time_in_stage(session, stages, where)
    stops, stops_by_stage = _stops(session, stages, where)
    return FunnelPublic(
        adoptions=sum(counts.values()),
        stages=[StageCount(stage=s.key, name=s.name, adoptions=counts.get(s.key, 0)) for s in stages.ordered],
        conversions=_conversions(stages, furthest),
        time_in_stage=[
            TimeInStage(stage=s.key, name=s.name, **stays.get(s.key, _NO_STAYS))
            for s in stages.ordered
            if s.key != NOT_PROGRESSED
        ],
        stuck=_stuck(session, where, stuck_limit, now or utcnow()),
        stops=stops,
        stops_by_stage=stops_by_stage,
    )


def _where(session: Session, principal: Principal, filters: FunnelFilters) -> list[Any]:
    """WHERE clauses on `Adoption`: the adoptions list's own, so the funnel
    counts what the list shows. Empty for staff without filters: every
    query below then skips its join to adoptions."""
    listed = adoptions.query(
        session,
        principal,
        adoptions.AdoptionFilters(
            region=filters.region,
            category=filters.category,
            organisation_id=filters.organisation_id,
            innovation_id=filters.innovation_id,
            organisation_name=filters.organisation_name,
            innovation_name=filters.innovation_name,
        ),
    )
    return [] if listed.whereclause is None else [listed.whereclause]


def _of_visible(stmt: Select[*_Ts], where: list[Any]) -> Select[*_Ts]:
    """Transitions of the adoptions that pass `where`."""
    if not where:
        return stmt
    return stmt.join(Adoption, col(Adoption.id) == Transition.adoption_id).where(*where)


# PostgreSQL's running count of adoptions per (stage, furthest_stage), kept
# by triggers as rows of differences (migration 0012).
_STAGE_COUNTS = table("adoption_stage_counts", column("stage"), column("furthest_stage"), column("adoptions"))


def _counts(session: Session, where: list[Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Adoptions per current stage and per furthest stage: for everyone's
    adoptions on PostgreSQL, the sum of the running counts; otherwise one
    grouped pass over the index on (stage, furthest_stage)."""
    stmt: Select[Any, Any, Any]
    if not where and session.get_bind().dialect.name == "postgresql":
        counts = _STAGE_COUNTS.c
        stmt = sa_select(counts.stage, counts.furthest_stage, cast(func.sum(counts.adoptions), Integer))
        stmt = stmt.group_by(counts.stage, counts.furthest_stage).having(func.sum(counts.adoptions) != 0)
    else:
        stmt = (
            sa_select(col(Adoption.stage), col(Adoption.furthest_stage), func.count())
            .where(*where)
            .group_by(col(Adoption.stage), col(Adoption.furthest_stage))
        )
    by_stage: dict[str, int] = {}
    by_furthest: dict[str, int] = {}
    for stage, furthest, count in session.execute(stmt).all():
        by_stage[stage] = by_stage.get(stage, 0) + count
        by_furthest[furthest] = by_furthest.get(furthest, 0) + count
    return by_stage, by_furthest


# --- how far adoptions got ----------------------------------------------------


def _conversions(stages: pipeline.Stages, furthest: dict[str, int]) -> list[Conversion]:
    """From the adoptions counted by the furthest active stage each entered:
    those that got as far as a stage are those whose furthest is it or later."""
    active = stages.active
    got = [sum(furthest.get(s.key, 0) for s in active[index:]) for index in range(len(active))]
    return [
        Conversion(
            from_stage=active[i].key,
            to_stage=active[i + 1].key,
            reached=got[i],
            went_on=got[i + 1],
            rate=round(got[i + 1] / got[i], 3) if got[i] else None,
        )
        for i in range(len(active) - 1)
    ]


# --- how long stays last ----------------------------------------------------


def _days(session: Session, later: Any, earlier: Any) -> ColumnElement[int]:
    """Whole days from `earlier` to `later`, rounded down."""
    if session.get_bind().dialect.name == "sqlite":
        # Times are stored as ISO text: whole seconds since the epoch, and
        # integer division (julianday's float would make 10 days 9.9999...).
        seconds = cast(func.strftime("%s", later), Integer) - cast(func.strftime("%s", earlier), Integer)
        return seconds // 86_400
    # An interval between two timestamps keeps whole days in its `day` field.
    return cast(func.date_part("day", later - earlier), Integer)


def _recent_stays(session: Session, stage: str, where: list[Any]) -> Select[str, int]:
    """The stage's latest RECENT_STAYS completed stays, each as its length
    in whole days: every transition out of the stage ends one (the latest
    are read backwards from an index on (from_stage, id)), which began at
    the transition before it in the adoption's history (one index probe
    each, on (adoption_id, id)), or when the adoption was opened."""
    t = Transition
    exits = sa_select(col(t.id), col(t.adoption_id), col(t.created_at)).where(col(t.from_stage) == stage)
    latest = _of_visible(exits, where).order_by(col(t.id).desc()).limit(RECENT_STAYS).subquery("latest")
    before = aliased(Transition, name="before")
    began = func.coalesce(
        sa_select(col(before.created_at))
        .where(col(before.adoption_id) == latest.c.adoption_id, col(before.id) < latest.c.id)
        .order_by(col(before.id).desc())
        .limit(1)
        .scalar_subquery(),
        sa_select(col(Adoption.created_at)).where(col(Adoption.id) == latest.c.adoption_id).scalar_subquery(),
    )
    return sa_select(literal(stage).label("stage"), _days(session, latest.c.created_at, began).label("days"))


def _time_in_stage(session: Session, stages: pipeline.Stages, where: list[Any]) -> dict[str, dict[str, Any]]:
    """Each stage's stays, median and 90th percentile, by nearest rank over
    a histogram of whole days: window sums over the grouped days (SQLite has
    no percentile function), one row per stage back."""
    measured = [s.key for s in stages.ordered if s.key != NOT_PROGRESSED]
    stays = union_all(*(_recent_stays(session, key, where).subquery().select() for key in measured)).subquery(
        "stays"
    )
    days = (
        select(stays.c.stage, stays.c.days, func.count().label("n"))
        .group_by(stays.c.stage, stays.c.days)
        .subquery("days")
    )
    running = select(
        days.c.stage,
        days.c.days,
        func.sum(days.c.n).over(partition_by=days.c.stage, order_by=days.c.days).label("running"),
        func.sum(days.c.n).over(partition_by=days.c.stage).label("total"),
    ).subquery("running")
    stmt = select(
        running.c.stage,
        func.max(running.c.total),
        func.min(case((running.c.running * 2 >= running.c.total, running.c.days))),
        func.min(case((running.c.running * 10 >= running.c.total * 9, running.c.days))),
    ).group_by(running.c.stage)
    return {
        stage: {"stays": int(n), "median_days": int(median), "p90_days": int(p90)}
        for stage, n, median, p90 in session.execute(stmt).all()
    }


# --- stuck and stopped


def _stuck(session: Session, where: list[Any], limit: int, now: datetime) -> list[StuckAdoption]:
    # Aliased: the filters' own subqueries on these tables must not correlate to the joins.
    innovation = aliased(Innovation, name="stuck_innovation")
    adopter = aliased(Organisation, name="adopter")
    stmt = (
        select(  # type: ignore[call-overload]
            Adoption.id,
            Adoption.innovation_id,
            innovation.name,
            Adoption.organisation_id,
            adopter.name,
            Adoption.stage,
            Adoption.stage_entered_at,
        )
        .join(innovation, col(innovation.id) == Adoption.innovation_id)
        .join(adopter, col(adopter.id) == Adoption.organisation_id)
        .where(*where, col(Adoption.stage).not_in(NOT_STUCK))
        .order_by(col(Adoption.stage_entered_at), col(Adoption.id))
        .limit(limit)
    )
    return [
        StuckAdoption(
            adoption_id=row[0],
            innovation_id=row[1],
            innovation_name=row[2],
            organisation_id=row[3],
            organisation_name=row[4],
            stage=row[5],
            stage_entered_at=row[6],
            days_in_stage=max(0, (now - as_utc(row[6])).days),
        )
        for row in session.exec(stmt).all()
    ]


def _stops(
    session: Session, stages: pipeline.Stages, where: list[Any]
) -> tuple[list[StopCount], list[StopsFromStage]]:
    """Moves to `not_progressed`, grouped in SQL by reason code and stage
    left (a few dozen groups at most), then totalled each way."""
    t = Transition
    stmt = _of_visible(
        sa_select(col(t.reason_code), col(t.from_stage), func.count()).where(
            col(t.to_stage) == NOT_PROGRESSED
        ),
        where,
    ).group_by(col(t.reason_code), col(t.from_stage))
    by_reason: dict[str, int] = {}
    by_stage: dict[str, int] = {}
    for reason, left, n in session.execute(stmt).all():
        by_reason[reason or "other"] = by_reason.get(reason or "other", 0) + n
        by_stage[left] = by_stage.get(left, 0) + n
    return (
        [
            StopCount(reason_code=r, stops=n)
            for r, n in sorted(by_reason.items(), key=lambda i: (-i[1], i[0]))
        ],
        [
            StopsFromStage(stage=s.key, name=s.name, stops=by_stage[s.key])
            for s in stages.ordered
            if s.key in by_stage
        ],
    )
