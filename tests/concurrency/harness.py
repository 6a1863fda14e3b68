"""What the concurrency and crash tests share: a `hie serve` process group
that can be killed, stopped and started again on the same database, the
records a load works on, and the database's own integrity checks."""

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, col, select

from app.db import Database
from app.models import Adoption, Event, Organisation
from tests.factories import FULL_GATE, make_adoption, make_innovation, make_key, make_org
from tests.servers import ROOT, _wait_until_ready, free_port, server_environment

# High enough that no load here meets it: the limit is counted (in the
# database, as in production) but never refuses.
ENV = {"API_RATE_LIMIT": "1000000/minute", "LOG_LEVEL": "info"}
# Lines that must never appear in a server's log.
FORBIDDEN_IN_LOG = ("database is locked", "Traceback")


@dataclass
class Server:
    """`hie serve` as its own process group (uvicorn and its workers), so a
    SIGKILL takes all of it at once as a crash would; restartable on the
    same port and database, appending to one log."""

    database_url: str
    folder: Path
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.folder / f"server-{self.port}.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def start(self) -> None:
        environment = server_environment(self.database_url, {**ENV, **self.env})
        command = [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)]
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [*command, "--workers", str(self.workers)],
                env=environment,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_until_ready(self.base, self.process, self.log_path)

    def kill(self) -> None:
        """SIGKILL to every process of the group: nothing gets to clean up."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self) -> int:
        """SIGTERM to the main process only, as an orchestrator sends it; its exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=120)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.terminate()


@contextmanager
def serving(database_url: str, folder: Path, *, workers: int = 1) -> Iterator[Server]:
    server = Server(database_url, folder, workers)
    try:
        server.start()
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=30)


def assert_clean_log(server: Server) -> None:
    log = server.log()
    for forbidden in FORBIDDEN_IN_LOG:
        assert forbidden not in log, f"{forbidden!r} in the server's log:\n{log[-5000:]}"


@dataclass
class Scene:
    """What a load works on: an admin's key, adoptions to fight over, and
    (innovation, organisation) pairs with no adoption yet, to open at once."""

    key: str
    adoptions: list[uuid.UUID]
    free_pairs: list[tuple[uuid.UUID, uuid.UUID]]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def make_scene(database: Database, *, adoptions: int = 3, free_pairs: int = 4) -> Scene:
    with database.transaction() as session:
        exchange = make_org(session, "other", name="Exchange", is_exchange=True)
        key = make_key(session, exchange, ("read", "write", "admin"))
        supplier = make_org(session, "supplier", name="NeedleSmart")
        innovation = make_innovation(session, supplier)
        trusts = [make_org(session, "nhs_trust", name=f"Trust {n}") for n in range(adoptions + free_pairs)]
        opened = [make_adoption(session, innovation, t, gate=FULL_GATE).id for t in trusts[:adoptions]]
        pairs = [(innovation.id, trust.id) for trust in trusts[adoptions:]]
    return Scene(key, opened, pairs)


def etag_of(client: httpx.Client, adoption_id: uuid.UUID) -> tuple[str, dict[str, object]]:
    answer = client.get(f"/api/v1/adoptions/{adoption_id}")
    assert answer.status_code == 200, answer.text
    return answer.headers["ETag"], answer.json()


def integrity_problems(engine: Engine) -> list[str]:
    """What the database's own checks find wrong: SQLite's integrity and
    foreign-key checks; on PostgreSQL, amcheck over every B-tree index and
    its table (each index entry matches a row and every row is indexed),
    and an orphan count for every foreign key."""
    problems: list[str] = []
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            checked = connection.execute(text("PRAGMA integrity_check")).scalars().all()
            if checked != ["ok"]:
                problems.extend(checked)
            problems.extend(str(row) for row in connection.execute(text("PRAGMA foreign_key_check")))
            return problems
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
        indexes = connection.execute(
            text(
                "SELECT c.oid, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE a.amname = 'btree' AND n.nspname = 'public'"
            )
        ).all()
        for oid, name in indexes:
            try:
                connection.execute(text("SELECT bt_index_check(:oid, true)"), {"oid": oid})
            except Exception as exc:
                problems.append(f"{name}: {exc}")
                connection.rollback()
        connection.commit()
    problems.extend(orphans(engine))
    return problems


def orphans(engine: Engine) -> list[str]:
    """Rows whose foreign key names a row that is not there."""
    found: list[str] = []
    inspector = inspect(engine)
    with engine.connect() as connection:
        for table in inspector.get_table_names():
            for key in inspector.get_foreign_keys(table):
                pairs = list(zip(key["constrained_columns"], key["referred_columns"], strict=True))
                joined = " AND ".join(f'c."{mine}" = p."{theirs}"' for mine, theirs in pairs)
                present = " AND ".join(f'c."{mine}" IS NOT NULL' for mine, _ in pairs)
                query = (
                    f'SELECT count(*) FROM "{table}" c WHERE {present} AND NOT EXISTS '
                    f'(SELECT 1 FROM "{key["referred_table"]}" p WHERE {joined})'
                )
                count = connection.execute(text(query)).scalar_one()
                if count:
                    found.append(f"{table}.{key['constrained_columns']}: {count} orphans")
    return found


@dataclass
class Outcome:
    """One write of a load: what was sent, and the answer or the failure."""

    kind: str  # "organisation" (made by name) or "patch" (an adoption's notes)
    label: str
    target: uuid.UUID | None = None  # the adoption patched
    status: int | None = None
    body: dict[str, Any] = field(default_factory=dict)
    etag: str | None = None
    failure: str | None = None


