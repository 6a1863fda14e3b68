"""Event payloads built without pydantic (records.public_json) are exactly
what the public models dump: the change feed and webhooks see one shape
whichever way a record was written."""

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, col, select

from app.models import Adoption, Event, Innovation, Organisation
from app.services import adoptions, imports, innovations, organisations, pipeline, records
from tests.factories import World, admin_principal, make_adoption, make_innovation


def test_an_organisations_payload_is_its_public_dump(session: Session, world: World) -> None:
    for org in (world.exchange, world.trust, world.supplier):
        expected = organisations.to_public(org).model_dump(mode="json")
        assert records.public_json(type(organisations.to_public(org)), org) == expected


def test_an_innovations_payload_is_its_public_dump(session: Session, world: World) -> None:
    innovation = make_innovation(
        session,
        world.supplier,
        evidence=[{"type": "real_world", "summary": "Two wards", "url": "https://example.org/a"}],
        regulatory={"ukca_class": "class_i", "dtac": True},
        website="https://example.org",
    )
    for record in (innovation, world.innovation):
        expected = innovations.to_public(record).model_dump(mode="json")
        payload = innovations.event_values(admin_principal(world.exchange), "x", record)["data"]
        assert payload == expected
    session.expire_all()  # and as read back from the database
    reloaded = session.get(Innovation, innovation.id)
    assert reloaded is not None
    assert innovations.event_values(admin_principal(world.exchange), "x", reloaded)["data"] == (
        innovations.to_public(reloaded).model_dump(mode="json")
    )


def test_an_adoptions_payload_is_its_public_dump(session: Session, world: World) -> None:
    stages = pipeline.stages(session)
    moved = make_adoption(
        session,
        make_innovation(session, world.supplier),
        world.other_trust,
        gate={"champion": "Dr Asha Patel", "evidence_reviewed": True},
        stage="adopted",
        lead={"name": "Dr Asha Patel", "email": "asha.patel@nhs.net"},
        notes="Two wards first",
    )
    for adoption in (moved, world.adoption):
        expected = adoptions.to_public(stages, adoption).model_dump(mode="json")
        assert adoptions.public_json(stages, adoption) == expected


def test_values_without_a_json_form_are_refused() -> None:
    assert records._json([uuid.UUID(int=1), date(2026, 1, 5), {"a": datetime(2026, 1, 5, tzinfo=UTC)}]) == [
        "00000000-0000-0000-0000-000000000001",
        "2026-01-05",
        {"a": "2026-01-05T00:00:00Z"},
    ]
    with pytest.raises(TypeError):
        records._json(object())


def test_an_imports_events_carry_the_records_public_dump(session: Session, world: World) -> None:
    admin = admin_principal(world.exchange)
    document = {
        "organisations": [{"external_ref": "o-1", "name": "Trust", "kind": "nhs_trust", "region": "london"}],
        "innovations": [
            {
                "external_ref": "i-1",
                "name": "Device",
                "summary": "A device.",
                "supplier_ref": "o-1",
                "categories": ["digital"],
                "evidence": [{"type": "real_world", "summary": "A pilot"}],
                "website": "https://example.org",
                "status": "published",
            }
        ],
        "adoptions": [{"external_ref": "a-1", "innovation_ref": "i-1", "organisation_ref": "o-1"}],
    }
    sources, errors = imports.from_document(document)
    imports.run(session, admin, sources, errors=errors)
    stages = pipeline.stages(session)
    session.expire_all()
    for model, kind, public in (
        (Organisation, "organisation", lambda r: organisations.to_public(r)),
        (Innovation, "innovation", lambda r: innovations.to_public(r)),
        (Adoption, "adoption", lambda r: adoptions.to_public(stages, r)),
    ):
        record = session.exec(select(model).where(col(model.external_ref).like("%-1"))).one()
        event = session.exec(
            select(Event).where(Event.resource_id == record.id, col(Event.type).endswith(".created"))
        ).one()
        assert (event.resource_type, event.data) == (kind, public(record).model_dump(mode="json"))


def test_an_imports_ids_are_uuid7_in_creation_order() -> None:
    make = imports.Ids()
    ids = [make() for _ in range(10_000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {(i.version, i.variant) for i in ids} == {(7, uuid.RFC_4122)}
    now_ms = datetime.now(UTC).timestamp() * 1000
    assert abs((ids[0].int >> 80) - now_ms) < 60_000
