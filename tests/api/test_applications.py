"""The applications API: public intake and status, and the team's review."""

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app.models import Application, Innovation, Organisation, User
from tests.api.helpers import assert_problem, counts, error_fields
from tests.factories import APPLICATION, World

URL = "/api/v1/applications"


def _apply(client: TestClient, **values: Any) -> dict[str, Any]:
    response = client.post(URL, json={**APPLICATION, **values})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _id(session: Session, reference: str) -> str:
    return str(session.exec(select(Application.id).where(Application.reference == reference)).one())


def _applications(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Application)).one()


# --- the applicant --------------------------------------------------------------


def test_anyone_may_apply_without_a_key(client: TestClient) -> None:
    receipt = _apply(client)
    assert receipt["status"] == "submitted"
    assert receipt["in_area"] is True
    assert receipt["area_name"] == "Liverpool City Region"
    assert receipt["reference"].startswith("HIE-")
    assert set(receipt) == {"reference", "status", "in_area", "area_name", "next_steps"}


def test_an_out_of_area_business_is_told_how_it_is_handled(client: TestClient) -> None:
    receipt = _apply(client, postcode="M1 1AE")
    assert receipt["in_area"] is False
    assert "Health Innovation Network for your area" in receipt["next_steps"]


def test_every_bad_field_is_named_and_nothing_is_written(client: TestClient, session: Session) -> None:
    before = (_applications(session), counts(session))
    body = {
        **APPLICATION,
        "company_name": "",
        "postcode": "nowhere",
        "contact_email": "not-an-email",
        "support_wanted": [],
        "consent_to_data": False,
    }
    body.pop("product_name")
    problem = assert_problem(client.post(URL, json=body), 422)
    assert error_fields(problem) == {
        "body.company_name",
        "body.postcode",
        "body.contact_email",
        "body.support_wanted",
        "body.consent_to_data",
        "body.product_name",
    }
    assert (_applications(session), counts(session)) == before


def test_unknown_fields_are_refused(client: TestClient) -> None:
    problem = assert_problem(client.post(URL, json={**APPLICATION, "status": "accepted"}), 422)
    assert error_fields(problem) == {"body.status"}


def test_too_many_from_one_address_are_answered_429(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"applications_per_address": 2})
    _apply(client)
    _apply(client)
    response = client.post(URL, json=APPLICATION)
    problem = assert_problem(response, 429)
    assert 0 < int(response.headers["Retry-After"]) <= 3601
    assert problem["retry_after"] == int(response.headers["Retry-After"])
    assert _applications(session) == 2


def test_an_oversized_body_is_answered_413_and_not_read(client: TestClient, session: Session) -> None:
    huge = {**APPLICATION, "evidence": "x" * 200_000}
    assert_problem(client.post(URL, json=huge), 413)
    assert _applications(session) == 0


def test_the_applicant_checks_the_status_and_replies(
    client: TestClient, session: Session, world: World
) -> None:
    reference = _apply(client)["reference"]
    email = APPLICATION["contact_email"]
    status = client.post(f"{URL}/status", json={"reference": reference, "email": email})
    assert status.status_code == 200, status.text
    assert status.json()["status"] == "submitted"

    # Nothing to reply to yet.
    reply = {"reference": reference, "email": email, "text": "Here is more."}
    assert_problem(client.post(f"{URL}/replies", json=reply), 409)

    application_id = _id(session, reference)
    asked = client.patch(
        f"{URL}/{application_id}",
        json={"status": "more_information_needed", "message": "Which wards?"},
        headers={**world.auth("facilitator"), "If-Match": '"1"'},
    )
    assert asked.status_code == 200, asked.text

    answered = client.post(f"{URL}/replies", json=reply)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "in_review"
    assert [m["text"] for m in answered.json()["messages"]] == ["Which wards?", "Here is more."]


@pytest.mark.parametrize(
    "lookup",
    [
        {"reference": "HIE-0000-0000", "email": APPLICATION["contact_email"]},
        {"reference": "<the reference>", "email": "someone@else.example"},
    ],
)
def test_a_wrong_reference_or_email_is_404(client: TestClient, lookup: dict[str, str]) -> None:
    reference = _apply(client)["reference"]
    body = {**lookup, "reference": lookup["reference"].replace("<the reference>", reference)}
    assert_problem(client.post(f"{URL}/status", json=body), 404)


# --- the team -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["supplier", "trust"])
def test_the_queue_is_the_exchange_teams(
    client: TestClient, session: Session, world: World, who: str
) -> None:
    application_id = _id(session, _apply(client)["reference"])
    assert_problem(client.get(URL), 401)
    assert_problem(client.get(URL, headers=world.auth(who)), 403)
    assert_problem(client.get(f"{URL}/{application_id}", headers=world.auth(who)), 403)
    assert_problem(
        client.post(f"{URL}/{application_id}/notes", json={"text": "x"}, headers=world.auth(who)), 403
    )


def test_a_read_only_facilitator_key_may_read_but_not_review(
    client: TestClient, session: Session, world: World
) -> None:
    application_id = _id(session, _apply(client)["reference"])
    headers = world.auth("trust_read_only")
    assert_problem(client.get(URL, headers=headers), 403)  # not on the team either way
    assert_problem(
        client.patch(
            f"{URL}/{application_id}", json={"status": "in_review"}, headers={**headers, "If-Match": '"1"'}
        ),
        403,
    )


