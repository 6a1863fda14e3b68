"""Every failure of the API is an RFC 9457 problem (API.md, Conventions), and
a request that fails writes nothing."""

import base64
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from app.api.deps import SessionDep
from app.services import innovations
from tests.api.helpers import assert_problem, counts, error_fields
from tests.factories import FULL_GATE, World, make_innovation, make_org

# --- 401 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/innovations"),
        ("GET", "/api/v1/adoptions"),
        ("GET", "/api/v1/events"),
        ("GET", "/api/v1/stages"),
        ("POST", "/api/v1/organisations"),
        ("POST", "/api/v1/api-keys"),
    ],
)
def test_no_key_is_401(client: TestClient, world: World, session: Session, method: str, path: str) -> None:
    before = counts(session)
    got = client.request(method, path, json={})
    body = assert_problem(got, 401)
    assert got.headers["WWW-Authenticate"] == "Bearer"
    assert "Bearer" in body["detail"]
    assert counts(session) == before


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer hie_thisKeyWasNeverIssuedByTheExchange0000000",
        "Bearer not-a-key-of-this-service",
        "Bearer " + "hie_" + "x" * 300,
        "Bearer",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_unknown_key_is_401(client: TestClient, world: World, authorization: str) -> None:
    got = client.get(f"/api/v1/adoptions/{world.adoption.id}", headers={"Authorization": authorization})
    assert_problem(got, 401)
    assert got.headers["WWW-Authenticate"] == "Bearer"


def test_revoked_key_is_401(client: TestClient, world: World, session: Session) -> None:
    issued = client.post(
        "/api/v1/api-keys",
        json={"organisation_id": str(world.trust.id), "name": "Nightly sync", "scopes": ["read", "write"]},
        headers=world.auth("trust"),
    )
    assert issued.status_code == 201, issued.text
    key, key_id = issued.json()["key"], issued.json()["id"]
    as_key = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/innovations", headers=as_key).status_code == 200

    got = client.get(f"/api/v1/api-keys/{key_id}", headers=world.auth("trust"))
    revoked = client.delete(
        f"/api/v1/api-keys/{key_id}", headers={**world.auth("trust"), "If-Match": got.headers["ETag"]}
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None

    before = counts(session)
    assert_problem(client.get("/api/v1/innovations", headers=as_key), 401)
    assert_problem(client.post("/api/v1/api-keys", json={}, headers=as_key), 401)
    assert counts(session) == before
    # The key that revoked it still works.
    assert client.get("/api/v1/innovations", headers=world.auth("trust")).status_code == 200


# --- 403 ------------------------------------------------------------------


def test_read_only_key_may_not_write(client: TestClient, world: World, session: Session) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}"
    etag = client.get(url, headers=world.auth("trust_read_only")).headers["ETag"]
    before = counts(session)
    ro = world.auth("trust_read_only")
    body = assert_problem(client.patch(url, json={"notes": "x"}, headers={**ro, "If-Match": etag}), 403)
    assert "write" in body["detail"]
    assert_problem(
        client.post(
            f"{url}/transitions", json={"to_stage": "paused", "reason": "x"}, headers={**ro, "If-Match": etag}
        ),
        403,
    )
    assert_problem(
        client.post(
            "/api/v1/challenges",
            json={"title": "T", "problem_statement": "P", "owner_id": str(world.trust.id)},
            headers=ro,
        ),
        403,
    )
    assert counts(session) == before
    assert client.get(url, headers=ro).json()["notes"] == ""


def test_supplier_may_see_but_not_move_an_adoption(
    client: TestClient, world: World, session: Session
) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}"
    got = client.get(url, headers=world.auth("supplier"))
    assert got.status_code == 200
    headers = {**world.auth("supplier"), "If-Match": got.headers["ETag"]}
    before = counts(session)
    assert_problem(
        client.post(
            f"{url}/transitions", json={"to_stage": "not_progressed", "reason_code": "other"}, headers=headers
        ),
        403,
    )
    assert_problem(client.patch(url, json={"notes": "Supplier's note"}, headers=headers), 403)
    assert counts(session) == before
    assert client.get(url, headers=world.auth("trust")).json()["stage"] == "identified"


def test_a_facilitator_of_another_region_sees_but_may_not_move(client: TestClient, world: World) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}"
    got = client.get(url, headers=world.auth("other_facilitator"))
    assert got.status_code == 200
    headers = {**world.auth("other_facilitator"), "If-Match": got.headers["ETag"]}
    assert_problem(
        client.post(f"{url}/transitions", json={"to_stage": "paused", "reason": "x"}, headers=headers), 403
    )


