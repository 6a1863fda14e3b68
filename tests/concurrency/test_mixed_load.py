"""A mixed load on `hie serve --workers 2` (two uvicorn worker processes on
one database): clients open adoptions and organisations, change and move the
same few adoptions with If-Match, and read, all at once. Afterwards no update
is lost, nothing is made twice, nothing answered 5xx and the server never
met "database is locked"."""

import random
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlmodel import Session, col, func, select

from app.db import Database
from app.models import Adoption, Event, Organisation
from tests.concurrency.harness import (
    Scene,
    assert_clean_log,
    etag_of,
    integrity_problems,
    make_scene,
    serving,
)

CLIENTS = 12
OPERATIONS = 25  # per client
STAGES = ["identified", "needs_assessment", "co_design", "real_world_testing", "adopted", "sustained"]
# Each operation with its weight, and the answers it may get.
WEIGHTS = {"patch": 30, "move": 20, "open": 15, "organisation": 10, "read": 25}
EXPECTED = {
    "patch": {200, 412},
    "move": {201, 412},
    "open": {201, 409},
    "organisation": {201},
    "read": {200},
}


@dataclass
class Write:
    """A change to an adoption with If-Match, and what it was answered."""

    adoption_id: uuid.UUID
    kind: str
    if_match: int
    status: int
    version: int | None = None  # the ETag answered, for a 2xx
    notes: str | None = None
    stage: str | None = None


@dataclass
class Record:
    writes: list[Write] = field(default_factory=list)
    opened: list[tuple[tuple[uuid.UUID, uuid.UUID], int, str | None]] = field(default_factory=list)
    organisations: list[tuple[str, int, str | None]] = field(default_factory=list)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)


def version(etag: str) -> int:
    return int(etag.removeprefix("W/").strip('"'))


def test_mixed_load_on_two_workers_loses_nothing(fresh_database: Database, tmp_path: Path) -> None:
    scene = make_scene(fresh_database, adoptions=3, free_pairs=4)
    with fresh_database.session(write=False) as session:
        adoptions_before = _count(session, Adoption)
        initial = {a: _adoption(session, a) for a in scene.adoptions}
    record = Record()

    with serving(fresh_database.settings.database_url, tmp_path, workers=2) as server:

        def client(n: int) -> None:
            with httpx.Client(base_url=server.base, headers=scene.headers, timeout=120) as http:
                rng = random.Random(n)
                for i in range(OPERATIONS):
                    kind = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
                    status = OPERATIONS_BY_KIND[kind](http, scene, record, rng, f"client {n} op {i}")
                    record.statuses[(kind, status)] += 1

        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            list(pool.map(client, range(CLIENTS)))
    assert_clean_log(server)

    unexpected = {k: n for k, n in record.statuses.items() if k[1] not in EXPECTED[k[0]]}
    assert not unexpected, f"unexpected answers: {unexpected}"
    # A load that met no conflict would prove nothing (a run here: 92 of 158 changes were 412).
    assert record.statuses[("patch", 412)] + record.statuses[("move", 412)] > 0
    assert record.statuses[("open", 409)] > 0
    with fresh_database.session(write=False) as session:
        for adoption_id in scene.adoptions:
            writes = [w for w in record.writes if w.adoption_id == adoption_id]
            _assert_no_lost_update(session, adoption_id, initial[adoption_id], writes)
        _assert_each_opened_once(session, record, adoptions_before)
        _assert_each_organisation_once(session, record)
    assert integrity_problems(fresh_database.write_engine) == []


def _patch(http: httpx.Client, scene: Scene, record: Record, rng: random.Random, label: str) -> int:
    adoption_id = rng.choice(scene.adoptions)
    etag, _ = etag_of(http, adoption_id)
    notes = f"notes by {label}"
    answer = http.patch(f"/api/v1/adoptions/{adoption_id}", json={"notes": notes}, headers={"If-Match": etag})
    record.writes.append(_write(adoption_id, "patch", etag, answer, notes=notes))
    return answer.status_code


def _move(http: httpx.Client, scene: Scene, record: Record, rng: random.Random, label: str) -> int:
    adoption_id = rng.choice(scene.adoptions)
    etag, now = etag_of(http, adoption_id)
    to_stage = rng.choice([s for s in STAGES if s != now["stage"]])
    answer = http.post(
        f"/api/v1/adoptions/{adoption_id}/transitions",
        json={"to_stage": to_stage, "override": True, "reason": f"moved by {label}"},
        headers={"If-Match": etag},
    )
    record.writes.append(_write(adoption_id, "move", etag, answer, stage=to_stage))
    return answer.status_code