@pytest.mark.parametrize("who", ["admin", "facilitator"])
def test_the_team_reads_the_queue_and_one_application(
    client: TestClient, session: Session, world: World, who: str
) -> None:
    reference = _apply(client)["reference"]
    _apply(client, postcode="SW1A 1AA", company_name="London Lathes")
    queue = client.get(f"{URL}?in_area=true", headers=world.auth(who))
    assert queue.status_code == 200, queue.text
    assert [a["reference"] for a in queue.json()["items"]] == [reference]

    one = client.get(f"{URL}/{_id(session, reference)}", headers=world.auth(who))
    assert one.status_code == 200
    assert one.headers["ETag"] == '"1"'
    body = one.json()
    assert body["contact_email"] == APPLICATION["contact_email"]
    assert body["area_district"] == "Liverpool"
    assert body["care_settings"] == APPLICATION["care_settings"]


def test_a_review_needs_the_current_etag(client: TestClient, session: Session, world: World) -> None:
    url = f"{URL}/{_id(session, _apply(client)['reference'])}"
    headers = world.auth("admin")
    assert_problem(client.patch(url, json={"status": "in_review"}, headers=headers), 428)
    started = client.patch(url, json={"status": "in_review"}, headers={**headers, "If-Match": '"1"'})
    assert started.status_code == 200 and started.headers["ETag"] == '"2"'
    stale = assert_problem(
        client.patch(
            url, json={"status": "declined", "message": "No"}, headers={**headers, "If-Match": '"1"'}
        ),
        412,
    )
    assert stale["etag"] == '"2"'
    again = assert_problem(
        client.patch(url, json={"status": "in_review"}, headers={**headers, "If-Match": "*"}), 409
    )
    assert "cannot move" in again["detail"]


def test_declining_needs_a_reason(client: TestClient, session: Session, world: World) -> None:
    url = f"{URL}/{_id(session, _apply(client)['reference'])}"
    problem = assert_problem(
        client.patch(url, json={"status": "declined"}, headers={**world.auth("admin"), "If-Match": "*"}), 422
    )
    assert error_fields(problem) == {"body.message"}


def test_notes_are_kept_in_order(client: TestClient, session: Session, world: World) -> None:
    url = f"{URL}/{_id(session, _apply(client)['reference'])}/notes"
    for text in ("First look: strong", "Call booked"):
        added = client.post(url, json={"text": text}, headers=world.auth("facilitator"))
        assert added.status_code == 201, added.text
        assert added.json()["kind"] == "note"
    listed = client.get(url, headers=world.auth("admin")).json()
    assert [n["text"] for n in listed["items"]] == ["First look: strong", "Call booked"]
    assert listed["next_cursor"] is None
    assert_problem(client.post(url, json={"text": ""}, headers=world.auth("admin")), 422)


def test_accepting_makes_the_records_and_a_link_that_sets_the_password(
    client: TestClient, session: Session, world: World
) -> None:
    application_id = _id(session, _apply(client)["reference"])
    url = f"{URL}/{application_id}/acceptance"
    assert_problem(client.post(url, json={}, headers=world.auth("admin")), 428)
    accepted = client.post(
        url, json={"message": "Welcome"}, headers={**world.auth("facilitator"), "If-Match": '"1"'}
    )
    assert accepted.status_code == 201, accepted.text
    body = accepted.json()
    assert body["application"]["status"] == "accepted"
    assert body["application"]["organisation_id"] == body["organisation_id"]
    org = session.get(Organisation, uuid.UUID(body["organisation_id"]))
    user = session.get(User, uuid.UUID(body["user_id"]))
    innovation = session.get(Innovation, uuid.UUID(body["innovation_id"]))
    assert org is not None and org.name == APPLICATION["company_name"]
    assert user is not None and user.organisation_id == org.id
    assert innovation is not None and innovation.status == "draft"
    assert body["set_password_url"].startswith("http://testserver/set-password/")

    # The draft is the supplier's own, through the API like any other.
    draft = client.get(f"/api/v1/innovations/{innovation.id}", headers=world.auth("admin"))
    assert draft.status_code == 200 and draft.json()["origin_sector"] == "Engineering"

    # Accepting twice is refused and makes nothing more.
    before = counts(session)
    assert_problem(client.post(url, json={}, headers={**world.auth("admin"), "If-Match": "*"}), 409)
    assert counts(session) == before

    link = client.post(f"{URL}/{application_id}/password-link", headers=world.auth("admin"))
    assert link.status_code == 201, link.text
    assert link.json()["set_password_url"] != body["set_password_url"]


def test_accepting_when_the_email_has_an_account_makes_nothing(
    client: TestClient, session: Session, world: World
) -> None:
    first = _id(session, _apply(client)["reference"])
    second = _id(session, _apply(client, company_name="Same Person Ltd")["reference"])
    headers = {**world.auth("admin"), "If-Match": "*"}
    assert client.post(f"{URL}/{first}/acceptance", json={}, headers=headers).status_code == 201
    before = counts(session)
    problem = assert_problem(client.post(f"{URL}/{second}/acceptance", json={}, headers=headers), 409)
    assert "email" in problem["detail"]
    assert counts(session) == before
    assert client.get(f"{URL}/{second}", headers=world.auth("admin")).json()["status"] == "submitted"


def test_openapi_documents_the_intake_as_public_and_the_review_as_keyed(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    submit = paths[URL]["post"]
    assert "security" not in submit
    assert {"201", "413", "422", "429"} <= set(submit["responses"])
    assert "401" not in submit["responses"]
    assert "Retry-After" in submit["responses"]["429"]["headers"]
    assert paths[URL]["get"]["security"]
    for path in (f"{URL}/status", f"{URL}/replies", f"{URL}/{{application_id}}/acceptance"):
        assert "post" in paths[path]
