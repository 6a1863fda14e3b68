"""The change feed under concurrent writers, with real commits: a reader that
follows `after` sees every event once, in order, whatever the order in which
the writers' transactions commit."""

import random
import threading
import time
import uuid

from sqlmodel import col, select

from app.auth import Principal
from app.db import Database
from app.models.event import Event
from app.models.vocabulary import Role, Scope
from app.services import events
from app.services.pagination import PageRequest

WRITERS = 6
TRANSACTIONS = 30

ADMIN = Principal(
    organisation_id=uuid.uuid4(),
    organisation_kind="other",
    region=None,
    role=Role.admin,
    scopes=frozenset(Scope),
    label="tests",
)


def _write(database: Database, writer: int, failures: list[BaseException]) -> None:
    """Transactions of one to three events that stay open a little after
    their ids are given, so commits land out of id order."""
    rng = random.Random(writer)
    try:
        for n in range(TRANSACTIONS):
            with database.transaction() as session:
                for part in range(rng.randint(1, 3)):
                    events.record(session, None, "test.written", ("test", uuid.uuid4()), {"n": n, "p": part})
                    session.flush()
                time.sleep(rng.uniform(0, 0.008))
    except BaseException as exc:
        failures.append(exc)
        raise


def _follow(database: Database, stop: threading.Event, seen: list[int]) -> None:
    after: int | None = None
    idle_after_stop = 0
    while idle_after_stop < 2:
        with database.session(write=False) as session:
            page = events.feed(session, ADMIN, PageRequest(limit=50), after)
        seen.extend(item.id for item in page.items)
        if page.items:
            after = page.items[-1].id
        elif stop.is_set():
            idle_after_stop += 1


def test_a_reader_following_after_never_misses_an_event(fresh_database: Database) -> None:
    failures: list[BaseException] = []
    seen: list[int] = []
    stop = threading.Event()
    reader = threading.Thread(target=_follow, args=(fresh_database, stop, seen))
    writers = [threading.Thread(target=_write, args=(fresh_database, w, failures)) for w in range(WRITERS)]
    reader.start()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    stop.set()
    reader.join(timeout=60)
    assert not failures
    with fresh_database.session(write=False) as session:
        stored = list(session.exec(select(Event.id).order_by(col(Event.id))).all())
    assert len(stored) >= WRITERS * TRANSACTIONS
    assert seen == stored  # each once, in order, none skipped


def test_the_horizon_stops_below_a_transaction_still_in_flight(fresh_database: Database) -> None:
    if fresh_database.dialect != "postgresql":
        with fresh_database.session(write=False) as session:
            assert events.horizon(session) is None  # one writer at a time: nothing to wait for
        return
    with fresh_database.transaction() as session:
        first = events.record(session, None, "test.written", ("test", uuid.uuid4()), {})
    slow = fresh_database.session()
    try:
        events.record(slow, None, "test.written", ("test", uuid.uuid4()), {})
        slow.flush()  # given an id, not committed
        with fresh_database.transaction() as session:
            events.record(session, None, "test.written", ("test", uuid.uuid4()), {})
        with fresh_database.session(write=False) as session:
            assert events.horizon(session) == first.id
            page = events.feed(session, ADMIN, PageRequest(limit=10), first.id)
            assert page.items == []  # the committed later event waits for the slow one
        slow.commit()
    finally:
        slow.close()
    with fresh_database.session(write=False) as session:
        page = events.feed(session, ADMIN, PageRequest(limit=10), first.id)
        assert [item.id for item in page.items] == [first.id + 1, first.id + 2]


def test_a_bulk_insert_in_flight_holds_the_horizon_too(fresh_database: Database) -> None:
    """The import inserts its events in bulk, not through `record`: it is held back all the same."""
    if fresh_database.dialect != "postgresql":
        return
    from sqlalchemy import insert

    with fresh_database.transaction() as session:
        first = events.record(session, None, "test.written", ("test", uuid.uuid4()), {})
    bulk = fresh_database.session()
    try:
        rows = [events.values(None, "test.imported", ("test", uuid.uuid4()), {}) for _ in range(3)]
        bulk.execute(insert(Event), rows)
        with fresh_database.transaction() as session:
            events.record(session, None, "test.written", ("test", uuid.uuid4()), {})
        with fresh_database.session(write=False) as session:
            assert events.horizon(session) == first.id
        bulk.commit()
    finally:
        bulk.close()
    with fresh_database.session(write=False) as session:
        page = events.feed(session, ADMIN, PageRequest(limit=10), first.id)
    assert [item.type for item in page.items] == ["test.imported"] * 3 + ["test.written"]
