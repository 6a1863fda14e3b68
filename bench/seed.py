"""Fresh databases, migrated by the app's own migrations and filled in bulk.

SQLite: SQLAlchemy Core `executemany` on the app's own tables (so ids, times
and JSON are stored exactly as the app stores them), in one transaction.
The FTS5 triggers and the secondary indexes are dropped for the load and put
back from their own stored SQL afterwards, and the FTS index is rebuilt in
one pass: far faster than keeping them row by row.

PostgreSQL: `COPY ... FROM STDIN` through psycopg, with the secondary
indexes (the GIN search index among them) dropped for the load and recreated
from `pg_indexes` afterwards, then `VACUUM ANALYZE` as autovacuum would.

Both write each adoption's transitions (the pipeline analytics read them),
but no events: the endpoints measured don't read those."""

import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Table, create_engine, event, insert, text
from sqlalchemy.engine import Connection, make_url

from app.migrations import upgrade
from app.models import (
    Adoption,
    Challenge,
    ChallengeFacet,
    Innovation,
    InnovationFacet,
    Organisation,
    Transition,
)
from bench.data import Generator, Shape, challenges

TABLES: dict[str, Table] = {
    "organisations": Organisation.__table__,  # type: ignore[attr-defined]
    "innovations": Innovation.__table__,  # type: ignore[attr-defined]
    "innovation_facets": InnovationFacet.__table__,  # type: ignore[attr-defined]
    "adoptions": Adoption.__table__,  # type: ignore[attr-defined]
    "transitions": Transition.__table__,  # type: ignore[attr-defined]
    "challenges": Challenge.__table__,  # type: ignore[attr-defined]
    "challenge_facets": ChallengeFacet.__table__,  # type: ignore[attr-defined]
}
# innovation_words: PostgreSQL's copy of each innovation's words for matching,
# filled by a trigger as innovations arrive (migration 0011); its index too is
# set aside while they do.
BULK_TABLES = ("innovations", "innovation_words", "innovation_facets", "adoptions", "transitions")


@dataclass
class SeedReport:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    total_seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.total_seconds if self.total_seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
            "total_seconds": round(self.total_seconds, 2),
            "rows_per_second": round(self.rows_per_second),
        }


class _Timer:
    def __init__(self, report: SeedReport) -> None:
        self.report = report

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.report.seconds[name] = self.report.seconds.get(name, 0.0) + time.perf_counter() - started


def _batches(gen: Generator) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Every table's rows in an order that satisfies the foreign keys."""
    for rows in gen.organisations():
        yield "organisations", rows
    for rows, facets in gen.innovations():
        yield "innovations", rows
        yield "innovation_facets", facets
    for rows, transitions in gen.adoptions():
        yield "adoptions", rows
        yield "transitions", transitions
    for rows, facets in challenges(gen):
        yield "challenges", rows
        yield "challenge_facets", facets


def _load(
    gen: Generator, report: SeedReport, timer: _Timer, write: Callable[[str, list[dict[str, Any]]], None]
) -> None:
    for name, rows in _batches(gen):
        if not rows:
            continue
        with timer.step(f"insert {name}"):
            write(name, rows)
        report.rows[name] = report.rows.get(name, 0) + len(rows)


# --- SQLite -------------------------------------------------------------------


def sqlite_path(work: Path, n: int) -> Path:
    return work / f"bench-{n}.db"


def create_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


def seed_sqlite(url: str, shape: Shape, *, analyze: bool = False, seed: int = 2026) -> SeedReport:
    report = SeedReport()
    timer = _Timer(report)
    started = time.perf_counter()
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # The loader's own connection only: the service keeps its own pragmas.
        cursor = dbapi_connection.cursor()
        for pragma in ("synchronous=OFF", "cache_size=-1000000", "temp_store=MEMORY", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    gen = Generator(shape, seed)
    with engine.begin() as conn:
        saved = _sqlite_set_aside(conn)

        def write(name: str, rows: list[dict[str, Any]]) -> None:
            conn.execute(insert(TABLES[name]), rows)

        _load(gen, report, timer, write)
        with timer.step("indexes and search"):
            for sql in saved:
                conn.exec_driver_sql(sql)
            conn.exec_driver_sql("INSERT INTO innovations_fts(innovations_fts) VALUES ('rebuild')")
        with timer.step("check foreign keys"):
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"seeded rows break foreign keys: {broken[:5]}")
    with engine.connect() as conn:
        if analyze:
            with timer.step("analyze"):
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    report.total_seconds = time.perf_counter() - started
    return report


def _sqlite_set_aside(conn: Connection) -> list[str]:
    """Drop the search triggers and secondary indexes of the bulk tables;
    return the SQL that puts them back."""
    names = ", ".join(f"'{t}'" for t in BULK_TABLES)
    rows = conn.exec_driver_sql(
        "SELECT type, name, sql FROM sqlite_master "
        f"WHERE tbl_name IN ({names}) AND sql IS NOT NULL AND "
        "(type = 'index' OR (type = 'trigger' AND name LIKE 'innovations_fts_%'))"
    ).fetchall()
    for kind, name, _ in rows:
        conn.exec_driver_sql(f'DROP {kind.upper()} "{name}"')
    return [sql for _, _, sql in rows]


