"""ETag and If-Match on every single resource, Location on every 201, and
the move's answer (API.md, Conventions: Concurrency)."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.db import Database
from app.main import create_app
from tests.api.helpers import assert_problem, counts
from tests.factories import FULL_GATE, World, make_challenge, make_world

# resource -> (url of one record, a change, who makes it)
Target = tuple[str, dict[str, Any], str]


def _organisation(world: World, session: Session) -> Target:
    return (
        f"/api/v1/organisations/{world.trust.id}",
        {"name": "Liverpool University Hospitals NHS FT"},
        "trust",
    )


def _innovation(world: World, session: Session) -> Target:
    return f"/api/v1/innovations/{world.innovation.id}", {"maturity": "ready"}, "supplier"


def _challenge(world: World, session: Session) -> Target:
    challenge = make_challenge(session, world.trust)
    return f"/api/v1/challenges/{challenge.id}", {"status": "closed"}, "trust"


def _adoption(world: World, session: Session) -> Target:
    return f"/api/v1/adoptions/{world.adoption.id}", {"gate": {"champion": "Dr Asha Patel"}}, "trust"


RESOURCES: dict[str, Callable[[World, Session], Target]] = {
    "organisation": _organisation,
    "innovation": _innovation,
    "challenge": _challenge,
    "adoption": _adoption,
}


@pytest.mark.parametrize("resource", RESOURCES)
def test_patch_needs_the_current_etag(
    client: TestClient, world: World, session: Session, resource: str
) -> None:
    url, change, who = RESOURCES[resource](world, session)
    got = client.get(url, headers=world.auth(who))
    assert got.status_code == 200
    etag = got.headers["ETag"]
    assert etag == f'"{got.json()["version"]}"'

    patched = client.patch(url, json=change, headers={**world.auth(who), "If-Match": etag})
    assert patched.status_code == 200, patched.text
    new_etag = patched.headers["ETag"]
    assert new_etag != etag
    assert new_etag == f'"{patched.json()["version"]}"'
    assert patched.json()["version"] == got.json()["version"] + 1
    for field, value in change.items():
        if field != "gate":
            assert patched.json()[field] == value
    assert client.get(url, headers=world.auth(who)).headers["ETag"] == new_etag

    before = counts(session)
    stale = client.patch(url, json=change, headers={**world.auth(who), "If-Match": etag})
    assert assert_problem(stale, 412)["etag"] == new_etag
    assert counts(session) == before

    # A change that changes nothing keeps the version.
    same = client.patch(url, json=change, headers={**world.auth(who), "If-Match": new_etag})
    assert same.status_code == 200
    assert same.headers["ETag"] == new_etag


@pytest.mark.parametrize(("resource", "status"), [("innovation", "archived"), ("challenge", "withdrawn")])
def test_delete_needs_the_current_etag(
    client: TestClient, world: World, session: Session, resource: str, status: str
) -> None:
    url, change, who = RESOURCES[resource](world, session)
    etag = client.get(url, headers=world.auth(who)).headers["ETag"]
    changed = client.patch(url, json=change, headers={**world.auth(who), "If-Match": etag})
    assert_problem(client.delete(url, headers={**world.auth(who), "If-Match": etag}), 412)

    deleted = client.delete(url, headers={**world.auth(who), "If-Match": changed.headers["ETag"]})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["status"] == status
    assert deleted.headers["ETag"] == f'"{deleted.json()["version"]}"'
    # Records are kept: it still reads back.
    assert client.get(url, headers=world.auth(who)).json()["status"] == status


def test_api_keys_revoke_with_the_current_etag(client: TestClient, world: World, session: Session) -> None:
    issued = client.post(
        "/api/v1/api-keys",
        json={"organisation_id": str(world.trust.id), "name": "CI"},
        headers=world.auth("trust"),
    )
    url = issued.headers["Location"]
    got = client.get(url, headers=world.auth("trust"))
    assert got.status_code == 200
    assert "key" not in got.json()  # the secret is shown once only
    etag = got.headers["ETag"]
    assert etag == issued.headers["ETag"] == f'"{got.json()["version"]}"'

    assert_problem(client.delete(url, headers={**world.auth("trust"), "If-Match": '"7"'}), 412)
    revoked = client.delete(url, headers={**world.auth("trust"), "If-Match": etag})
    assert revoked.status_code == 200
    assert revoked.headers["ETag"] != etag
    before = counts(session)
    stale = client.delete(url, headers={**world.auth("trust"), "If-Match": etag})
    assert assert_problem(stale, 412)["etag"] == revoked.headers["ETag"]
    again = client.delete(url, headers={**world.auth("trust"), "If-Match": revoked.headers["ETag"]})
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert counts(session) == before


def test_a_weak_etag_is_accepted(client: TestClient, world: World) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}"
    etag = client.get(url, headers=world.auth("trust")).headers["ETag"]
    patched = client.patch(
        url, json={"notes": "weak"}, headers={**world.auth("trust"), "If-Match": f"W/{etag}"}
    )
    assert patched.status_code == 200


def test_a_move_answers_201_with_the_transition_and_the_new_etag(
    client: TestClient, world: World, session: Session
) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}"
    read = client.get(url, headers=world.auth("trust"))
    patched = client.patch(
        url, json={"gate": FULL_GATE}, headers={**world.auth("trust"), "If-Match": read.headers["ETag"]}
    )
    before = counts(session)
    moved = client.post(
        f"{url}/transitions",
        json={"to_stage": "needs_assessment"},
        headers={**world.auth("trust"), "If-Match": patched.headers["ETag"]},
    )
    assert moved.status_code == 201, moved.text
    body = moved.json()
    assert set(body) == {"transition", "adoption"}
    transition, adoption = body["transition"], body["adoption"]
    assert transition["adoption_id"] == str(world.adoption.id)
    assert (transition["from_stage"], transition["to_stage"]) == ("identified", "needs_assessment")
    assert transition["gate_snapshot"]["gate"]["champion"] == FULL_GATE["champion"]
    assert transition["created_at"].endswith("Z")
    assert adoption["stage"] == "needs_assessment"
    assert adoption["version"] == patched.json()["version"] + 1
    assert moved.headers["ETag"] == f'"{adoption["version"]}"'
    assert counts(session)["Transition"] == before["Transition"] + 1
    assert counts(session)["Event"] == before["Event"] + 1

    location = moved.headers["Location"]
    assert location.endswith(f"/api/v1/adoptions/{world.adoption.id}/transitions/{transition['id']}")
    assert client.get(location, headers=world.auth("trust")).json() == transition
    assert client.get(url, headers=world.auth("trust")).headers["ETag"] == moved.headers["ETag"]

    # The ETag read before the move is stale now.
    stale = client.post(
        f"{url}/transitions",
        json={"to_stage": "co_design"},
        headers={**world.auth("trust"), "If-Match": patched.headers["ETag"]},
    )
    assert assert_problem(stale, 412)["etag"] == moved.headers["ETag"]
    history = client.get(f"{url}/transitions", headers=world.auth("supplier")).json()["items"]
    assert [t["to_stage"] for t in history] == ["needs_assessment"]


def _creations(world: World) -> list[tuple[str, dict[str, Any], str]]:
    return [
        (
            "/api/v1/organisations",
            {"name": "Alder Hey", "kind": "nhs_trust", "region": "north_west"},
            "admin",
        ),
        (
            "/api/v1/innovations",
            {"name": "Smart sharps bin", "summary": "S", "supplier_id": str(world.supplier.id)},
            "supplier",
        ),
        (
            "/api/v1/challenges",
            {"title": "Fewer missed appointments", "problem_statement": "P", "owner_id": str(world.trust.id)},
            "trust",
        ),
        (
            "/api/v1/adoptions",
            {
                "innovation_id": str(world.innovation.id),
                "organisation_id": str(world.other_trust.id),
                "lead": {"name": "Sam Jones", "email": "sam.jones@nhs.net"},
            },
            "other_trust",
        ),
        ("/api/v1/api-keys", {"organisation_id": str(world.trust.id), "name": "CI"}, "trust"),
    ]


def test_every_201_has_location_and_etag(client: TestClient, world: World) -> None:
    for url, data, who in _creations(world):
        created = client.post(url, json=data, headers=world.auth(who))
        assert created.status_code == 201, created.text
        body = created.json()
        location = created.headers["Location"]
        assert location.endswith(f"{url}/{body['id']}")
        assert created.headers["ETag"] == f'"{body["version"]}"' == '"1"'
        got = client.get(location, headers=world.auth(who))
        assert got.status_code == 200
        assert got.headers["ETag"] == created.headers["ETag"]
        assert got.json()["id"] == body["id"]


def test_a_new_adoption_starts_at_identified(client: TestClient, world: World) -> None:
    url, data, who = _creations(world)[3]
    body = client.post(url, json=data, headers=world.auth(who)).json()
    assert body["stage"] == "identified"
    assert body["lead"] == {"name": "Sam Jones", "email": "sam.jones@nhs.net"}
    assert body["gate_status"]["needs_assessment"] == {"met": True, "missing": []}
    assert body["gate_status"]["co_design"]["met"] is False


def test_two_writers_never_overwrite_each_other(fresh_database: Database) -> None:
    """Two partners read the same version and write at once, each in its own
    committed transaction: one wins, the other is told 412."""
    with fresh_database.transaction() as session:
        world = make_world(session)
    app = create_app(fresh_database.settings, fresh_database)
    url = f"/api/v1/adoptions/{world.adoption.id}"
    with TestClient(app, raise_server_exceptions=False) as client:
        etag = client.get(url, headers=world.auth("trust")).headers["ETag"]
        barrier = threading.Barrier(2)
        answers: dict[str, int] = {}

        def write(who: str) -> None:
            barrier.wait()
            got = client.patch(
                url, json={"notes": f"by {who}"}, headers={**world.auth(who), "If-Match": etag}
            )
            answers[who] = got.status_code

        threads = [threading.Thread(target=write, args=(who,)) for who in ("trust", "facilitator")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(answers.values()) == [200, 412]
        winner = next(who for who, status in answers.items() if status == 200)
        final = client.get(url, headers=world.auth("admin")).json()
        assert final["notes"] == f"by {winner}"
        assert final["version"] == 2


def test_if_match_star_accepts_any_version(client: TestClient, world: World) -> None:
    url = f"/api/v1/innovations/{world.innovation.id}"
    answer = client.patch(
        url, json={"maturity": "ready"}, headers={**world.auth("supplier"), "If-Match": "*"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["maturity"] == "ready"
