"""Crash safety. A server killed with SIGKILL mid-load and started again has
every write it answered 2xx, with its event (so it will be delivered), and
the database passes its own integrity checks. A server sent SIGTERM under
load answers the requests it has taken, then exits 0."""

import signal
from pathlib import Path

import httpx
import pytest

from app.db import Database
from tests.concurrency.harness import (
    Load,
    Outcome,
    assert_answered_writes_stored,
    assert_clean_log,
    etag_of,
    holding_lock,
    integrity_problems,
    make_scene,
    send_only,
    serving,
    stored_labels,
    taken_by_server,
    wait_until,
)

IN_FLIGHT = 6


def test_a_crash_mid_load_loses_no_answered_write(fresh_database: Database, tmp_path: Path) -> None:
    scene = make_scene(fresh_database, adoptions=2, free_pairs=0)
    with serving(fresh_database.settings.database_url, tmp_path, workers=2) as server:
        with Load(server, scene) as load:
            load.wait_for_answers(40)
            server.kill()
        server.start()  # again, on what the crash left
        with httpx.Client(base_url=server.base, headers=scene.headers, timeout=120) as http:
            again = http.post("/api/v1/organisations", json={"name": "After the crash", "kind": "other"})
            assert again.status_code == 201
            for adoption_id in scene.adoptions:
                etag_of(http, adoption_id)

    answered = [o for o in load.outcomes if o.status is not None]
    assert {o.status for o in answered} <= {200, 201}, [o for o in answered if o.status not in (200, 201)]
    assert_answered_writes_stored(fresh_database, load.outcomes)
    assert integrity_problems(fresh_database.write_engine) == []
    assert_clean_log(server)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_under_load_answers_what_it_took_and_exits_0(
    fresh_database: Database, tmp_path: Path, workers: int
) -> None:
    scene = make_scene(fresh_database, adoptions=2, free_pairs=0)
    held = scene.adoptions[0]
    with serving(fresh_database.settings.database_url, tmp_path, workers=workers) as server:
        assert server.process is not None
        with Load(server, scene) as load:
            load.wait_for_answers(20)
            with holding_lock(fresh_database, held):
                # Requests certain to be in flight when the signal comes: taken, and waiting on the lock.
                path = f"/api/v1/adoptions/{held}"
                headers = {**scene.headers, "If-Match": "*"}
                sent = [
                    send_only(server, "PATCH", path, {"notes": f"in flight {n}"}, headers)
                    for n in range(IN_FLIGHT)
                ]
                wait_until(lambda: taken_by_server(server.port, sent), "the server took the requests")
                server.process.send_signal(signal.SIGTERM)
                wait_until(lambda: server.log().count("Shutting down") >= workers, "the server shut down")
            answers = [connection.getresponse() for connection in sent]
            exit_status = server.process.wait(timeout=120)

    assert exit_status == 0, server.log()[-3000:]
    assert [answer.status for answer in answers] == [200] * IN_FLIGHT
    answered = [o for o in load.outcomes if o.status is not None]
    assert {o.status for o in answered} <= {200, 201}, [o for o in answered if o.status not in (200, 201)]
    in_flight = [Outcome("patch", f"in flight {n}", held, 200) for n in range(IN_FLIGHT)]
    for outcome, answer in zip(in_flight, answers, strict=True):
        outcome.etag = answer.getheader("ETag")
    assert_answered_writes_stored(fresh_database, load.outcomes + in_flight)
    # Nothing was written whose answer was lost on the way out.
    stored = stored_labels(fresh_database, load.outcomes + in_flight)
    assert stored <= {o.label for o in answered + in_flight}
    assert_clean_log(server)
