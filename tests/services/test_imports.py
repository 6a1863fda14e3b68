"""The bulk import (API.md, "Bulk import"; app/services/imports.py): refs
within the file and to the owner's own records, every error at its place,
all or nothing, a second run that changes nothing, the services' own
permission checks, adoptions moved by the pipeline's rules, CSV as JSON."""

import io
import uuid
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from app import nul_characters
from app.auth import Principal
from app.errors import ValidationFailed
from app.models import Adoption, Challenge, Event, Innovation, InnovationFacet, Organisation, Transition
from app.models.imports import ImportResult
from app.models.vocabulary import Role, Scope
from app.services import events, imports
from tests.factories import World, admin_principal, principal_for

TABLES: tuple[type[SQLModel], ...] = (
    Organisation,
    Innovation,
    InnovationFacet,
    Challenge,
    Adoption,
    Transition,
    Event,
)


def run(session: Session, principal: Principal, document: Any) -> ImportResult:
    sources, errors = imports.from_document(document)
    return imports.run(session, principal, sources, errors=errors)


def failing(session: Session, principal: Principal, document: Any) -> list[dict[str, str]]:
    """The errors of an import that must fail; it writes nothing (its savepoint is rolled back)."""
    before = rows(session)
    with pytest.raises(ValidationFailed) as raised, session.begin_nested():
        run(session, principal, document)
    assert rows(session) == before
    return [dict(error) for error in raised.value.errors]


def rows(session: Session) -> dict[str, int]:
    return {model.__name__: session.exec(select(func.count()).select_from(model)).one() for model in TABLES}


def fields(errors: list[dict[str, str]]) -> set[str]:
    return {error["field"] for error in errors}


def counts(result: ImportResult) -> dict[str, tuple[int, int, int]]:
    return {
        kind: (result.of(kind).created, result.of(kind).updated, result.of(kind).unchanged)
        for kind in imports.KINDS
    }


@pytest.fixture
def admin(world: World) -> Principal:
    return admin_principal(world.exchange)


def catalogue() -> dict[str, Any]:
    return {
        "organisations": [
            {"external_ref": "org-sup", "name": "Thermal Ltd", "kind": "supplier", "region": "north_west"},
            {
                "external_ref": "org-trust",
                "name": "Wirral Trust",
                "kind": "nhs_trust",
                "region": "north_west",
            },
        ],
        "innovations": [
            {
                "external_ref": "inn-1",
                "name": "Induction sharps destroyer",
                "summary": "Melts needles in seconds.",
                "supplier_ref": "org-sup",
                "categories": ["medical_device"],
                "care_settings": ["acute_inpatient", "community"],
                "status": "published",
            }
        ],
        "challenges": [
            {
                "external_ref": "ch-1",
                "title": "Safer sharps",
                "problem_statement": "Needlestick injuries.",
                "owner_ref": "org-trust",
                "status": "open",
                "budget_min": 1000,
                "budget_max": 5000,
            }
        ],
        "adoptions": [
            {
                "external_ref": "ad-1",
                "innovation_ref": "inn-1",
                "organisation_ref": "org-trust",
                "challenge_ref": "ch-1",
                "lead": {"name": "Dr Asha Patel", "email": "asha.patel@nhs.example"},
                "gate": {"evidence_reviewed": True},
                "stage": "co_design",
            }
        ],
    }