class Load:
    """Clients writing as fast as they are answered, each request on a new
    connection (so a request is either refused, or taken and answered),
    until stopped: organisations made by name, adoptions' notes changed."""

    def __init__(self, server: Server, scene: Scene, clients: int = 8) -> None:
        self.server, self.scene, self.clients = server, scene, clients
        self.outcomes: list[Outcome] = []
        self.stopping = threading.Event()
        self._answered = threading.Semaphore(0)
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(clients)]

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join()

    def wait_for_answers(self, count: int) -> None:
        for _ in range(count):
            assert self._answered.acquire(timeout=300), "the load got no answers"

    def _run(self, n: int) -> None:
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(
            base_url=self.server.base, headers=self.scene.headers, timeout=120, limits=no_reuse
        ) as http:
            for i in itertools.count():
                if self.stopping.is_set():
                    return
                outcome = self._write(http, f"load {n}-{i}", i)
                self.outcomes.append(outcome)
                if outcome.status is not None:
                    self._answered.release()

    def _write(self, http: httpx.Client, label: str, i: int) -> Outcome:
        if i % 2:
            target = self.scene.adoptions[(i // 2) % len(self.scene.adoptions)]
            outcome = Outcome("patch", label, target)
            path, body, headers = f"/api/v1/adoptions/{target}", {"notes": label}, {"If-Match": "*"}
            request = http.build_request("PATCH", path, json=body, headers=headers)
        else:
            outcome = Outcome("organisation", label)
            body = {"name": label, "kind": "social_care"}
            request = http.build_request("POST", "/api/v1/organisations", json=body)
        try:
            answer = http.send(request)
        except httpx.TransportError as exc:
            outcome.failure = type(exc).__name__
            return outcome
        outcome.status, outcome.etag = answer.status_code, answer.headers.get("ETag")
        outcome.body = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
        return outcome


def assert_answered_writes_stored(database: Database, outcomes: list[Outcome]) -> None:
    """Every write answered 2xx is in the database with its event, and every
    write of the load that is in the database is whole: its row and its event."""
    with database.session(write=False) as session:
        _assert_organisations_stored(session, [o for o in outcomes if o.kind == "organisation"])
        _assert_patches_stored(session, [o for o in outcomes if o.kind == "patch"])


def _assert_organisations_stored(session: Session, made: list[Outcome]) -> None:
    stored = session.exec(
        select(Organisation).where(col(Organisation.name).in_([o.label for o in made]))
    ).all()
    by_name = {org.name: org for org in stored}
    events = session.exec(
        select(Event).where(
            Event.type == "organisation.created", col(Event.resource_id).in_([org.id for org in stored])
        )
    ).all()
    created = Counter(event.resource_id for event in events)
    for org in stored:
        assert created[org.id] == 1, f"{org.name}: {created[org.id]} organisation.created events"
    for outcome in made:
        if outcome.status == 201:
            assert outcome.label in by_name, f"answered 201 but not stored: {outcome}"
            assert str(by_name[outcome.label].id) == outcome.body["id"]


def _assert_patches_stored(session: Session, patches: list[Outcome]) -> None:
    targets = {o.target for o in patches}
    events = session.exec(
        select(Event).where(Event.type == "adoption.updated", col(Event.resource_id).in_(targets))
    ).all()
    evented = {(e.resource_id, e.data["version"], e.data["notes"]) for e in events}
    for outcome in patches:
        if outcome.status == 200:
            assert outcome.etag is not None
            key = (outcome.target, int(outcome.etag.strip('"')), outcome.label)
            assert key in evented, f"answered 200 but no event: {outcome}"
    for adoption in session.exec(select(Adoption).where(col(Adoption.id).in_(targets))).all():
        versions = [e.data["version"] for e in events if e.resource_id == adoption.id]
        assert adoption.version == max(versions, default=1), f"{adoption.id}: its version has no event"


def stored_labels(database: Database, outcomes: list[Outcome]) -> set[str]:
    """The writes of the load that the database holds."""
    labels = [o.label for o in outcomes]
    with database.session(write=False) as session:
        names = session.exec(select(Organisation.name).where(col(Organisation.name).in_(labels))).all()
        notes = session.exec(select(Event.data).where(Event.type == "adoption.updated")).all()
    return set(names) | {data["notes"] for data in notes}


@contextmanager
def holding_lock(database: Database, adoption_id: uuid.UUID) -> Iterator[None]:
    """Hold what a change to the adoption waits for: SQLite's write lock
    (its write engine begins IMMEDIATE), PostgreSQL's lock on its row."""
    with database.write_engine.connect() as connection:
        transaction = connection.begin()
        if database.dialect == "postgresql":
            connection.execute(select(Adoption.id).where(Adoption.id == adoption_id).with_for_update())
        try:
            yield
        finally:
            transaction.rollback()


def send_only(
    server: Server, method: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> HTTPConnection:
    """Send a request on a connection of its own, without waiting for the answer."""
    connection = HTTPConnection("127.0.0.1", server.port, timeout=120)
    all_headers = {**headers, "Content-Type": "application/json", "Connection": "close"}
    connection.request(method, path, body=json.dumps(body), headers=all_headers)
    return connection


def taken_by_server(port: int, connections: list[HTTPConnection]) -> bool:
    """Whether the server has accepted each connection and read all that
    was sent on it: the kernel's view, /proc/net/tcp, shows the server's
    end of each with an empty receive queue."""
    waiting = {c.sock.getsockname()[1] for c in connections if c.sock is not None}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, _, queues = line.split()[1:5]
        client_port = int(remote.split(":")[1], 16)
        ours = int(local.split(":")[1], 16) == port and client_port in waiting
        if ours and int(queues.split(":")[1], 16) == 0:
            waiting.discard(client_port)
    return not waiting


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting until {what}"
        time.sleep(0.05)
