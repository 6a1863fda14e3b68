"""What keeping the change feed in commit order costs on PostgreSQL.

    python -m bench.event_order [--writers 8] [--seconds 5] [--hold-ms 2]

A fresh, migrated PostgreSQL database; `--writers` threads each commit
transactions that write one event and then hold the transaction open
`--hold-ms` (the rest of a request's work before its commit) for `--seconds`,
under each way of ordering the events:

- `none`: no ordering (a feed reader may skip events: wrong, the baseline);
- `global lock`: a transaction-level exclusive advisory lock taken before the
  first event, so event-writing transactions commit one at a time, in id order;
- `announce`: what app/services/events.py does (a shared advisory lock whose
  key is the sequence's value; readers stop below the oldest in flight).

It reports commits per second, and what one `horizon` read and one feed page
cost a reader. The snapshot-xmin alternative is not measured: in id order it
is wrong (an older transaction may commit a higher id while a younger one
still holds a lower one), see app/services/events.py. Saved to
bench/results/event-order-postgresql-hold<ms>ms.json."""

import json
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import text
from sqlmodel import Session

from app.config import Settings
from app.db import Database
from app.models.vocabulary import Role, Scope
from app.services import events
from app.services.pagination import PageRequest
from bench import seed
from bench.machine import describe

HERE = Path(__file__).resolve().parent
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
console = Console(stderr=True)
cli = typer.Typer(add_completion=False)

_real_announce = events.announce


def _global_lock(session: Session) -> None:
    connection = session.connection()  # begins the transaction if need be
    current = session.get_transaction()
    if session.info.get("bench.locked") is not current:
        connection.execute(text("SELECT pg_advisory_xact_lock(4849450)"))
        session.info["bench.locked"] = current


MODES: dict[str, Callable[[Session], None]] = {
    "none": lambda session: None,
    "global lock": _global_lock,
    "announce": _real_announce,
}


def _writer(database: Database, until: float, hold: float, commits: list[int]) -> None:
    done = 0
    while time.monotonic() < until:
        with database.transaction() as session:
            events.record(session, None, "bench.written", ("bench", uuid.uuid4()), {"n": done})
            session.flush()
            time.sleep(hold)
        done += 1
    commits.append(done)


def _commits_per_second(database: Database, writers: int, seconds: float, hold: float) -> float:
    commits: list[int] = []
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_writer, args=(database, until, hold, commits)) for _ in range(writers)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(commits) / (time.monotonic() - started)


def _median_ms(action: Callable[[], Any], times: int = 200) -> float:
    took = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        took.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(took), 3)


def _reader_costs(database: Database) -> dict[str, float]:
    from app.auth import Principal

    admin = Principal(uuid.uuid4(), "other", None, Role.admin, frozenset(Scope), "bench")
    with database.session(write=False) as session:
        horizon_ms = _median_ms(lambda: events.horizon(session))
        page_ms = _median_ms(lambda: events.feed(session, admin, PageRequest(limit=100), 0))
        real_horizon = events.horizon
        events.horizon = lambda s: None  # type: ignore[assignment]
        try:
            bare_page_ms = _median_ms(lambda: events.feed(session, admin, PageRequest(limit=100), 0))
        finally:
            events.horizon = real_horizon  # type: ignore[assignment]
    return {"horizon_ms": horizon_ms, "feed_page_ms": page_ms, "feed_page_without_horizon_ms": bare_page_ms}


@cli.command()
def main(
    writers: Annotated[int, typer.Option()] = 8,
    seconds: Annotated[float, typer.Option()] = 5.0,
    hold_ms: Annotated[float, typer.Option()] = 5.0,
    rounds: Annotated[int, typer.Option(help="Each mode this many times, interleaved; the median.")] = 3,
    postgres_url: Annotated[str, typer.Option(envvar="BENCH_POSTGRES_URL")] = DEFAULT_POSTGRES,
) -> None:
    results: dict[str, Any] = {"writers": writers, "seconds": seconds, "hold_ms": hold_ms, "modes": {}}
    url = seed.create_postgres(seed.postgres_url(postgres_url, 0).replace("bench_0", "bench_event_order"))
    try:
        database = Database(Settings(database_url=url, db_pool_size=writers + 2))
        try:
            rates: dict[str, list[float]] = {name: [] for name in MODES}
            for _ in range(rounds):
                for name, announce in MODES.items():
                    events.announce = announce  # type: ignore[assignment]
                    try:
                        rates[name].append(_commits_per_second(database, writers, seconds, hold_ms / 1000))
                    finally:
                        events.announce = _real_announce  # type: ignore[assignment]
            for name, measured in rates.items():
                results["modes"][name] = round(statistics.median(measured), 1)
                console.print(f"{name}: {statistics.median(measured):,.0f} commits/s ({measured})")
            results["reader"] = _reader_costs(database)
            console.print(f"reader: {results['reader']}")
        finally:
            database.dispose()
    finally:
        seed.drop_postgres(url)
    results["machine"] = describe(postgres_url=postgres_url)
    out = HERE / "results" / f"event-order-postgresql-hold{hold_ms:g}ms.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(out)


if __name__ == "__main__":
    cli()
