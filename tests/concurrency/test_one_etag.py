"""Fifty clients move one adoption with the one ETag they all read, at the
same moment, through two worker processes of a real server: one move wins."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, func, select

from app.db import Database
from app.models import Event, Transition
from tests.concurrency.harness import assert_clean_log, etag_of, make_scene, serving

CLIENTS = 50


def test_fifty_moves_with_one_etag_make_one_transition(fresh_database: Database, tmp_path: Path) -> None:
    scene = make_scene(fresh_database, adoptions=1, free_pairs=0)
    adoption_id = scene.adoptions[0]
    with fresh_database.session(write=False) as session:
        transitions_before = _count(session, Transition, Transition.adoption_id == adoption_id)
    ready = threading.Barrier(CLIENTS)

    with serving(fresh_database.settings.database_url, tmp_path, workers=2) as server:
        with httpx.Client(base_url=server.base, headers=scene.headers, timeout=120) as reader:
            etag, _ = etag_of(reader, adoption_id)

        def move(_: int) -> httpx.Response:
            with httpx.Client(base_url=server.base, headers=scene.headers, timeout=120) as client:
                client.get("/healthz")  # connected before the barrier: the moves leave together
                ready.wait()
                return client.post(
                    f"/api/v1/adoptions/{adoption_id}/transitions",
                    json={"to_stage": "needs_assessment"},
                    headers={"If-Match": etag},
                )

        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            answers = list(pool.map(move, range(CLIENTS)))
    assert_clean_log(server)

    statuses = Counter(answer.status_code for answer in answers)
    others = [a.text for a in answers if a.status_code not in (201, 412)]
    assert statuses == {201: 1, 412: CLIENTS - 1}, others
    won = next(answer for answer in answers if answer.status_code == 201)
    assert won.headers["ETag"] != etag
    with fresh_database.session(write=False) as session:
        assert _count(session, Transition, Transition.adoption_id == adoption_id) == transitions_before + 1
        moved = _count(
            session, Event, Event.resource_id == adoption_id, Event.type == "adoption.stage_changed"
        )
        assert moved == 1


def _count(session: Session, model: type, *where: Any) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()
