"""Hostile input to the JSON API: bodies too large, too deep or not JSON,
wrong types, unknown enum values, control characters, formulas for a
spreadsheet. Each is a clear 4xx problem, nothing is written, and text that
is allowed comes back exactly as sent."""

import csv
import io
import json
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.api.exports import read_sessions
from tests.api.helpers import assert_problem, counts, error_fields
from tests.factories import World

INNOVATIONS = "/api/v1/innovations"


def innovation(world: World, **values: Any) -> dict[str, Any]:
    return {
        "name": "Bedside sharps destroyer",
        "summary": "Melts needles at the point of care.",
        "supplier_id": str(world.supplier.id),
        **values,
    }


def refused(
    client: TestClient, session: Session, status: int, method: str, url: str, **request: Any
) -> dict[str, Any]:
    """Sends the request and checks it is a `status` problem that wrote nothing."""
    before = counts(session)
    answer = client.request(method, url, **request)
    body = assert_problem(answer, status)
    session.expire_all()
    assert counts(session) == before
    return body


# --- size ---------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_before_it_is_read(
    client: TestClient, session: Session, world: World
) -> None:
    huge = json.dumps(innovation(world, description="x" * (2 * 1024 * 1024)))
    headers = {**world.auth("supplier"), "Content-Type": "application/json"}
    body = refused(client, session, 413, "POST", INNOVATIONS, content=huge, headers=headers)
    assert "1 MB" in body["detail"]
    declared = client.get("/openapi.json").json()["paths"][INNOVATIONS]["post"]["responses"]
    assert "413" in declared  # every operation with a body says it may answer so


def test_a_body_over_the_limit_without_a_length_is_413_too(
    client: TestClient, session: Session, world: World
) -> None:
    """Chunked: no Content-Length to refuse it by, so the bytes are counted."""

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 64 * 1024
        yield b'"}'

    headers = {**world.auth("supplier"), "Content-Type": "application/json"}
    refused(client, session, 413, "POST", INNOVATIONS, content=chunks(), headers=headers)


def test_a_long_text_within_the_body_limit_is_422_naming_the_field(
    client: TestClient, session: Session, world: World
) -> None:
    body = refused(
        client, session, 422, "POST", INNOVATIONS, json=innovation(world, name="x" * 100_000),
        headers=world.auth("supplier"),
    )  # fmt: skip
    assert error_fields(body) == {"body.name"}


def test_a_huge_list_is_422(client: TestClient, session: Session, world: World) -> None:
    many = innovation(world, categories=["medical_device"] * 50_000)
    body = refused(client, session, 422, "POST", INNOVATIONS, json=many, headers=world.auth("supplier"))
    assert error_fields(body) == {"body.categories"}


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_json_is_422_not_a_crash(
    client: TestClient, session: Session, world: World, depth: int
) -> None:
    nested = "[" * depth + "]" * depth
    content = json.dumps(innovation(world))[:-1] + f', "evidence": {nested}}}'
    headers = {**world.auth("supplier"), "Content-Type": "application/json"}
    refused(client, session, 422, "POST", INNOVATIONS, content=content, headers=headers)


# --- not JSON, wrong types, unknown values ------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"not json", b"\xff\xfe\x00\x01", b'{"name": "\x00"}', b"[]", b"null", b'"a string"'],
    ids=["empty", "truncated", "words", "not-utf-8", "raw-nul", "array", "null", "string"],
)
def test_a_body_that_is_not_a_json_object_is_422(
    client: TestClient, session: Session, world: World, content: bytes
) -> None:
    headers = {**world.auth("supplier"), "Content-Type": "application/json"}
    body = refused(client, session, 422, "POST", INNOVATIONS, content=content, headers=headers)
    assert error_fields(body) <= {"body"}


def test_wrong_types_are_422_naming_every_field(client: TestClient, session: Session, world: World) -> None:
    wrong = {
        "name": 12,
        "summary": ["a", "list"],
        "supplier_id": "not-a-uuid",
        "categories": "medical_device",
        "care_settings": [{"an": "object"}],
        "evidence": "none",
        "regulatory": [],
        "status": True,
    }
    body = refused(client, session, 422, "POST", INNOVATIONS, json=wrong, headers=world.auth("supplier"))
    assert error_fields(body) >= {
        "body.name",
        "body.summary",
        "body.supplier_id",
        "body.categories",
        "body.evidence",
        "body.regulatory",
        "body.status",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("categories", ["teleportation"]),
        ("care_settings", ["moon_base"]),
        ("maturity", "legendary"),
        ("status", "deleted"),
        ("categories", ["MEDICAL_DEVICE"]),
    ],
)
def test_unknown_enum_values_are_422(
    client: TestClient, session: Session, world: World, field: str, value: Any
) -> None:
    body = refused(
        client, session, 422, "POST", INNOVATIONS, json=innovation(world, **{field: value}),
        headers=world.auth("supplier"),
    )  # fmt: skip
    assert any(name.startswith(f"body.{field}") for name in error_fields(body))


@pytest.mark.parametrize(
    "query",
    ["stage=teleported", "region=atlantis", "limit=0", "limit=101", "limit=ten", "cursor=forged"],
)
def test_unknown_filter_values_are_422(
    client: TestClient, session: Session, world: World, query: str
) -> None:
    refused(client, session, 422, "GET", f"/api/v1/adoptions?{query}", headers=world.auth("facilitator"))


def test_an_unknown_stage_to_move_to_is_422(client: TestClient, session: Session, world: World) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}"
    etag = client.get(url, headers=world.auth("trust")).headers["ETag"]
    headers = {**world.auth("trust"), "If-Match": etag}
    refused(client, session, 422, "POST", f"{url}/transitions", json={"to_stage": "done"}, headers=headers)


