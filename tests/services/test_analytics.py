"""The funnel on a small exchange whose every number is worked out by hand
below. Days are counted from T0; each adoption moves in order of time.

    adoption  innovation @ adopter        history (day: stage)
    a1        I1 @ A (north west)         0 opened, 10 needs assessment, 30 co-design,
                                          60 real-world testing, 100 adopted
    a2        I1 @ B (london)             0 opened, 4 needs assessment,
                                          24 not progressed (no_funding)
    a3        I2 @ A                      5 opened, 25 needs assessment, 26 co-design,
                                          46 needs assessment (back), 50 paused
    a4        I2 @ B                      10 opened, 13 not progressed (no_capacity),
                                          20 identified (reopened), 55 needs assessment
    a5        I1 @ the world's trust      150 opened (the world's own adoption)
    a6        I2 @ the world's London     0 opened, 40 co-design (a skip),
              trust                       45 not progressed (no_funding)

I1 is a medical device of the world's supplier; I2 a digital one of another.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, text, true, update
from sqlmodel import Session, col, select

from app.auth import Principal
from app.models import Adoption, Innovation, Organisation
from app.services import adoptions, analytics, imports, pipeline
from tests.factories import World, admin_principal, make_innovation, make_key, make_org, principal_for
from tests.services.test_imports import catalogue

T0 = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)
NOW = T0 + timedelta(days=200)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


class Exchange:
    def __init__(self, session: Session, world: World) -> None:
        self.session = session
        self.world = world
        self.admin = admin_principal(world.exchange)
        self.a = make_org(session, "nhs_trust", "north_west", name="Trust A")
        self.b = make_org(session, "primary_care", "london", name="Practice B")
        self.other_supplier = make_org(session, "supplier", "midlands", name="Digital Ltd")
        self.i1 = world.innovation  # a medical device
        self.i2 = make_innovation(session, self.other_supplier, name="Text reminders", categories=["digital"])
        self.a1 = self.open(self.i1, self.a, 0)
        self.moves(
            self.a1, (10, "needs_assessment"), (30, "co_design"), (60, "real_world_testing"), (100, "adopted")
        )
        self.a2 = self.open(self.i1, self.b, 0)
        self.moves(self.a2, (4, "needs_assessment"), (24, "not_progressed", "no_funding"))
        self.a3 = self.open(self.i2, self.a, 5)
        self.moves(
            self.a3, (25, "needs_assessment"), (26, "co_design"), (46, "needs_assessment"), (50, "paused")
        )
        self.a4 = self.open(self.i2, self.b, 10)
        self.moves(
            self.a4, (13, "not_progressed", "no_capacity"), (20, "identified"), (55, "needs_assessment")
        )
        self.a5 = world.adoption
        self.backdate(self.a5, 150)
        self.a6 = self.open(self.i2, world.other_trust, 0)
        self.moves(self.a6, (40, "co_design"), (45, "not_progressed", "no_funding"))

    def backdate(self, adoption: Adoption, n: int) -> None:
        adoption.created_at = adoption.stage_entered_at = day(n)
        self.session.add(adoption)
        self.session.flush()

    def open(self, innovation: Innovation, adopter: Organisation, n: int) -> adoptions.Loaded:
        loaded = adoptions.create(
            self.session,
            self.admin,
            adoptions.AdoptionCreate(innovation_id=innovation.id, organisation_id=adopter.id),
        )
        self.backdate(loaded.adoption, n)
        return loaded

    def moves(self, loaded: adoptions.Loaded, *steps: tuple) -> None:
        for n, stage, *code in steps:
            pipeline.move(
                self.session,
                self.admin,
                loaded.adoption,
                pipeline.MoveRequest(
                    to_stage=stage,
                    reason="set up by the test",
                    reason_code=code[0] if code else None,
                    override=stage != "not_progressed",
                ),
                adopter_region=loaded.adopter_region,
                supplier_id=loaded.supplier_id,
                now=day(n),
            )

    def funnel(self, principal: Principal | None = None, **filters: object) -> analytics.FunnelPublic:
        return analytics.funnel(
            self.session,
            principal or self.admin,
            analytics.FunnelFilters(**filters),
            now=NOW,  # type: ignore[arg-type]
        )


@pytest.fixture
def exchange(session: Session, world: World) -> Exchange:
    return Exchange(session, world)


def stages(funnel: analytics.FunnelPublic) -> dict[str, int]:
    return {s.stage: s.adoptions for s in funnel.stages if s.adoptions}


def conversions(funnel: analytics.FunnelPublic) -> list[tuple[str, int, int, float | None]]:
    return [(c.from_stage, c.reached, c.went_on, c.rate) for c in funnel.conversions]


def times(funnel: analytics.FunnelPublic) -> dict[str, tuple[int, int | None, int | None]]:
    return {t.stage: (t.stays, t.median_days, t.p90_days) for t in funnel.time_in_stage}


def test_adoptions_per_stage(exchange: Exchange) -> None:
    funnel = exchange.funnel()
    assert funnel.adoptions == 6
    assert stages(funnel) == {
        "identified": 1,  # a5
        "needs_assessment": 1,  # a4
        "adopted": 1,  # a1
        "paused": 1,  # a3
        "not_progressed": 2,  # a2, a6
    }
    # Every stage is listed, in the pipeline's order.
    assert [s.stage for s in funnel.stages] == [s.key for s in pipeline.stages(exchange.session).ordered]


def test_conversion_counts_how_far_each_adoption_got(exchange: Exchange) -> None:
    # Furthest stage reached: a1 adopted; a2 needs assessment (then stopped);
    # a3 co-design (then back and paused); a4 needs assessment (stopped at
    # identified, reopened); a5 identified; a6 co-design (skipped needs
    # assessment: passing it counts).
    assert conversions(exchange.funnel()) == [
        ("identified", 6, 5, 0.833),  # all but a5
        ("needs_assessment", 5, 3, 0.6),  # a1, a3, a6 of a1, a2, a3, a4, a6
        ("co_design", 3, 1, 0.333),  # a1 of a1, a3, a6
        ("real_world_testing", 1, 1, 1.0),  # a1
        ("adopted", 1, 0, 0.0),  # a1 is not sustained
    ]


def test_time_in_stage_median_and_90th_percentile(exchange: Exchange) -> None:
    assert times(exchange.funnel()) == {
        # a4 3 and 35, a2 4, a1 10, a3 20, a6 40: sorted 3, 4, 10, 20, 35, 40;
        # half of 6 is the 3rd (10), nine tenths is 5.4, so the 6th (40).
        "identified": (6, 10, 40),
        # a3 1 and 4, a1 20, a2 20 (a4's is still going): the 2nd and the 4th.
        "needs_assessment": (4, 4, 20),
        # a6 5, a3 20, a1 30: the 2nd and the 3rd.
        "co_design": (3, 20, 30),
        "real_world_testing": (1, 40, 40),  # a1
        "adopted": (0, None, None),  # a1 is still there
        "sustained": (0, None, None),
        "paused": (0, None, None),  # a3 is still paused
    }


def test_time_in_stage_measures_each_stages_latest_stays(
    exchange: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analytics, "RECENT_STAYS", 1)
    measured = times(exchange.funnel())
    assert measured["identified"] == (1, 40, 40)  # a6's, the last made
    assert measured["needs_assessment"] == (1, 4, 4)  # a3's second
    assert measured["co_design"] == (1, 5, 5)  # a6's


def test_stuck_longest_leaves_out_the_adopted_and_the_stopped(exchange: Exchange) -> None:
    stuck = exchange.funnel().stuck
    assert [(s.adoption_id, s.stage, s.days_in_stage) for s in stuck] == [
        (exchange.a3.adoption.id, "paused", 150),
        (exchange.a4.adoption.id, "needs_assessment", 145),
        (exchange.a5.id, "identified", 50),
    ]
    assert stuck[0].innovation_name == "Text reminders"
    assert stuck[0].organisation_name == "Trust A"
    assert stuck[0].stage_entered_at == day(50)
    limited = analytics.funnel(
        exchange.session, exchange.admin, analytics.FunnelFilters(), stuck_limit=1, now=NOW
    )
    assert [s.adoption_id for s in limited.stuck] == [exchange.a3.adoption.id]


def test_where_adoptions_stop(exchange: Exchange) -> None:
    funnel = exchange.funnel()
    assert [(s.reason_code, s.stops) for s in funnel.stops] == [("no_funding", 2), ("no_capacity", 1)]
    # a4 from identified, a2 from needs assessment, a6 from co-design.
    assert [(s.stage, s.stops) for s in funnel.stops_by_stage] == [
        ("identified", 1),
        ("needs_assessment", 1),
        ("co_design", 1),
    ]


def test_filter_by_region(exchange: Exchange) -> None:
    funnel = exchange.funnel(region="london")  # a2, a4, a6
    assert funnel.adoptions == 3
    assert stages(funnel) == {"needs_assessment": 1, "not_progressed": 2}
    assert conversions(funnel) == [
        ("identified", 3, 3, 1.0),
        ("needs_assessment", 3, 1, 0.333),
        ("co_design", 1, 0, 0.0),
        ("real_world_testing", 0, 0, None),
        ("adopted", 0, 0, None),
    ]
    # identified: a2 4, a4 3 and 35, a6 40; needs assessment: a2 20.
    assert times(funnel)["identified"] == (4, 4, 40)
    assert times(funnel)["needs_assessment"] == (1, 20, 20)
    assert [s.adoption_id for s in funnel.stuck] == [exchange.a4.adoption.id]
    assert [(s.reason_code, s.stops) for s in funnel.stops] == [("no_funding", 2), ("no_capacity", 1)]


def test_filter_by_category_organisation_and_innovation(exchange: Exchange) -> None:
    digital = exchange.funnel(category="digital")  # a3, a4, a6
    assert stages(digital) == {"needs_assessment": 1, "paused": 1, "not_progressed": 1}
    assert [(s.reason_code, s.stops) for s in digital.stops] == [("no_capacity", 1), ("no_funding", 1)]

    at_a = exchange.funnel(organisation_id=exchange.a.id)  # a1, a3
    assert stages(at_a) == {"adopted": 1, "paused": 1}
    assert times(at_a)["identified"] == (2, 10, 20)  # a1 10, a3 20
    assert conversions(at_a)[1] == ("needs_assessment", 2, 2, 1.0)
    assert at_a.stops == []

    of_i1 = exchange.funnel(innovation_id=exchange.i1.id)  # a1, a2, a5
    assert stages(of_i1) == {"identified": 1, "adopted": 1, "not_progressed": 1}
    assert conversions(of_i1)[0] == ("identified", 3, 2, 0.667)


def test_each_sees_the_adoptions_the_list_shows_them(
    exchange: Exchange, session: Session, world: World
) -> None:
    # The world's supplier supplies I1: a1, a2 and a5.
    supplier = principal_for(session, world.keys["supplier"])
    assert stages(exchange.funnel(supplier)) == {"identified": 1, "adopted": 1, "not_progressed": 1}
    # Trust A sees its own: a1 and a3.
    trust_a = principal_for(session, make_key(session, exchange.a))
    assert stages(exchange.funnel(trust_a)) == {"adopted": 1, "paused": 1}
    # A facilitator sees them all, as an admin does.
    facilitator = principal_for(session, world.keys["facilitator"])
    assert exchange.funnel(facilitator).adoptions == 6
    # An organisation with no adoption sees nothing, not even the stops.
    stranger = principal_for(session, make_key(session, make_org(session, "icb", "midlands")))
    empty = exchange.funnel(stranger)
    assert empty.adoptions == 0
    assert empty.stuck == [] and empty.stops == [] and empty.stops_by_stage == []
    assert [c.rate for c in empty.conversions] == [None] * 5
    assert all(t.stays == 0 for t in empty.time_in_stage)


# --- how far each got, kept by the moves ------------------------------------


def furthest(session: Session, adoption: Adoption) -> str:
    """As stored: read back from the database, not the object in memory."""
    session.flush()
    return session.exec(select(Adoption.furthest_stage).where(Adoption.id == adoption.id)).one()


def test_each_adoption_keeps_the_furthest_stage_it_entered(exchange: Exchange) -> None:
    session = exchange.session
    assert [
        furthest(session, a)
        for a in (
            exchange.a1.adoption,
            exchange.a2.adoption,
            exchange.a3.adoption,
            exchange.a4.adoption,
            exchange.a5,
            exchange.a6.adoption,
        )
    ] == ["adopted", "needs_assessment", "co_design", "needs_assessment", "identified", "co_design"]


def test_pauses_stops_and_moves_back_keep_the_furthest_stage(exchange: Exchange) -> None:
    session, loaded = exchange.session, exchange.open(exchange.i2, exchange.world.trust, 0)
    seen = []
    for n, stage, *code in [
        (1, "needs_assessment"),
        (2, "paused"),  # off the line: not a stage reached
        (3, "identified"),  # resumed at an earlier stage
        (4, "co_design"),  # a skip
        (5, "needs_assessment"),  # back
        (6, "not_progressed", "no_capacity"),
        (7, "identified"),  # reopened
        (8, "needs_assessment"),
        (9, "co_design"),
        (10, "real_world_testing"),
    ]:
        exchange.moves(loaded, (n, stage, *code))
        seen.append(furthest(session, loaded.adoption))
    assert seen == [
        "needs_assessment",
        "needs_assessment",
        "needs_assessment",
        "co_design",
        "co_design",
        "co_design",
        "co_design",
        "co_design",
        "co_design",
        "real_world_testing",
    ]


def running_counts_agree(session: Session) -> bool:
    """Everyone's counts (on PostgreSQL the running sums of migration 0012)
    equal a grouped count of the adoptions (the path any filter takes)."""
    return analytics._counts(session, []) == analytics._counts(session, [true()])


def test_the_counts_for_everyone_follow_every_kind_of_write(exchange: Exchange) -> None:
    """Everyone's counts are, on PostgreSQL, the running sums its triggers
    keep (migration 0012): they must equal a grouped count of the adoptions
    after an import's bulk copy, rows added one by one, one statement
    changing many rows, a deletion, and the rows of differences folded into
    one per pair."""
    session = exchange.session
    assert running_counts_agree(session)
    sources, errors = imports.from_document(catalogue())  # PostgreSQL's COPY
    imports.run(session, exchange.admin, sources, errors=errors)
    assert running_counts_agree(session)
    extra = [exchange.open(exchange.i1, make_org(session, "nhs_trust", "london"), 0) for _ in range(3)]
    assert running_counts_agree(session)
    session.execute(
        update(Adoption)
        .where(col(Adoption.stage) == "identified")
        .values(stage="paused", furthest_stage="co_design")
    )
    assert running_counts_agree(session)
    session.execute(delete(Adoption).where(col(Adoption.id) == extra[0].adoption.id))
    assert running_counts_agree(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT adoption_stage_counts_fold()"))
        assert running_counts_agree(session)
        pairs = session.execute(text("SELECT count(*) FROM adoption_stage_counts")).scalar_one()
        assert pairs == len(session.execute(select(Adoption.stage, Adoption.furthest_stage).distinct()).all())
