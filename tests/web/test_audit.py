"""The audit trail page (/admin/audit): who changed what, from the event
log, newest first, filtered by actor, organisation, event type, kind of
record, record id and dates, a keyset page at a time; admins only."""

import dataclasses
import html
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models.organisation import Organisation, OrganisationUpdate
from app.services import events, organisations
from tests.factories import World, admin_principal, make_org

SignIn = Callable[[str], str]
PATH = "/admin/audit"
ROW = re.compile(r'<tr class="nhsuk-table__row">(.*?)</tr>', re.S)


def rows(page: str) -> list[tuple[str, str, str]]:
    """(actor, event type, record id) of each listed change, in order."""
    body = page.split('<tbody class="nhsuk-table__body">', 1)[1] if "<tbody" in page else ""
    found = []
    for row in ROW.findall(body):
        cells = re.findall(r'<td class="nhsuk-table__cell[^"]*">(.*?)</td>', row, re.S)
        actor = html.unescape(re.sub(r"<[^>]+>.*", "", cells[1], flags=re.S).strip())
        kind = re.search(r"<code>([^<]+)</code>", cells[2])
        record = re.search(r"resource_id=([0-9a-f-]{36})", cells[3])
        assert kind and record
        found.append((actor, kind.group(1), record.group(1)))
    return found


def rename(session: Session, org: Organisation, name: str, actor: str) -> None:
    """Change an organisation as someone with the given label."""
    principal = dataclasses.replace(admin_principal(org), label=actor)
    organisations.update(session, principal, org, OrganisationUpdate(name=name), None)


@pytest.fixture
def admin(client: TestClient, sign_in: SignIn) -> TestClient:
    sign_in("admin")
    return client


