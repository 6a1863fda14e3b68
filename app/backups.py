"""`hie backup` and `hie restore`: a whole database to one file and back.

SQLite: the online backup API (sqlite3's `Connection.backup`) copies a
consistent snapshot while the service keeps serving (in WAL mode a reader
never waits for a writer); the copy is checked (`PRAGMA integrity_check`)
and written as one self-contained file (journal mode DELETE) that takes the
backup's place only once complete. Restoring copies a backup into the
database's file the same way, page by page.

PostgreSQL: `pg_dump --format=custom` (one snapshot; the service keeps
serving) and `pg_restore --clean --if-exists` in a single transaction, so a
restore that fails changes nothing. Owners and grants are left out, so a
backup restores into any database the connecting role owns. The tools come
from PATH, else the newest /usr/lib/postgresql/*/bin (where Debian puts
them); pg_dump must be the server's version or newer.

A restore refuses a database that already holds tables unless forced.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

# Where Debian and Ubuntu install each PostgreSQL version's tools.
POSTGRES_LIB = Path("/usr/lib/postgresql")
# The table every migrated database of this service holds.
MARKER_TABLE = "alembic_version"


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why."""


class NotEmpty(BackupError):
    pass


def backup(database_url: str, file: Path) -> None:
    """Write the whole database to `file` (replaced only once the copy is complete)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        source = _sqlite_path(url)
        with _replacing(file) as partial:
            _sqlite_backup(source, partial)
        return
    pg_dump = pg_tool("pg_dump")
    with _replacing(file) as partial:
        _run(pg_dump, "--format=custom", "--file", str(partial), url=url)


def restore(database_url: str, file: Path, *, force: bool = False) -> None:
    """Replace the database's contents with a backup made by `backup`."""
    url = make_url(database_url)
    if not file.is_file():
        raise BackupError(f"No backup at {file}.")
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite:
        _check_backup(file)
    else:
        _check_dump(file)
    tables = _tables(url)
    if tables and not force:
        raise NotEmpty(
            f"The database {url.render_as_string(hide_password=True)} already holds {len(tables)} "
            "tables. Restoring replaces them all: add --force to do so."
        )
    if sqlite:
        _sqlite_restore(file, _sqlite_path(url))
    else:
        _run(
            pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            str(file),
            url=url,
        )


def pg_tool(name: str) -> str:
    """The path of a PostgreSQL client program: PATH first, else the newest
    version's in /usr/lib/postgresql."""
    found = shutil.which(name)
    if found:
        return found
    installed = sorted(POSTGRES_LIB.glob(f"*/bin/{name}"), key=_major_version, reverse=True)
    if installed:
        return str(installed[0])
    raise BackupError(
        f"{name} was not found on PATH or in {POSTGRES_LIB}/*/bin. Install PostgreSQL's client "
        f"programs, of the server's version or newer (Debian: apt-get install postgresql-client)."
    )


def _major_version(program: Path) -> int:
    version = program.parent.parent.name
    return int(version) if version.isdigit() else -1


@contextmanager
def _replacing(file: Path) -> Iterator[Path]:
    """A partial file beside `file` that replaces it once written, or is removed."""
    file = file.resolve()
    if not file.parent.is_dir():
        raise BackupError(f"No folder {file.parent} to write the backup in.")
    handle, name = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".partial", dir=file.parent)
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database has nothing to back up or restore into.")
    return Path(url.database)


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"No SQLite database at {source}.")
    with closing(_connect(source)) as live, closing(_connect(target)) as copy:
        live.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
    _check_backup(target)


def _sqlite_restore(backup_file: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(_connect(backup_file, read_only=True)) as saved, closing(_connect(target)) as live:
        saved.backup(live)
        live.execute("PRAGMA journal_mode=WAL")  # as the service runs it


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    # A busy timeout, so a backup waits for the service's writers rather than failing.
    if read_only:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    return sqlite3.connect(path, timeout=30)


def _check_backup(file: Path) -> None:
    """A SQLite file that passes its integrity check and is this service's."""
    try:
        with closing(_connect(file, read_only=True)) as connection:
            checked = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            marked = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MARKER_TABLE,)
            ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{file} is not a SQLite database: {exc}.") from None
    if checked != ["ok"]:
        raise BackupError(f"{file} fails SQLite's integrity check: {'; '.join(checked[:5])}.")
    if not marked:
        raise BackupError(f"{file} is not a backup of this service (it has no {MARKER_TABLE} table).")


def _check_dump(file: Path) -> None:
    """A pg_dump archive (pg_restore can list it) of this service's database."""
    listed = _run(pg_tool("pg_restore"), "--list", str(file))
    if not re.search(rf"\bTABLE public {MARKER_TABLE}\b", listed):
        raise BackupError(f"{file} is not a backup of this service (it has no {MARKER_TABLE} table).")


def _tables(url: URL) -> list[str]:
    if url.get_backend_name() == "sqlite" and not _sqlite_path(url).exists():
        return []
    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    except SQLAlchemyError as exc:
        raise BackupError(f"Could not read the database: {exc}") from None
    finally:
        engine.dispose()


def _run(program: str, *args: str, url: URL | None = None) -> str:
    """Run a PostgreSQL client program on the database (the password in its
    environment, never on the command line); its standard output."""
    command = [program, *args]
    environment = dict(os.environ)
    if url is not None:
        command.append(f"--dbname={_libpq_uri(url)}")
        if url.password:
            environment["PGPASSWORD"] = str(url.password)
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(program).name} failed: {done.stderr.strip()}")
    return done.stdout


def _libpq_uri(url: URL) -> str:
    """SQLAlchemy's URL as libpq takes it: no driver name, no password."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