@pytest.mark.parametrize("who", ["trust", "facilitator", "supplier"])
def test_only_admins_create_organisations(
    client: TestClient, world: World, session: Session, who: str
) -> None:
    data = {"name": "Mersey Care", "kind": "nhs_trust", "region": "north_west"}
    before = counts(session)
    assert_problem(client.post("/api/v1/organisations", json=data, headers=world.auth(who)), 403)
    assert counts(session) == before
    assert client.post("/api/v1/organisations", json=data, headers=world.auth("admin")).status_code == 201


def test_keys_and_records_for_others_are_403(client: TestClient, world: World, session: Session) -> None:
    before = counts(session)
    for body in (
        {"organisation_id": str(world.other_trust.id), "name": "theirs"},
        {"organisation_id": str(world.trust.id), "name": "mine", "scopes": ["admin"]},
    ):
        assert_problem(client.post("/api/v1/api-keys", json=body, headers=world.auth("trust")), 403)
    innovation = {"name": "Not ours", "summary": "S", "supplier_id": str(world.supplier.id)}
    assert_problem(client.post("/api/v1/innovations", json=innovation, headers=world.auth("trust")), 403)
    org_url = f"/api/v1/organisations/{world.other_trust.id}"
    etag = client.get(org_url, headers=world.auth("trust")).headers["ETag"]
    assert_problem(
        client.patch(org_url, json={"name": "Renamed"}, headers={**world.auth("trust"), "If-Match": etag}),
        403,
    )
    assert counts(session) == before


# --- 404 ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/organisations/{id}",
        "/api/v1/innovations/{id}",
        "/api/v1/innovations/{id}/spread",
        "/api/v1/challenges/{id}",
        "/api/v1/adoptions/{id}",
        "/api/v1/adoptions/{id}/transitions",
        "/api/v1/api-keys/{id}",
    ],
)
def test_unknown_id_is_404(client: TestClient, world: World, path: str) -> None:
    assert_problem(client.get(path.format(id=uuid.uuid4()), headers=world.auth("admin")), 404)


def test_unknown_transition_and_route_are_404(client: TestClient, world: World) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}/transitions/{uuid.uuid4()}"
    assert_problem(client.get(url, headers=world.auth("trust")), 404)
    assert_problem(client.get("/api/v1/no-such-thing", headers=world.auth("trust")), 404)
    assert_problem(client.put(f"/api/v1/adoptions/{world.adoption.id}", headers=world.auth("trust")), 405)


def test_another_organisations_adoption_is_404_never_403(
    client: TestClient, world: World, session: Session
) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}"
    etag = client.get(url, headers=world.auth("trust")).headers["ETag"]
    unknown = f"/api/v1/adoptions/{uuid.uuid4()}"
    them = {**world.auth("other_trust"), "If-Match": etag}
    before = counts(session)
    for method, path, body in [
        ("GET", "", None),
        ("PATCH", "", {"notes": "ours now"}),
        ("GET", "/transitions", None),
        ("POST", "/transitions", {"to_stage": "not_progressed", "reason_code": "other"}),
    ]:
        hidden = assert_problem(client.request(method, url + path, json=body, headers=them), 404)
        missing = assert_problem(client.request(method, unknown + path, json=body, headers=them), 404)
        assert hidden == missing  # not a hint that it exists
    assert counts(session) == before


def test_another_organisations_api_key_is_404(client: TestClient, world: World) -> None:
    keys = client.get("/api/v1/api-keys", headers=world.auth("trust")).json()["items"]
    assert keys
    for key in keys:
        assert_problem(client.get(f"/api/v1/api-keys/{key['id']}", headers=world.auth("other_trust")), 404)


# --- 409 ------------------------------------------------------------------


def test_a_refused_move_lists_what_is_missing(client: TestClient, world: World, session: Session) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}"
    etag = client.get(url, headers=world.auth("trust")).headers["ETag"]
    headers = {**world.auth("trust"), "If-Match": etag}
    before = counts(session)
    body = assert_problem(
        client.post(f"{url}/transitions", json={"to_stage": "needs_assessment"}, headers=headers), 409
    )
    assert body["missing"] == ["champion"]
    assert counts(session) == before

    patched = client.patch(url, json={"gate": {"champion": FULL_GATE["champion"]}}, headers=headers)
    headers["If-Match"] = patched.headers["ETag"]
    moved = client.post(f"{url}/transitions", json={"to_stage": "needs_assessment"}, headers=headers)
    assert moved.status_code == 201, moved.text
    headers["If-Match"] = moved.headers["ETag"]
    before = counts(session)
    body = assert_problem(
        client.post(f"{url}/transitions", json={"to_stage": "co_design"}, headers=headers), 409
    )
    assert body["missing"] == [
        "needs_assessment_summary",
        "evidence_reviewed",
        "regulation_reviewed",
        "cost_reviewed",
        "pathway_fit_reviewed",
    ]
    skipped = assert_problem(
        client.post(f"{url}/transitions", json={"to_stage": "adopted"}, headers=headers), 409
    )
    assert skipped["missing"] == []
    assert counts(session) == before