def test_only_admins_may_read_it(client: TestClient, sign_in: SignIn) -> None:
    anonymous = client.get(PATH, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/sign-in")
    sign_in("facilitator")
    assert client.get(PATH).status_code == 403
    assert client.get(f"{PATH}?actor=anyone").status_code == 403


@pytest.mark.parametrize("who", ["trust", "supplier", "other_facilitator"])
def test_everyone_else_gets_403(client: TestClient, sign_in: SignIn, who: str) -> None:
    sign_in(who)
    answer = client.get(PATH)
    assert answer.status_code == 403 and "audit-table" not in answer.text


def test_admins_see_changes_newest_first_linked_from_the_admin_pages(
    admin: TestClient, session: Session, world: World
) -> None:
    rename(session, world.trust, "Renamed Trust", "Ada Admin <ada@example.nhs.uk>")
    page = admin.get(PATH)
    assert page.status_code == 200 and page.text.count("<h1") == 1
    listed = rows(page.text)
    assert listed[0] == ("Ada Admin <ada@example.nhs.uk>", "organisation.updated", str(world.trust.id))
    assert '"name": "Renamed Trust"' in html.unescape(page.text) or "Renamed Trust" in page.text
    assert f'href="{PATH}"' in admin.get("/admin/users").text  # in the admin area's navigation
    assert 'method="get" action="/admin/audit"' in page.text  # a plain form: no JavaScript needed


def test_filter_by_actor_organisation_type_kind_and_record(
    admin: TestClient, session: Session, world: World
) -> None:
    rename(session, world.trust, "Trust by Bea", "Bea Auditor <bea@example.nhs.uk>")
    rename(session, world.other_trust, "Other by Cal", "Cal Checker <cal@example.nhs.uk>")
    by_bea = rows(admin.get(PATH, params={"actor": "BEA@example"}).text)
    assert [(a, t) for a, t, _ in by_bea] == [("Bea Auditor <bea@example.nhs.uk>", "organisation.updated")]
    assert rows(admin.get(PATH, params={"actor": "%"}).text) == []  # a wildcard is only a character

    about_other = rows(admin.get(PATH, params={"organisation_id": str(world.other_trust.id)}).text)
    kinds = {kind for _, kind, _ in about_other}
    assert {"organisation.created", "organisation.updated", "api_key.issued"} <= kinds  # by it, or about it
    assert str(world.trust.id) not in {record for _, _, record in about_other}

    updated = rows(admin.get(PATH, params={"event_type": "organisation.updated"}).text)
    assert {t for _, t, _ in updated} == {"organisation.updated"} and len(updated) == 2
    of_orgs = rows(admin.get(PATH, params={"event_type": "organisation.*"}).text)
    assert {t for _, t, _ in of_orgs} == {"organisation.created", "organisation.updated"}

    innovations = rows(admin.get(PATH, params={"resource_type": "innovation"}).text)
    assert innovations and {t.split(".")[0] for _, t, _ in innovations} == {"innovation"}

    one = rows(admin.get(PATH, params={"resource_id": str(world.trust.id)}).text)
    assert [t for _, t, _ in one] == ["organisation.updated", "organisation.created"]

    both = rows(
        admin.get(
            PATH,
            params={"actor": "cal", "event_type": "organisation.updated", "resource_id": str(world.trust.id)},
        ).text
    )
    assert both == []


def test_filter_by_dates(
    admin: TestClient, session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Events are append-only, so the old one is written as if then.
    monkeypatch.setattr(events, "utcnow", lambda: datetime(2020, 3, 15, 23, 59, tzinfo=UTC))
    rename(session, world.trust, "Long ago", "Old Hand <old@example.nhs.uk>")
    monkeypatch.undo()
    old = {"actor": "Old Hand"}
    assert len(rows(admin.get(PATH, params={**old, "since": "2020-03-15", "until": "2020-03-15"}).text)) == 1
    assert rows(admin.get(PATH, params={**old, "since": "2020-03-16"}).text) == []
    assert rows(admin.get(PATH, params={**old, "until": "2020-03-14"}).text) == []
    today = datetime.now(UTC).date().isoformat()
    recent = rows(admin.get(PATH, params={"since": today}).text)
    assert recent and all(actor != "Old Hand <old@example.nhs.uk>" for actor, _, _ in recent)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"organisation_id": "not-an-id"}, "organisation_id"),
        ({"event_type": "DROP TABLE events"}, "event_type"),
        ({"resource_id": "12345"}, "resource_id"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-02-30"}, "until"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "until"),
    ],
)
def test_a_filter_that_cannot_be_read_is_shown_beside_its_field(
    admin: TestClient, params: dict[str, str], field: str
) -> None:
    answer = admin.get(PATH, params=params)
    assert answer.status_code == 422
    assert f'id="{field}-error"' in answer.text and f'href="#{field}"' in answer.text
    assert "audit-table" not in answer.text and answer.text.startswith("<!DOCTYPE html>")
    if field != "organisation_id":  # a select shows only its own options
        assert html.escape(params[field]) in answer.text  # what they typed stays in the form


def test_an_unknown_kind_of_record_is_no_filter(admin: TestClient) -> None:
    assert admin.get(PATH, params={"resource_type": "<script>"}).status_code == 200


def test_pages_by_keyset_without_gaps_or_repeats(admin: TestClient, session: Session, world: World) -> None:
    actor = "Pager <pager@example.nhs.uk>"
    made = []
    for number in range(25):
        org = make_org(session, name=f"Paged {number}")
        rename(session, org, f"Paged {number} renamed", actor)
        made.append(str(org.id))
    first = admin.get(PATH, params={"actor": "pager@"})
    listed = rows(first.text)
    assert len(listed) == 20 and 'href="/admin/audit?actor=pager%40"' not in first.text
    after = re.search(r'href="(/admin/audit\?[^"]*cursor=[^"]+)"', first.text)
    assert after, "a link to older changes"
    second = admin.get(html.unescape(after.group(1)))
    rest = rows(second.text)
    assert len(rest) == 5 and "cursor=" not in second.text.split("Newest changes")[-1]
    assert "Newest changes" in second.text and "actor=pager%40" in second.text  # the filter is kept
    assert [record for _, _, record in listed + rest] == list(reversed(made))


def test_a_cursor_it_did_not_give_out_means_the_first_page(admin: TestClient) -> None:
    assert admin.get(PATH, params={"cursor": "!!not-a-cursor"}).status_code == 200
    assert uuid.UUID