def _write(
    adoption_id: uuid.UUID,
    kind: str,
    etag: str,
    answer: httpx.Response,
    notes: str | None = None,
    stage: str | None = None,
) -> Write:
    done = version(answer.headers["ETag"]) if answer.is_success else None
    return Write(adoption_id, kind, version(etag), answer.status_code, done, notes, stage)


def _open(http: httpx.Client, scene: Scene, record: Record, rng: random.Random, label: str) -> int:
    pair = rng.choice(scene.free_pairs)
    body = {"innovation_id": str(pair[0]), "organisation_id": str(pair[1])}
    answer = http.post("/api/v1/adoptions", json=body)
    record.opened.append((pair, answer.status_code, answer.json().get("id")))
    return answer.status_code


def _organisation(http: httpx.Client, scene: Scene, record: Record, rng: random.Random, label: str) -> int:
    name = f"Practice of {label}"
    answer = http.post("/api/v1/organisations", json={"name": name, "kind": "primary_care"})
    record.organisations.append((name, answer.status_code, answer.json().get("id")))
    return answer.status_code


def _read(http: httpx.Client, scene: Scene, record: Record, rng: random.Random, label: str) -> int:
    path = rng.choice(["/api/v1/adoptions?limit=20", "/api/v1/events?limit=50", "/api/v1/organisations"])
    return http.get(path).status_code


OPERATIONS_BY_KIND = {
    "patch": _patch,
    "move": _move,
    "open": _open,
    "organisation": _organisation,
    "read": _read,
}


def _assert_no_lost_update(
    session: Session, adoption_id: uuid.UUID, initial: Adoption, writes: list[Write]
) -> None:
    """Every change answered 2xx is the final value or was built upon by a
    later 2xx change (sent with the ETag it answered): the changes form one
    chain of versions from the first to the last, each with its event."""
    final = _adoption(session, adoption_id)
    done = sorted((w for w in writes if w.version is not None), key=lambda w: w.version or 0)
    built_upon = {w.if_match for w in done}
    for write in done:
        is_final = write.version == final.version
        assert is_final or write.version in built_upon, f"lost: {write}"
    assert [w.if_match for w in done] == [initial.version, *(w.version for w in done[:-1])]
    assert final.version == (done[-1].version if done else initial.version)
    patches = [w for w in done if w.kind == "patch"]
    moves = [w for w in done if w.kind == "move"]
    assert final.notes == (patches[-1].notes if patches else initial.notes)
    assert final.stage == (moves[-1].stage if moves else initial.stage)
    events = session.exec(select(Event).where(Event.resource_id == adoption_id)).all()
    evented = {(e.type, e.data["version"]) for e in events}
    for write in done:
        kind = "adoption.updated" if write.kind == "patch" else "adoption.stage_changed"
        assert (kind, write.version) in evented, f"no event for {write}"


def _assert_each_opened_once(session: Session, record: Record, before: int) -> None:
    pairs = {pair for pair, _, _ in record.opened}
    for pair in pairs:
        tries = [(status, made) for p, status, made in record.opened if p == pair]
        made = [made for status, made in tries if status == 201]
        assert len(made) == 1, f"{pair}: {tries}"
        stored = session.exec(
            select(Adoption.id).where(Adoption.innovation_id == pair[0], Adoption.organisation_id == pair[1])
        ).all()
        assert [str(i) for i in stored] == made
    assert _count(session, Adoption) == before + len(pairs)


def _assert_each_organisation_once(session: Session, record: Record) -> None:
    for name, _, made in record.organisations:
        stored = session.exec(select(Organisation.id).where(Organisation.name == name)).all()
        assert [str(i) for i in stored] == [made]
    names = [name for name, _, _ in record.organisations]
    count = session.exec(select(func.count()).where(col(Organisation.name).in_(names))).one()
    assert count == len(names)


def _adoption(session: Session, adoption_id: uuid.UUID) -> Adoption:
    adoption = session.get(Adoption, adoption_id)
    assert adoption is not None
    session.expunge(adoption)
    return adoption


def _count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()