def test_a_second_adoption_of_the_same_innovation_is_409(
    client: TestClient, world: World, session: Session
) -> None:
    data = {"innovation_id": str(world.innovation.id), "organisation_id": str(world.trust.id)}
    before = counts(session)
    for who in ("trust", "facilitator", "admin"):
        body = assert_problem(client.post("/api/v1/adoptions", json=data, headers=world.auth(who)), 409)
        assert body["existing_id"] == str(world.adoption.id)
    assert counts(session) == before


def test_a_duplicate_ods_code_is_409(client: TestClient, world: World, session: Session) -> None:
    make_org(session, "nhs_trust", ods_code="REM")
    data = {"name": "Another", "kind": "nhs_trust", "region": "north_west", "ods_code": "REM"}
    before = counts(session)
    assert_problem(client.post("/api/v1/organisations", json=data, headers=world.auth("admin")), 409)
    assert counts(session) == before

    url = f"/api/v1/organisations/{world.trust.id}"
    etag = client.get(url, headers=world.auth("admin")).headers["ETag"]
    headers = {**world.auth("admin"), "If-Match": etag}
    assert_problem(client.patch(url, json={"ods_code": "REM"}, headers=headers), 409)
    assert counts(session) == before
    # The failed write left the session usable: the next one succeeds.
    assert client.patch(url, json={"ods_code": "RQ6"}, headers=headers).status_code == 200


def test_a_duplicate_external_ref_is_409(client: TestClient, world: World, session: Session) -> None:
    data = {
        "name": "Sharps bin",
        "summary": "S",
        "supplier_id": str(world.supplier.id),
        "external_ref": "inn-1",
    }
    assert client.post("/api/v1/innovations", json=data, headers=world.auth("supplier")).status_code == 201
    before = counts(session)
    assert_problem(client.post("/api/v1/innovations", json=data, headers=world.auth("supplier")), 409)
    assert counts(session) == before
    # Unique per owning organisation: another owner may use the same ref.
    assert client.post("/api/v1/innovations", json=data, headers=world.auth("facilitator")).status_code == 201


# --- 412 ------------------------------------------------------------------


def test_a_stale_if_match_is_412_with_the_current_etag(
    client: TestClient, world: World, session: Session
) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}"
    old = client.get(url, headers=world.auth("trust")).headers["ETag"]
    first = client.patch(url, json={"notes": "first"}, headers={**world.auth("facilitator"), "If-Match": old})
    assert first.status_code == 200
    before = counts(session)
    for if_match in (old, '"999"', "garbage"):
        headers = {**world.auth("trust"), "If-Match": if_match}
        body = assert_problem(client.patch(url, json={"notes": "second"}, headers=headers), 412)
        assert body["etag"] == first.headers["ETag"]
        moved = client.post(f"{url}/transitions", json={"to_stage": "paused", "reason": "x"}, headers=headers)
        assert assert_problem(moved, 412)["etag"] == first.headers["ETag"]
    assert counts(session) == before
    assert client.get(url, headers=world.auth("trust")).json()["notes"] == "first"


# --- 422 ------------------------------------------------------------------


def test_every_bad_field_is_listed(client: TestClient, world: World, session: Session) -> None:
    before = counts(session)
    got = client.post(
        "/api/v1/organisations",
        json={"name": "", "kind": "castle", "region": "mars", "ods_code": "no good", "colour": "blue"},
        headers=world.auth("admin"),
    )
    body = assert_problem(got, 422)
    assert error_fields(body) == {"body.name", "body.kind", "body.region", "body.ods_code", "body.colour"}

    got = client.post(
        "/api/v1/innovations",
        json={
            "name": "",
            "supplier_id": "not-a-uuid",
            "categories": ["medical_device", "bogus"],
            "care_settings": ["moon_base"],
            "maturity": "ancient",
            "evidence": [{"type": "hearsay", "summary": ""}],
            "regulatory": {"ukca_class": "class_z", "extra": 1},
            "website": "not a url",
            "status": "secret",
        },
        headers=world.auth("admin"),
    )
    body = assert_problem(got, 422)
    assert error_fields(body) == {
        "body.name",
        "body.summary",
        "body.supplier_id",
        "body.categories.1",
        "body.care_settings.0",
        "body.maturity",
        "body.evidence.0.type",
        "body.evidence.0.summary",
        "body.regulatory.ukca_class",
        "body.regulatory.extra",
        "body.website",
        "body.status",
    }
    assert counts(session) == before


