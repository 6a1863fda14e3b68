"""Engines and sessions.

SQLite runs in WAL mode with foreign keys on and a busy timeout. Its writes
begin `IMMEDIATE`, so a writer takes the write lock before it reads anything
and waits (up to the busy timeout) rather than failing with "database is
locked" when it later tries to upgrade a read lock. Reads use a second engine
whose transactions begin `DEFERRED`, so readers never queue behind writers.
PostgreSQL needs neither trick: one engine serves both.
"""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app import nul_characters
from app.config import Settings


def make_sqlite_folder(database_url: str) -> None:
    """A SQLite file's folder must exist before anything connects to it."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_engine(settings: Settings, begin: str) -> Engine:
    make_sqlite_folder(settings.database_url)
    url = make_url(settings.database_url)
    engine = create_engine(
        url,
        connect_args={
            "check_same_thread": False,
            "timeout": settings.sqlite_busy_timeout_ms / 1000,
        },
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


class Database:
    """The engines of one database, and sessions on them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        if settings.is_sqlite:
            self.write_engine = _sqlite_engine(settings, "BEGIN IMMEDIATE")
            self.read_engine = _sqlite_engine(settings, "BEGIN")
        else:
            self.write_engine = create_engine(
                settings.database_url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_pool_size,
                pool_pre_ping=True,
            )
            self.read_engine = self.write_engine
        for engine in {self.write_engine, self.read_engine}:
            event.listen(engine, "before_cursor_execute", nul_characters.refuse_in_statement)

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    def session(self, *, write: bool = True) -> Session:
        engine = self.write_engine if write else self.read_engine
        return Session(engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write session that commits on success and rolls back on error."""
        with self.session(write=True) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


class Admission:
    """Admits requests to the database so that none can wait on another
    forever. A request holds its connection across several hops between the
    event loop and the thread pool; so it is let in only when the pool has a
    connection for it (no thread ever blocks on an empty pool while the
    requests that would free one wait for a thread), and only so many
    writers per process at a time: on SQLite one (no thread busy-waits on
    the write lock that another request of the same process holds while it
    waits for a thread); on PostgreSQL one fewer than the threads, because a
    writer's thread blocks on a row lock (`FOR UPDATE`) that another request
    may hold while it waits for a thread: with every thread so blocked, none
    would ever come free (tests/concurrency/test_one_etag.py found it). Reads
    never wait on a lock, so a thread always comes free for the holder. Both
    waits happen on the event loop, holding nothing."""

    def __init__(self, database: Database) -> None:
        settings = database.settings
        self._slots = asyncio.Semaphore(settings.db_pool_size * 2)
        writers = 1 if settings.is_sqlite else max(1, settings.threadpool_size - 1)
        self._writers = asyncio.Semaphore(writers)

    @asynccontextmanager
    async def admit(self, *, write: bool) -> AsyncIterator[None]:
        async with self._slots:
            if write:
                async with self._writers:
                    yield
            else:
                yield