def test_an_import_makes_every_kind_with_refs_events_and_a_transition(
    session: Session, admin: Principal
) -> None:
    result = run(session, admin, catalogue())
    assert counts(result) == {
        "organisations": (2, 0, 0),
        "innovations": (1, 0, 0),
        "challenges": (1, 0, 0),
        "adoptions": (1, 0, 0),
    }
    owned = select(Innovation).where(
        Innovation.owner_org_id == admin.organisation_id, Innovation.external_ref == "inn-1"
    )
    innovation = session.exec(owned).one()
    supplier = session.exec(select(Organisation).where(Organisation.external_ref == "org-sup")).one()
    assert innovation.supplier_id == supplier.id and supplier.owner_org_id == admin.organisation_id
    facets = session.exec(
        select(InnovationFacet.value).where(InnovationFacet.innovation_id == innovation.id)
    ).all()
    assert sorted(facets) == ["acute_inpatient", "community", "medical_device"]

    adoption = session.exec(select(Adoption).where(Adoption.external_ref == "ad-1")).one()
    challenge = session.exec(select(Challenge).where(Challenge.external_ref == "ch-1")).one()
    assert (adoption.stage, adoption.challenge_id, adoption.lead_name, adoption.version) == (
        "co_design",
        challenge.id,
        "Dr Asha Patel",
        2,
    )
    assert adoption.furthest_stage == "co_design"  # written with the row, as a move keeps it
    # A skip of needs_assessment with the co_design gate unmet: the admin's override, recorded.
    transition = session.exec(select(Transition).where(Transition.adoption_id == adoption.id)).one()
    assert (transition.from_stage, transition.to_stage, transition.reason, transition.override) == (
        "identified",
        "co_design",
        "imported",
        True,
    )
    kinds = session.exec(
        select(Event.type)
        .where(col(Event.resource_id).in_([adoption.id, innovation.id]))
        .order_by(col(Event.id))
    ).all()
    assert kinds == ["innovation.created", "adoption.created", "adoption.stage_changed"]
    created = session.exec(
        select(Event).where(Event.type == "adoption.created", Event.resource_id == adoption.id)
    ).one()
    assert (created.data["stage"], created.data["version"], created.restricted) == ("identified", 1, True)
    assert created.actor == admin.label


def test_a_second_identical_run_changes_nothing_and_writes_no_event(
    session: Session, admin: Principal
) -> None:
    run(session, admin, catalogue())
    before = rows(session)
    again = run(session, admin, catalogue())
    assert counts(again) == {
        "organisations": (0, 0, 2),
        "innovations": (0, 0, 1),
        "challenges": (0, 0, 1),
        "adoptions": (0, 0, 1),
    }
    assert rows(session) == before


def test_a_changed_record_is_updated_versioned_and_evented(session: Session, admin: Principal) -> None:
    run(session, admin, catalogue())
    changed = catalogue()
    changed["innovations"][0]["care_settings"] = ["mental_health"]
    changed["adoptions"][0]["gate"] = {"cost_reviewed": True}
    changed["adoptions"][0]["stage"] = "real_world_testing"
    events_before = rows(session)["Event"]
    result = run(session, admin, changed)
    assert counts(result)["innovations"] == (0, 1, 0)
    assert counts(result)["adoptions"] == (0, 1, 0)
    innovation = session.exec(select(Innovation).where(Innovation.external_ref == "inn-1")).one()
    assert (innovation.version, innovation.care_settings) == (2, ["mental_health"])
    facets = session.exec(
        select(InnovationFacet.value).where(InnovationFacet.innovation_id == innovation.id)
    ).all()
    assert sorted(facets) == ["medical_device", "mental_health"]
    adoption = session.exec(select(Adoption).where(Adoption.external_ref == "ad-1")).one()
    # The gate merges by key, as a PATCH does; then the move.
    assert adoption.gate == {"evidence_reviewed": True, "cost_reviewed": True}
    assert (adoption.stage, adoption.version) == ("real_world_testing", 4)
    assert adoption.furthest_stage == "real_world_testing"
    assert rows(session)["Event"] == events_before + 3  # innovation.updated, adoption.updated, stage_changed