def test_unknown_enum_values_are_422(client: TestClient, world: World) -> None:
    admin = world.auth("admin")
    cases = {
        "/api/v1/organisations?kind=castle&region=mars": {"query.kind", "query.region"},
        "/api/v1/innovations?category=x&care_setting=y&status=z&maturity=w": {
            "query.category",
            "query.care_setting",
            "query.status",
            "query.maturity",
        },
        "/api/v1/challenges?status=x&care_setting=y&category=z": {
            "query.status",
            "query.care_setting",
            "query.category",
        },
        "/api/v1/adoptions?region=mars": {"query.region"},
        "/api/v1/adoptions?stage=launched": {"query.stage"},
        "/api/v1/adoptions?innovation_id=nope": {"query.innovation_id"},
    }
    for url, fields in cases.items():
        assert error_fields(assert_problem(client.get(url, headers=admin), 422)) == fields, url


def test_unknown_stage_and_reason_code_are_422(client: TestClient, world: World, session: Session) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}"
    headers = {
        **world.auth("trust"),
        "If-Match": client.get(url, headers=world.auth("trust")).headers["ETag"],
    }
    before = counts(session)
    cases = [
        ({"to_stage": "launched"}, {"body.to_stage"}),
        ({"to_stage": "not_progressed"}, {"body.reason_code"}),
        ({"to_stage": "not_progressed", "reason_code": "bored"}, {"body.reason_code"}),
        ({"to_stage": "paused"}, {"body.reason"}),
        ({"to_stage": "paused", "reason": "x", "when": "now"}, {"body.when"}),
        ({}, {"body.to_stage"}),
    ]
    for body, fields in cases:
        got = client.post(f"{url}/transitions", json=body, headers=headers)
        assert error_fields(assert_problem(got, 422)) == fields, body
    got = client.patch(
        url, json={"gate": {"champion": 7, "evidence_reviewed": "yes", "unheard_of": 1}}, headers=headers
    )
    assert error_fields(assert_problem(got, 422)) == {
        "body.gate.champion",
        "body.gate.evidence_reviewed",
        "body.gate.unheard_of",
    }
    assert counts(session) == before


def test_extra_fields_are_422(client: TestClient, world: World, session: Session) -> None:
    before = counts(session)
    for url in (
        f"/api/v1/organisations/{world.trust.id}",
        f"/api/v1/innovations/{world.innovation.id}",
        f"/api/v1/adoptions/{world.adoption.id}",
    ):
        etag = client.get(url, headers=world.auth("admin")).headers["ETag"]
        got = client.patch(
            url,
            json={"notes_": "typo", "id": str(uuid.uuid4())},
            headers={**world.auth("admin"), "If-Match": etag},
        )
        fields = error_fields(assert_problem(got, 422))
        assert {"body.notes_", "body.id"} <= fields
    lead = {"lead": {"name": "Asha", "email": "not-an-email", "phone": "0151"}}
    url = f"/api/v1/adoptions/{world.adoption.id}"
    etag = client.get(url, headers=world.auth("admin")).headers["ETag"]
    got = client.patch(url, json=lead, headers={**world.auth("admin"), "If-Match": etag})
    assert error_fields(assert_problem(got, 422)) == {"body.lead.email", "body.lead.phone"}
    assert counts(session) == before


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        base64.urlsafe_b64encode(b"not a uuid").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "x" * 201,
    ],
)
@pytest.mark.parametrize("collection", ["organisations", "innovations", "adoptions", "events", "api-keys"])
def test_a_bad_cursor_is_422(client: TestClient, world: World, collection: str, cursor: str) -> None:
    got = client.get(f"/api/v1/{collection}", params={"cursor": cursor}, headers=world.auth("admin"))
    assert error_fields(assert_problem(got, 422)) == {"query.cursor"}


def test_malformed_json_and_ids_are_422(client: TestClient, world: World, session: Session) -> None:
    before = counts(session)
    got = client.post(
        "/api/v1/adoptions",
        content=b'{"innovation_id": ',
        headers={**world.auth("trust"), "Content-Type": "application/json"},
    )
    assert_problem(got, 422)
    got = client.get("/api/v1/adoptions/not-a-uuid", headers=world.auth("trust"))
    assert error_fields(assert_problem(got, 422)) == {"path.adoption_id"}
    got = client.post("/api/v1/adoptions", json=[], headers=world.auth("trust"))
    assert_problem(got, 422)
    assert counts(session) == before