# --- PostgreSQL ------------------------------------------------------------------


def postgres_url(server_url: str, n: int) -> str:
    return make_url(server_url).set(database=f"bench_{n}").render_as_string(hide_password=False)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_postgres(url: str) -> str:
    """A fresh database of the URL's name (dropped first if there), migrated."""
    name = make_url(url).database
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(_libpq(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    upgrade(url)
    return url


def drop_postgres(url: str) -> None:
    name = make_url(url).database
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(_libpq(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _copy_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value


def seed_postgres(url: str, shape: Shape, *, seed: int = 2026) -> SeedReport:
    report = SeedReport()
    timer = _Timer(report)
    started = time.perf_counter()
    gen = Generator(shape, seed)
    columns = {name: [c.name for c in table.columns] for name, table in TABLES.items()}
    with psycopg.connect(_libpq(url)) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        saved = _postgres_set_aside(conn)

        def write(name: str, rows: list[dict[str, Any]]) -> None:
            # Columns the generator leaves out take the database's defaults.
            names = [c for c in columns[name] if c in rows[0]]
            with conn.cursor().copy(f"COPY {name} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([_copy_value(row[c]) for c in names])

        _load(gen, report, timer, write)
        with timer.step("indexes and search"):
            for sql in saved:
                conn.execute(sql)
        conn.commit()
    with psycopg.connect(_libpq(url), autocommit=True) as conn, timer.step("analyze"):
        conn.execute("VACUUM ANALYZE")
    report.total_seconds = time.perf_counter() - started
    return report


def _postgres_set_aside(conn: psycopg.Connection[Any]) -> list[str]:
    """Drop the secondary indexes of the bulk tables (not those behind a
    primary key or unique constraint); return the SQL that puts them back."""
    rows = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i "
        "WHERE i.schemaname = 'public' AND i.tablename = ANY(%s) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        [list(BULK_TABLES)],
    ).fetchall()
    for name, _ in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in rows]


# --- after seeding ----------------------------------------------------------------


def _network_in(session: Any, region: str) -> Any:
    """The id of `region`'s first Health Innovation Network, whose facilitator the benchmark acts as."""
    from sqlmodel import col, select

    hin_id = session.exec(
        select(Organisation.id)
        .where(Organisation.kind == "health_innovation_network", Organisation.region == region)
        .order_by(col(Organisation.id))
    ).first()
    assert hin_id is not None, f"no Health Innovation Network in {region}"
    return hin_id


def issue_keys(url: str, region: str = "north_west") -> dict[str, str]:
    """Two keys through the app's own service: a facilitator's (a Health
    Innovation Network of `region`, read and write) and an admin's."""

    from app.config import Settings
    from app.db import Database
    from app.models.api_key import ApiKeyCreate
    from app.models.vocabulary import Scope
    from app.services import api_keys

    database = Database(Settings(database_url=url))
    try:
        with database.transaction() as session:
            hin_id = _network_in(session, region)
            _, facilitator = api_keys.issue(
                session,
                None,
                ApiKeyCreate(organisation_id=hin_id, name="bench reader", scopes=[Scope.read, Scope.write]),
            )
            _, admin = api_keys.issue(
                session,
                None,
                ApiKeyCreate(organisation_id=hin_id, name="bench admin", scopes=[Scope.admin]),
            )
    finally:
        database.dispose()
    return {"facilitator": facilitator, "admin": admin}


BENCH_USER = "bench.facilitator@example.org"
# Only ever on the benchmark's own throwaway databases.
BENCH_PASSWORD = "bench-password-not-secret"


def web_session(url: str, region: str = "north_west") -> str:
    """A session cookie for the pages, through the app's own services: a
    facilitator of `region`'s Health Innovation Network (made on first use)
    signs in with a password, as a person would."""
    from sqlmodel import select

    from app.config import Settings
    from app.db import Database
    from app.models.user import User, UserCreate
    from app.models.vocabulary import Role
    from app.services import sessions, users
    from app.web.deps import COOKIE

    settings = Settings(database_url=url)
    database = Database(settings)
    try:
        with database.transaction() as session:
            if session.exec(select(User.id).where(User.email == BENCH_USER)).first() is None:
                hin_id = _network_in(session, region)
                data = UserCreate(
                    email=BENCH_USER, name="Bench Facilitator", organisation_id=hin_id, role=Role.facilitator
                )
                users.create(session, None, data, BENCH_PASSWORD)
            signed_in = sessions.sign_in(session, settings, BENCH_USER, BENCH_PASSWORD)
            assert signed_in is not None, "the benchmark's facilitator could not sign in"
    finally:
        database.dispose()
    return f"{COOKIE}={signed_in[1]}"


def credentials(url: str) -> dict[str, str]:
    """What each Endpoint.principal sends: the two API keys and the cookie."""
    return {**issue_keys(url), "web": web_session(url)}


def counts(url: str, tables: Iterable[str] = TABLES) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    finally:
        engine.dispose()