def test_an_error_in_the_last_record_writes_nothing(
    session: Session, admin: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks: the first ones are written before the bad record is met, and rolled back with it.
    monkeypatch.setattr(imports, "CHUNK", 7)
    document = catalogue()
    document["innovations"] = [
        {**document["innovations"][0], "external_ref": f"inn-{i}", "name": f"Device {i}"} for i in range(40)
    ]
    document["innovations"][-1]["maturity"] = "ancient"
    errors = failing(session, admin, document)
    assert fields(errors) == {"innovations[39].maturity"}


def test_every_error_is_found_and_placed(session: Session, admin: Principal) -> None:
    document = catalogue()
    document["organisations"].append({"name": "No ref", "kind": "charity"})
    document["organisations"].append({"external_ref": "org-sup", "name": "Twice", "kind": "supplier"})
    document["innovations"].append(
        {
            "external_ref": "inn-2",
            "name": "Bad",
            "summary": "Bad settings",
            "supplier_ref": "org-nobody",
            "care_settings": ["community", "moon_base"],
            "evidence": [{"type": "rumour", "summary": "x"}],
        }
    )
    document["adoptions"][0]["gate"] = {"evidence_reviewed": "yes", "not_an_item": 1}
    document["adoptions"].append(
        {
            "external_ref": "ad-2",
            "innovation_ref": "inn-1",
            "organisation_ref": "org-trust",
            "stage": "launched",
        }
    )
    document["adoptions"].append(
        {
            "external_ref": "ad-3",
            "innovation_id": str(uuid.uuid4()),
            "organisation_ref": "org-sup",
            "lead": {"name": "X", "email": "nope"},
        }
    )
    document["widgets"] = []
    errors = failing(session, admin, document)
    assert fields(errors) == {
        "widgets",
        "organisations[2].external_ref",
        "organisations[3].external_ref",
        "innovations[1].supplier_ref",
        "innovations[1].care_settings[1]",
        "innovations[1].evidence[0].type",
        "adoptions[0].gate.evidence_reviewed",
        "adoptions[0].gate.not_an_item",
        "adoptions[1].stage",
        "adoptions[2].innovation_id",
        "adoptions[2].lead.email",
    }
    assert "Also at organisations[0]" in next(
        e["message"] for e in errors if e["field"] == "organisations[3].external_ref"
    )


def test_a_reference_finds_the_owners_existing_records(session: Session, admin: Principal) -> None:
    run(session, admin, {"organisations": catalogue()["organisations"]})
    result = run(session, admin, {"innovations": catalogue()["innovations"]})
    assert counts(result)["innovations"] == (1, 0, 0)
    # Another owner's refs are not the caller's: a facilitator's key names no "org-sup" of its own.
    network = principal_for_network(session)
    errors = failing(
        session, network, {"innovations": [{**catalogue()["innovations"][0], "external_ref": "x"}]}
    )
    assert fields(errors) == {"innovations[0].supplier_ref"}


def principal_for_network(session: Session) -> Principal:
    network = session.exec(
        select(Organisation).where(Organisation.kind == "health_innovation_network")
    ).first()
    assert network is not None
    return Principal(
        organisation_id=network.id,
        organisation_kind=network.kind,
        region=network.region,
        role=Role.facilitator,
        scopes=frozenset({Scope.read, Scope.write}),
        label="network",
    )


def test_permissions_are_the_services_own(session: Session, world: World) -> None:
    supplier = principal_for(session, world.keys["supplier"])
    own = {"external_ref": "mine", "name": "Mine", "summary": "Ours.", "supplier_id": str(world.supplier.id)}
    others = {**own, "external_ref": "theirs", "supplier_id": str(world.trust.id)}
    errors = failing(
        session,
        supplier,
        {
            "innovations": [own, others],
            "organisations": [{"external_ref": "o", "name": "O", "kind": "charity"}],
        },
    )
    assert {(e["field"], e["message"]) for e in errors} == {
        ("organisations[0]", "Only the exchange's admins may do this."),
        (
            "innovations[1].supplier_id",
            "A supplier creates innovations for itself; facilitators and admins for anyone.",
        ),
    }
    assert counts(run(session, supplier, {"innovations": [own]}))["innovations"] == (1, 0, 0)


def test_an_adopter_moves_only_as_the_rules_allow(session: Session, world: World) -> None:
    trust = principal_for(session, world.keys["trust"])
    record = {
        "external_ref": "ours",
        "innovation_id": str(world.innovation.id),
        "organisation_id": str(world.other_trust.id),
    }
    errors = failing(session, trust, {"adoptions": [record]})
    assert fields(errors) == {"adoptions[0]"}  # another trust's adoption: not the trust's to open
    skip = {**record, "organisation_id": str(world.trust.id), "external_ref": "skip", "stage": "co_design"}
    other = make_other_innovation(session, world)
    errors = failing(session, trust, {"adoptions": [{**skip, "innovation_id": str(other.id)}]})
    assert fields(errors) == {"adoptions[0].stage"}
    assert "one stage at a time" in errors[0]["message"]
    forward = {
        **skip,
        "innovation_id": str(other.id),
        "stage": "needs_assessment",
        "lead": {"name": "Dr Asha Patel", "email": "asha@nhs.example"},
    }
    run(session, trust, {"adoptions": [forward]})
    adoption = session.exec(select(Adoption).where(Adoption.external_ref == "skip")).one()
    transition = session.exec(select(Transition).where(Transition.adoption_id == adoption.id)).one()
    assert (adoption.stage, transition.override, transition.reason) == ("needs_assessment", False, "imported")


def make_other_innovation(session: Session, world: World) -> Innovation:
    from tests.factories import make_innovation

    return make_innovation(session, world.supplier, name="Another device")


def test_one_adoption_per_innovation_and_organisation(
    session: Session, admin: Principal, world: World
) -> None:
    record = {"innovation_id": str(world.innovation.id), "organisation_id": str(world.trust.id)}
    errors = failing(session, admin, {"adoptions": [{**record, "external_ref": "dup"}]})
    assert errors == [
        {
            "field": "adoptions[0].organisation_id",
            "message": "This organisation already has an adoption of this innovation.",
        }
    ]


def test_not_progressed_needs_a_reason_code(session: Session, admin: Principal) -> None:
    document = catalogue()
    document["adoptions"][0]["stage"] = "not_progressed"
    errors = failing(session, admin, document)
    assert fields(errors) == {"adoptions[0].reason_code"}
    document = catalogue()  # an import consumes its lists
    document["adoptions"][0].update(stage="not_progressed", reason_code="no_funding")
    run(session, admin, document)
    adoption = session.exec(select(Adoption).where(Adoption.external_ref == "ad-1")).one()
    assert adoption.stage == "not_progressed"


def test_csv_rows_are_placed_by_file_and_line(session: Session, admin: Principal) -> None:
    organisations = (
        "external_ref,name,kind,region,ods_code\n"
        "org-sup,Thermal Ltd,supplier,north_west,\n"
        "org-trust,Trust,nhs_trust,,\n"
    )
    innovations = (
        "external_ref,name,summary,supplier_ref,categories,care_settings,regulatory\n"
        'inn-1,Device,"A device,\nover two lines",org-sup,digital; ai,community,\n'
        "inn-2,Bad,Bad,org-sup,digital,moon_base,{not json\n"
        "inn-3,Bad,Bad,org-none,digital,community,\n"
    )
    adoptions = (
        "external_ref,innovation_ref,organisation_ref,lead_name,lead_email,stage\n"
        "ad-1,inn-1,org-trust,Asha,not-an-email,\n"
    )
    sources = {
        "organisations": [imports.from_csv("organisations", "organisations.csv", io.StringIO(organisations))],
        "innovations": [imports.from_csv("innovations", "innovations.csv", io.StringIO(innovations))],
        "adoptions": [imports.from_csv("adoptions", "adoptions.csv", io.StringIO(adoptions))],
    }
    with pytest.raises(ValidationFailed) as raised, session.begin_nested():
        imports.run(session, admin, sources)
    assert fields([dict(e) for e in raised.value.errors]) == {
        "innovations.csv:4 regulatory",
        "innovations.csv:5 supplier_ref",
        "adoptions.csv:2 lead_email",
    }


def test_csv_imports_what_json_does(session: Session, admin: Principal) -> None:
    buffers = {}
    for kind, records in catalogue().items():
        buffers[kind] = io.StringIO()
        imports.write_csv(kind, records, buffers[kind])
        buffers[kind].seek(0)
    sources = {kind: [imports.from_csv(kind, f"{kind}.csv", buffer)] for kind, buffer in buffers.items()}
    result = imports.run(session, admin, sources)
    assert counts(result) == {kind: (1 if kind != "organisations" else 2, 0, 0) for kind in imports.KINDS}
    assert counts(run(session, admin, catalogue())) == {
        kind: (0, 0, 1 if kind != "organisations" else 2) for kind in imports.KINDS
    }


def test_export_writes_refs_that_import_reads_back(session: Session, admin: Principal, world: World) -> None:
    run(session, admin, catalogue())
    exported = {kind: list(imports.export(session, admin, kind)) for kind in imports.KINDS}
    ours = next(r for r in exported["adoptions"] if r["external_ref"] == "ad-1")
    assert ours == {
        "external_ref": "ad-1",
        "innovation_ref": "inn-1",
        "organisation_ref": "org-trust",
        "challenge_ref": "ch-1",
        "lead": {"name": "Dr Asha Patel", "email": "asha.patel@nhs.example"},
        "gate": {"evidence_reviewed": True},
        "notes": "",
        "stage": "co_design",
        "reason_code": None,
    }
    # The world's records are not the admin's own: they are named by id, and the exchange is left out.
    names = {r["name"] for r in exported["organisations"]}
    assert "Health Innovation Exchange" not in names
    world_adoption = next(r for r in exported["adoptions"] if r["external_ref"] == str(world.adoption.id))
    assert world_adoption["innovation_ref"] == str(world.innovation.id)
    # Read back by the same admin, its own records are the ones it has, unchanged.
    own = {kind: [r for r in records if not is_id(r["external_ref"])] for kind, records in exported.items()}
    result = run(session, admin, own)
    assert all(result.of(kind).created == result.of(kind).updated == 0 for kind in imports.KINDS)


def test_ten_thousand_records_import(session: Session, admin: Principal) -> None:
    # How fast: bench/import_speed.py (no timed assertions here: the machine is shared).
    document = {
        "organisations": [
            {"external_ref": f"org-{i}", "name": f"Supplier {i}", "kind": "supplier", "region": "london"}
            for i in range(1000)
        ],
        "innovations": [
            {
                "external_ref": f"inn-{i}",
                "name": f"Device {i}",
                "summary": "A device.",
                "supplier_ref": f"org-{i % 1000}",
                "categories": ["digital"],
                "care_settings": ["community"],
                "status": "published",
            }
            for i in range(4500)
        ],
        "adoptions": [
            {
                "external_ref": f"ad-{i}",
                "innovation_ref": f"inn-{i}",
                "organisation_ref": f"org-{(i + 1) % 1000}",
            }
            for i in range(4500)
        ],
    }
    result = run(session, admin, document)
    assert counts(result) == {
        "organisations": (1000, 0, 0),
        "innovations": (4500, 0, 0),
        "challenges": (0, 0, 0),
        "adoptions": (4500, 0, 0),
    }
    owned = select(func.count()).select_from(Adoption).where(Adoption.owner_org_id == admin.organisation_id)
    assert session.exec(owned).one() == 4500


def is_id(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def test_an_import_announces_its_events_for_the_change_feeds_order(
    session: Session, admin: Principal
) -> None:
    """On PostgreSQL its COPY of events announces the transaction as every
    event write does (app/services/events.py); SQLite needs no announcement."""
    session.info.pop(events._ANNOUNCED, None)  # the world's own events announced already
    run(session, admin, catalogue())
    announced = session.info.get(events._ANNOUNCED)
    assert (announced is not None) == (session.get_bind().dialect.name == "postgresql")


def test_a_nul_character_is_an_error_at_its_place(session: Session, admin: Principal) -> None:
    # Checked while validating: PostgreSQL's COPY and SQLite's executemany go around the
    # statement hook of app/nul_characters.py, and PostgreSQL would fail the statement.
    document = catalogue()
    document["innovations"][0]["name"] = "Induction\x00 destroyer"
    document["innovations"][0]["evidence"] = [{"type": "clinical_or_care", "summary": "a\x00b"}]
    document["adoptions"][0]["lead"] = {"name": "Dr\x00 Patel", "email": "asha.patel@nhs.example"}
    document["adoptions"][0]["gate"] = {"champion": "Dr\x00 Patel"}
    errors = failing(session, admin, document)
    assert fields(errors) == {
        "innovations[0].name",
        "innovations[0].evidence[0].summary",
        "adoptions[0].lead.name",
        "adoptions[0].gate.champion",
    }
    assert {error["message"] for error in errors} == {nul_characters.MESSAGE}


def test_a_nul_character_in_csv_is_placed_by_file_line_and_column(session: Session, admin: Principal) -> None:
    organisations = "external_ref,name,kind,region,ods_code\norg-sup,Thermal\x00 Ltd,supplier,north_west,\n"
    sources = {
        "organisations": [imports.from_csv("organisations", "organisations.csv", io.StringIO(organisations))]
    }
    with pytest.raises(ValidationFailed) as raised, session.begin_nested():
        imports.run(session, admin, sources)
    assert fields([dict(e) for e in raised.value.errors]) == {"organisations.csv:2 name"}


def connection_setting(session: Session) -> Any:
    """What the import sets for its long transaction: SQLite's page cache,
    PostgreSQL's threshold for server-side prepared statements."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return connection.connection.driver_connection.prepare_threshold  # type: ignore[union-attr]
    return connection.exec_driver_sql("PRAGMA cache_size").scalar_one()


def test_the_import_tunes_its_connection_and_gives_it_back(session: Session, admin: Principal) -> None:
    before = connection_setting(session)
    during = []
    sources, _ = imports.from_document(catalogue())
    imports.run(session, admin, sources, progress=lambda *_: during.append(connection_setting(session)))
    if session.get_bind().dialect.name == "postgresql":
        # Each chunk's lookups planned for the table as it is then, never a
        # generic plan made while the import's tables were empty.
        assert set(during) == {None}
    else:
        assert set(during) == {-imports.SQLITE_CACHE_KIB}
    assert connection_setting(session) == before


def test_a_chunks_lookup_by_ref_probes_the_index_once_per_ref(session: Session, admin: Principal) -> None:
    """Each chunk's look-up of the owner's records by ref is a probe of the
    (owner, ref) index per ref. On PostgreSQL the planner, not yet knowing
    the import's own rows, read every row of the owner's and kept those
    with the chunk's refs, so each chunk read all the chunks before it: the
    look-up is now said so that no statistics can turn it into that scan."""
    run(session, admin, catalogue())
    importer = imports.Importer(session, admin, None)
    table = Adoption.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect
    stmt = importer._owned(table, table.columns, ["ad-1", "ad-2"])
    sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    if dialect.name == "postgresql":
        plan = session.connection().exec_driver_sql(f"EXPLAIN {sql}").scalars().all()
        probes = [line for line in plan if "Index Cond" in line]
    else:
        plan = [row[3] for row in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
        probes = [line for line in plan if "USING INDEX" in line]
    assert any("owner_org_id" in line and "external_ref" in line for line in probes), plan


def test_json_columns_keep_every_value_as_it_was_given(session: Session, admin: Principal) -> None:
    """The import writes JSON columns with orjson: text past ASCII, escapes
    and control characters come back as they went in; integers past 64 bits,
    which orjson refuses, are written by json.dumps."""
    text = 'Évidence "quoted"\t\\ \n🩺'
    document = catalogue()
    document["innovations"][0]["evidence"] = [{"type": "clinical_or_care", "summary": text}]
    document["adoptions"][0]["gate"] = {"champion": text}
    run(session, admin, document)
    innovation = session.exec(select(Innovation).where(Innovation.external_ref == "inn-1")).one()
    adoption = session.exec(select(Adoption).where(Adoption.external_ref == "ad-1")).one()
    session.refresh(innovation)
    session.refresh(adoption)
    assert innovation.evidence[0]["summary"] == text
    assert adoption.gate["champion"] == text
    assert imports._json_text({"count": 2**70}) == '{"count": 1180591620717411303424}'


def test_every_column_the_import_copies_has_a_binary_type_psycopg_knows() -> None:
    """PostgreSQL's COPY is binary: each column is named to psycopg by its
    type, and a column of a type it does not know would fail only there."""
    import psycopg
    from sqlalchemy.dialects import postgresql

    from app.models import ChallengeFacet

    dialect = postgresql.psycopg.dialect()
    for model in (*TABLES, ChallengeFacet):
        for column in model.__table__.columns:  # type: ignore[attr-defined]
            name = imports._type_name(column.type.compile(dialect=dialect))
            assert psycopg.adapters.types.get(name) is not None, (model, column.key, name)