# --- control characters and unicode ----------------------------------------------


@pytest.mark.parametrize("field", ["name", "summary", "description", "origin_sector", "external_ref"])
def test_a_nul_character_in_text_is_422_naming_the_field(
    client: TestClient, session: Session, world: World, field: str
) -> None:
    """PostgreSQL cannot store U+0000 in text: refused as bad input on both
    databases, never a 500."""
    sent = innovation(world, **{field: "before\x00after"})
    body = refused(client, session, 422, "POST", INNOVATIONS, json=sent, headers=world.auth("supplier"))
    assert error_fields(body) == {f"body.{field}"}


def test_a_nul_character_deep_in_a_body_is_422(client: TestClient, session: Session, world: World) -> None:
    sent = innovation(world, evidence=[{"type": "clinical_or_care", "summary": "a\x00b"}])
    body = refused(client, session, 422, "POST", INNOVATIONS, json=sent, headers=world.auth("supplier"))
    assert error_fields(body) == {"body.evidence.0.summary"}


def test_a_nul_character_in_a_gate_value_is_422(client: TestClient, session: Session, world: World) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}"
    etag = client.get(url, headers=world.auth("trust")).headers["ETag"]
    headers = {**world.auth("trust"), "If-Match": etag}
    sent = {"gate": {"champion": "Dr\x00 Patel"}, "notes": "fine"}
    body = refused(client, session, 422, "PATCH", url, json=sent, headers=headers)
    assert error_fields(body) == {"body.gate.champion"}


@pytest.mark.parametrize(
    "url", [f"{INNOVATIONS}?q=%00", f"{INNOVATIONS}?origin_sector=a%00b", "/api/v1/challenges?q=x%00"]
)
def test_a_nul_character_in_a_query_is_422(
    client: TestClient, session: Session, world: World, url: str
) -> None:
    body = refused(client, session, 422, "GET", url, headers=world.auth("facilitator"))
    assert all(field.startswith("query.") for field in error_fields(body))


@pytest.mark.parametrize(
    "text",
    [
        "Crèche café, naïve résumé",
        "Ysbyty Gwynedd ŵ ŷ",
        "北京 · Москва · العربية · עברית",
        "Emoji 🩺💉🏥 and a ZWJ family 👩‍👩‍👧",
        "e\u0301 combining, \u200b zero width, \u202e right to left",
        "tab\tand\nnew line",
        "quotes ' \" ` and a backslash \\ and %s %d {0}",
    ],
)
def test_unicode_is_kept_exactly(client: TestClient, world: World, text: str) -> None:
    made = client.post(INNOVATIONS, json=innovation(world, summary=text), headers=world.auth("supplier"))
    assert made.status_code == 201, made.text
    again = client.get(made.headers["Location"], headers=world.auth("supplier")).json()
    assert again["summary"] == text


def test_a_lone_surrogate_is_422(client: TestClient, session: Session, world: World) -> None:
    content = json.dumps(innovation(world))[:-1] + ', "summary": "\\ud800"}'
    headers = {**world.auth("supplier"), "Content-Type": "application/json"}
    refused(client, session, 422, "POST", INNOVATIONS, content=content, headers=headers)


# --- spreadsheets -----------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formulas_in_every_exported_text_are_neutralised(
    app: FastAPI, client: TestClient, session: Session, world: World, start: str
) -> None:
    app.dependency_overrides[read_sessions] = lambda: lambda: nullcontext(session)  # see test_exports.py
    formula = f'{start}HYPERLINK("https://evil.example","click")'
    sent = innovation(
        world, name=formula, summary=formula, origin_sector=formula, cost_summary=formula, status="published"
    )
    assert client.post(INNOVATIONS, json=sent, headers=world.auth("supplier")).status_code == 201
    exported = client.get("/api/v1/exports/innovations.csv", headers=world.auth("facilitator"))
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    cells = [cell for row in rows for cell in row]
    assert cells.count("'" + formula) >= 3
    assert not [cell for cell in cells if cell and cell[0] in "=+-@\t\r"]


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/" + "é" * 470,  # 490 characters typed, 2,840 once percent-encoded
        "https://" + "ü" * 60 + ".example/" + "a" * 420,  # the host grows in punycode
    ],
)
def test_a_web_address_too_long_once_encoded_is_422_not_a_500(
    client: TestClient, session: Session, world: World, url: str
) -> None:
    """Found by the fuzzing on PostgreSQL: within 500 characters as typed,
    over the column's 500 once encoded, the insert failed with a 500."""
    body = refused(
        client, session, 422, "POST", INNOVATIONS, json=innovation(world, website=url),
        headers=world.auth("supplier"),
    )  # fmt: skip
    assert error_fields(body) == {"body.website"}


# --- methods a path does not take ----------------------------------------------------


def test_a_method_the_path_does_not_take_is_405_naming_every_method_it_does(
    client: TestClient, world: World
) -> None:
    """Found by the fuzzing: Allow named only the first route's methods."""
    answer = client.request("PUT", f"/api/v1/adoptions/{world.adoption.id}", headers=world.auth("trust"))
    assert_problem(answer, 405)
    assert {"GET", "PATCH"} <= set(answer.headers["Allow"].replace(" ", "").split(","))


@pytest.mark.parametrize("path", ["status", "replies"])
def test_a_word_beside_an_id_is_never_taken_for_one(
    client: TestClient, session: Session, world: World, path: str
) -> None:
    """Found by the fuzzing: PATCH /applications/status reached the review
    route (an application id) and answered 428 instead of 405."""
    answer = refused(
        client, session, 405, "PATCH", f"/api/v1/applications/{path}", json={}, headers=world.auth("admin")
    )
    assert answer["status"] == 405
