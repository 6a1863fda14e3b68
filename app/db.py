"""Engines and sessions.

SQLite runs in WAL mode with foreign keys on and a busy timeout. Its writes
begin `IMMEDIATE`, so a writer takes the write lock before it reads anything
and waits (up to the busy timeout) rather than failing with "database is
locked" when it later tries to upgrade a read lock. Reads use a second engine
whose transactions begin `DEFERRED`, so readers never queue behind writers.
PostgreSQL needs neither trick: one engine serves both.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.config import Settings


def _sqlite_engine(settings: Settings, begin: str) -> Engine:
    url = make_url(settings.database_url)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
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
