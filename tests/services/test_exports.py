"""CSV exports: the same records as the lists (filters and visibility), in
columns a person reads, formulas neutralised, streamed batch by batch in
short sessions of their own."""

import csv
import io
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date
from functools import partial
from typing import Any

import anyio
import pytest
from sqlalchemy import event
from sqlmodel import Session

from app.auth import Principal
from app.db import Admission, Database
from app.errors import ValidationFailed
from app.services import adoptions, challenges, exports, innovations
from app.services.pagination import PageRequest
from tests.factories import (
    World,
    make_adoption,
    make_challenge,
    make_innovation,
    make_org,
    make_world,
    principal_for,
)

Opener = Callable[[], AbstractContextManager[Session]]


def read_all(session: Session, export: exports.Export, batch: int = 1000) -> list[dict[str, str]]:
    """Every row of the export, read in batches as the stream reads it."""
    rows, after = [], None
    while True:
        cells, after = exports.read_batch(session, export, after, batch)
        rows += cells
        if len(cells) < batch:
            break
    return [dict(zip(export.header, row, strict=True)) for row in rows]


def listed_ids(fetch: Callable[[PageRequest], Any]) -> list[str]:
    """Every id a list shows, page by page."""
    ids, page = [], PageRequest(limit=2)
    while True:
        result = fetch(page)
        ids += [str(item.id) for item in result.items]
        if result.next_cursor is None:
            return ids
        page = PageRequest(limit=2, cursor=result.next_cursor)


def collect(stream: AsyncIterator[bytes]) -> bytes:
    async def run() -> bytes:
        return b"".join([chunk async for chunk in stream])

    return anyio.run(run)