def test_references_to_unknown_records_are_422(client: TestClient, world: World, session: Session) -> None:
    before = counts(session)
    got = client.post(
        "/api/v1/adoptions",
        json={"innovation_id": str(uuid.uuid4()), "organisation_id": str(world.trust.id)},
        headers=world.auth("trust"),
    )
    assert error_fields(assert_problem(got, 422)) == {"body.innovation_id"}
    got = client.post(
        "/api/v1/challenges",
        json={"title": "T", "problem_statement": "P", "owner_id": str(uuid.uuid4())},
        headers=world.auth("admin"),
    )
    assert error_fields(assert_problem(got, 422)) == {"body.owner_id"}
    got = client.post(
        "/api/v1/challenges",
        json={
            "title": "T",
            "problem_statement": "P",
            "owner_id": str(world.trust.id),
            "budget_min": 50_000,
            "budget_max": 10_000,
        },
        headers=world.auth("trust"),
    )
    assert_problem(got, 422)
    assert counts(session) == before


# --- 428 ------------------------------------------------------------------


def test_changes_without_if_match_are_428(client: TestClient, world: World, session: Session) -> None:
    challenge = client.post(
        "/api/v1/challenges",
        json={"title": "T", "problem_statement": "P", "owner_id": str(world.trust.id)},
        headers=world.auth("trust"),
    ).json()
    key_id = client.get("/api/v1/api-keys", headers=world.auth("trust")).json()["items"][0]["id"]
    before = counts(session)
    cases = [
        ("PATCH", f"/api/v1/organisations/{world.trust.id}", {"name": "New"}),
        ("PATCH", f"/api/v1/innovations/{world.innovation.id}", {"name": "New"}),
        ("DELETE", f"/api/v1/innovations/{world.innovation.id}", None),
        ("PATCH", f"/api/v1/challenges/{challenge['id']}", {"title": "New"}),
        ("DELETE", f"/api/v1/challenges/{challenge['id']}", None),
        ("PATCH", f"/api/v1/adoptions/{world.adoption.id}", {"notes": "New"}),
        ("POST", f"/api/v1/adoptions/{world.adoption.id}/transitions", {"to_stage": "paused", "reason": "x"}),
        ("DELETE", f"/api/v1/api-keys/{key_id}", None),
    ]
    for method, url, body in cases:
        got = client.request(method, url, json=body, headers=world.auth("admin"))
        assert "If-Match" in assert_problem(got, 428)["detail"], url
    assert counts(session) == before


# --- 500 ------------------------------------------------------------------


def test_an_unexpected_error_is_a_500_problem_without_internals(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("SELECT secret FROM innovations WHERE password = 'hunter2'")

    monkeypatch.setattr(innovations, "list_", explode)
    got = client.get("/api/v1/innovations", headers=world.auth("trust"))
    body = assert_problem(got, 500)
    assert "hunter2" not in got.text and "RuntimeError" not in got.text
    assert body["detail"] == "Something went wrong on our side. Nothing was saved."


def test_a_database_error_is_a_500_problem_without_sql(
    app: FastAPI, client: TestClient, world: World
) -> None:
    def broken(session: SessionDep) -> dict[str, str]:
        session.exec(text("SELECT password FROM no_such_table"))  # type: ignore[call-overload]
        return {}

    app.add_api_route("/api/v1/test-broken", broken)
    got = client.get("/api/v1/test-broken")
    assert_problem(got, 500)
    assert "no_such_table" not in got.text and "password" not in got.text
    # The failed request left nothing behind: the next one works.
    assert (
        client.get(f"/api/v1/adoptions/{world.adoption.id}", headers=world.auth("trust")).status_code == 200
    )


def test_a_failed_write_saves_nothing(
    client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("after the flush")

    monkeypatch.setattr(innovations, "_record", explode)
    before = counts(session)
    data = {"name": "Half written", "summary": "S", "supplier_id": str(world.supplier.id)}
    assert_problem(client.post("/api/v1/innovations", json=data, headers=world.auth("supplier")), 500)
    assert counts(session) == before


def test_problem_types_name_the_failure(client: TestClient, world: World, session: Session) -> None:
    draft = make_innovation(session, world.supplier, status="draft")
    got = client.get(f"/api/v1/innovations/{draft.id}", headers=world.auth("other_trust"))
    body = assert_problem(got, 404)
    assert body["type"].endswith("/not-found")
    assert body["title"] == "Not found"