def parse(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


@pytest.fixture
def who(session: Session, world: World) -> Callable[[str], Principal]:
    return lambda key: principal_for(session, world.keys[key])


# --- cells -------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_starts_like_a_formula_is_made_plain_text(start: str) -> None:
    assert exports.neutralise(f"{start}SUM(A1:A9)") == f"'{start}SUM(A1:A9)"


@pytest.mark.parametrize("value", ["", "Plain words", "a=b", "'quoted", "3-5 days", "nhs@example.org"])
def test_other_cells_are_left_as_they_are(value: str) -> None:
    assert exports.neutralise(value) == value


def test_formulas_in_records_are_neutralised_in_the_file(
    session: Session, world: World, who: Callable[[str], Principal]
) -> None:
    make_innovation(
        session,
        world.supplier,
        name='=HYPERLINK("http://evil.example","Click")',
        summary="+44 0151 000 0000",
        cost_summary="-£5 a month",
        origin_use="@SUM(1,2)",
        description="\tindented",
    )
    export = exports.innovations_export(session, who("admin"), innovations.InnovationFilters())
    row = next(r for r in read_all(session, export) if r["Name"].startswith("'="))
    assert row["Name"] == """'=HYPERLINK("http://evil.example","Click")"""
    assert row["Summary"] == "'+44 0151 000 0000"
    assert row["Cost"] == "'-£5 a month"
    assert row["What it did there"] == "'@SUM(1,2)"
    assert row["Description"] == "'\tindented"


# --- innovations ----------------------------------------------------------------------


def test_innovations_have_a_header_and_readable_columns(
    session: Session, world: World, who: Callable[[str], Principal]
) -> None:
    innovation = make_innovation(
        session,
        world.supplier,
        name="Virtual ward kit",
        categories=["digital", "data_monitoring"],
        care_settings=["community", "primary_care"],
        maturity="ready",
        origin_sector="aerospace",
        evidence=[
            {"type": "real_world", "summary": "Two sites"},
            {"type": "clinical_or_care", "summary": "A trial"},
            {"type": "real_world", "summary": "A third site"},
        ],
        regulatory={"ukca_class": "class_iia", "dtac": True, "dcb0129": False},
        website="https://example.org/kit",
    )
    export = exports.innovations_export(session, who("trust"), innovations.InnovationFilters())
    assert export.header[:4] == ["Id", "Name", "Summary", "Supplier"]
    assert export.filename(date(2026, 11, 26)) == "innovations-2026-11-26.csv"
    row = next(r for r in read_all(session, export) if r["Id"] == str(innovation.id))
    assert row["Supplier"] == "NeedleSmart"
    assert row["Supplier id"] == str(world.supplier.id)
    assert row["Categories"] == "digital; data_monitoring"
    assert row["Care settings"] == "community; primary_care"
    assert row["Maturity"] == "ready"
    assert row["Status"] == "published"
    assert row["Evidence types"] == "real_world; clinical_or_care"
    assert (row["UKCA or CE class"], row["DTAC passed"], row["DCB0129 in place"]) == (
        "class_iia",
        "yes",
        "no",
    )
    assert row["Website"] == "https://example.org/kit"
    created = innovation.created_at.isoformat(timespec="seconds").replace("+00:00", "Z")
    assert row["Created"] == created and created.endswith("Z")


def test_innovations_are_those_the_list_shows_with_the_same_filters(
    session: Session, world: World, who: Callable[[str], Principal]
) -> None:
    other_supplier = make_org(session, "supplier", "london", name="Other Supplier")
    make_innovation(session, world.supplier, name="Own draft telehealth", status="draft")
    make_innovation(session, other_supplier, name="Their draft telehealth", status="draft")
    make_innovation(
        session, other_supplier, name="Digital telehealth", categories=["digital"], maturity="ready"
    )
    make_innovation(session, world.supplier, name="Archived gadget", status="archived")
    cases = [
        innovations.InnovationFilters(),
        innovations.InnovationFilters(q="telehealth"),
        innovations.InnovationFilters(category="digital"),
        innovations.InnovationFilters(status="draft"),
        innovations.InnovationFilters(maturity="ready", supplier_id=other_supplier.id),
    ]
    for key in ("supplier", "trust", "facilitator", "admin"):
        principal = who(key)
        for filters in cases:
            export = exports.innovations_export(session, principal, filters)
            exported = [row["Id"] for row in read_all(session, export, batch=2)]
            listed = listed_ids(partial(innovations.list_, session, principal, filters))
            assert exported == listed, (key, filters)
    names = {
        r["Name"] for r in read_all(session, exports.innovations_export(session, who("trust"), cases[0]))
    }
    assert "Their draft telehealth" not in names and "Own draft telehealth" not in names
    names = {
        r["Name"] for r in read_all(session, exports.innovations_export(session, who("supplier"), cases[0]))
    }
    assert "Own draft telehealth" in names and "Their draft telehealth" not in names


# --- challenges ------------------------------------------------------------------------


def test_challenges_have_readable_columns_and_iso_dates(
    session: Session, world: World, who: Callable[[str], Principal]
) -> None:
    challenge = make_challenge(
        session,
        world.trust,
        title="Fewer missed appointments",
        categories=["digital"],
        care_settings=["acute_outpatient", "community"],
        budget_min=10_000,
        budget_max=50_000,
        opens_on="2026-12-01",
        closes_on="2027-02-28",
    )
    export = exports.challenges_export(session, who("supplier"), challenges.ChallengeFilters())
    row = next(r for r in read_all(session, export) if r["Id"] == str(challenge.id))
    assert row["Title"] == "Fewer missed appointments"
    assert row["Organisation"] == "Liverpool University Hospitals"
    assert row["Region"] == "north_west"
    assert row["Care settings"] == "acute_outpatient; community"
    assert (row["Lowest budget (£)"], row["Highest budget (£)"]) == ("10000", "50000")
    assert (row["Opens"], row["Closes"]) == ("2026-12-01", "2027-02-28")
    assert row["Status"] == "open"


def test_challenges_are_those_the_list_shows_with_the_same_filters(
    session: Session, world: World, who: Callable[[str], Principal]
) -> None:
    make_challenge(session, world.trust, title="Own draft on falls", status="draft")
    make_challenge(session, world.other_trust, title="Their draft on falls", status="draft")
    make_challenge(session, world.other_trust, title="Open call on falls", categories=["digital"])
    make_challenge(session, world.trust, title="Closed call on sepsis", status="closed")
    cases = [
        challenges.ChallengeFilters(),
        challenges.ChallengeFilters(q="falls"),
        challenges.ChallengeFilters(status="draft"),
        challenges.ChallengeFilters(category="digital"),
        challenges.ChallengeFilters(owner_id=world.trust.id),
    ]
    for key in ("trust", "other_trust", "supplier", "facilitator"):
        principal = who(key)
        for filters in cases:
            export = exports.challenges_export(session, principal, filters)
            exported = [row["Id"] for row in read_all(session, export, batch=3)]
            listed = listed_ids(partial(challenges.list_, session, principal, filters))
            assert exported == listed, (key, filters)
    titles = {
        r["Title"] for r in read_all(session, exports.challenges_export(session, who("trust"), cases[2]))
    }
    assert titles == {"Own draft on falls"}


# --- adoptions --------------------------------------------------------------------------


def test_adoptions_name_the_innovation_organisations_stage_and_challenge(
    session: Session, world: World, who: Callable[[str], Principal]
) -> None:
    challenge = make_challenge(session, world.trust, title="Safer sharps")
    innovation = make_innovation(session, world.supplier, name="Sharps safe")
    adoption = make_adoption(
        session,
        innovation,
        world.trust,
        stage="real_world_testing",
        gate={"funding_source": "Trust innovation fund"},
        challenge_id=challenge.id,
        lead={"name": "Dr Asha Patel", "email": "asha.patel@nhs.net"},
        notes="Ward 4 first",
    )
    export = exports.adoptions_export(session, who("trust"), adoptions.AdoptionFilters())
    row = next(r for r in read_all(session, export) if r["Id"] == str(adoption.id))
    assert row["Innovation"] == "Sharps safe"
    assert row["Supplier"] == "NeedleSmart"
    assert row["Adopting organisation"] == "Liverpool University Hospitals"
    assert (row["Kind of organisation"], row["Region"]) == ("nhs_trust", "north_west")
    assert row["Stage"] == "Real-world testing"
    assert row["In stage since"].endswith("Z")
    assert (row["Adoption lead"], row["Adoption lead email"]) == ("Dr Asha Patel", "asha.patel@nhs.net")
    assert (row["Challenge"], row["Challenge id"]) == ("Safer sharps", str(challenge.id))
    assert row["Funding source"] == "Trust innovation fund"
    assert row["Notes"] == "Ward 4 first"
    assert (row["Paused from"], row["Adopted"]) == ("", "")


def test_adoptions_are_those_the_list_shows_with_the_same_filters(
    session: Session, world: World, who: Callable[[str], Principal]
) -> None:
    digital = make_innovation(session, world.supplier, name="App", categories=["digital"])
    other_supplier = make_org(session, "supplier", "london")
    theirs = make_innovation(session, other_supplier, name="Theirs")
    make_adoption(session, digital, world.trust, stage="co_design")
    make_adoption(session, digital, world.other_trust)
    make_adoption(session, theirs, world.other_trust, stage="needs_assessment", gate={"champion": "A lead"})
    make_adoption(session, theirs, world.trust)
    cases = [
        adoptions.AdoptionFilters(),
        adoptions.AdoptionFilters(stage="co_design"),
        adoptions.AdoptionFilters(region="london"),
        adoptions.AdoptionFilters(innovation_id=digital.id),
        adoptions.AdoptionFilters(organisation_id=world.trust.id),
    ]
    for key in ("trust", "other_trust", "supplier", "facilitator", "admin"):
        principal = who(key)
        for filters in cases:
            export = exports.adoptions_export(session, principal, filters)
            exported = [row["Id"] for row in read_all(session, export, batch=2)]
            listed = listed_ids(partial(adoptions.list_, session, principal, filters))
            assert exported == listed, (key, filters)
    # Visibility in plain terms: the supplier sees its innovations' adoptions
    # anywhere, the London trust its own and no one else's.
    seen = read_all(session, exports.adoptions_export(session, who("supplier"), cases[0]))
    assert {r["Innovation"] for r in seen} == {"Heat-based sharps destruction", "App"}
    seen = read_all(session, exports.adoptions_export(session, who("other_trust"), cases[0]))
    assert {r["Adopting organisation"] for r in seen} == {"Guy's and St Thomas'"}


def test_adoptions_filter_by_the_innovations_category_as_the_board_does(
    session: Session, world: World, who: Callable[[str], Principal]
) -> None:
    digital = make_innovation(session, world.supplier, name="App", categories=["digital", "ai"])
    make_adoption(session, digital, world.trust)
    filters = adoptions.AdoptionFilters(category="ai")
    rows = read_all(session, exports.adoptions_export(session, who("facilitator"), filters))
    assert [r["Innovation"] for r in rows] == ["App"]
    board = adoptions.BoardFilters(category="ai")
    assert sum(adoptions.board_counts(session, who("facilitator"), board).values()) == len(rows)


def test_a_stage_that_does_not_exist_is_refused_before_anything_is_streamed(
    session: Session, world: World, who: Callable[[str], Principal]
) -> None:
    with pytest.raises(ValidationFailed):
        exports.adoptions_export(session, who("admin"), adoptions.AdoptionFilters(stage="launched"))


# --- streaming ---------------------------------------------------------------------------


def many_adoptions(session: Session, world: World, count: int) -> None:
    innovation = make_innovation(session, world.supplier, name="Widely adopted")
    for index in range(count):
        make_adoption(session, innovation, make_org(session, "primary_care", name=f"Practice {index:03}"))


@contextmanager
def counting_statements(session: Session) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM adoptions" in statement:
            statements.append(statement)

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_the_stream_yields_each_batch_before_reading_the_next(
    session: Session, world: World, database: Database, who: Callable[[str], Principal]
) -> None:
    many_adoptions(session, world, 24)  # 25 with the world's own
    export = exports.adoptions_export(session, who("admin"), adoptions.AdoptionFilters())
    opened: list[int] = []

    def opener() -> AbstractContextManager[Session]:
        opened.append(1)
        return nullcontext(session)

    async def run() -> list[tuple[int, bytes]]:
        stream = exports.stream(opener, Admission(database), export, batch=10)
        return [(len(opened), chunk) async for chunk in stream]

    with counting_statements(session) as statements:
        chunks = anyio.run(run)
    # The header before any read; then each batch of 10 as soon as it is read,
    # each in its own session, by a query that fetches at most 10 rows.
    assert [sessions for sessions, _ in chunks] == [0, 1, 2, 3]
    assert [len(parse(chunk)) for _, chunk in chunks] == [1, 10, 10, 5]
    assert len(statements) == 3 and all("LIMIT" in s for s in statements)
    rows = parse(b"".join(chunk for _, chunk in chunks))
    assert rows[0] == export.header and len(rows) == 26
    assert len({row[0] for row in rows[1:]}) == 25
    assert [row[0] for row in rows[1:]] == sorted(row[0] for row in rows[1:])


def test_the_stream_ends_with_an_empty_batch_when_the_rows_fill_the_last_one(
    session: Session, world: World, database: Database, who: Callable[[str], Principal]
) -> None:
    many_adoptions(session, world, 9)  # 10 with the world's own
    export = exports.adoptions_export(session, who("admin"), adoptions.AdoptionFilters())
    body = collect(exports.stream(lambda: nullcontext(session), Admission(database), export, batch=5))
    assert len(parse(body)) == 11


def test_the_web_download_starts_with_a_byte_order_mark_for_excel(
    session: Session, world: World, database: Database, who: Callable[[str], Principal]
) -> None:
    export = exports.challenges_export(session, who("admin"), challenges.ChallengeFilters())
    body = collect(exports.stream(lambda: nullcontext(session), Admission(database), export, bom=True))
    assert body.startswith(b"\xef\xbb\xbfId,Title,")
    plain = collect(exports.stream(lambda: nullcontext(session), Admission(database), export))
    assert plain.startswith(b"Id,Title,")


# --- its own sessions, on a database with real commits -------------------------------------


def test_a_stream_closed_early_holds_no_connection_and_no_lock(fresh_database: Database) -> None:
    with fresh_database.transaction() as setup:
        world = make_world(setup)
        many_adoptions(setup, world, 30)
        admin = principal_for(setup, world.keys["admin"])
    with fresh_database.session(write=False) as request_session:
        export = exports.adoptions_export(request_session, admin, adoptions.AdoptionFilters())

    def opener() -> AbstractContextManager[Session]:
        return fresh_database.session(write=False)

    async def run() -> tuple[list[bytes], float]:
        stream = exports.stream(opener, Admission(fresh_database), export, batch=10)
        chunks = [await anext(stream), await anext(stream)]  # the header, one batch
        # Mid-stream (a client reading slowly): nothing is checked out, and a
        # writer commits at once (on SQLite it would wait for a held lock).
        assert fresh_database.read_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        started = time.monotonic()
        with fresh_database.transaction() as writer:
            make_org(writer, "primary_care", name="Written while streaming")
        waited = time.monotonic() - started
        await stream.aclose()  # the client went away
        return chunks, waited

    chunks, waited = anyio.run(run)
    assert len(parse(chunks[1])) == 10
    assert waited < 2
    assert fresh_database.read_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert fresh_database.write_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
