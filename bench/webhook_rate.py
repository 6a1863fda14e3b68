"""Does webhook delivery keep up with 200 events per second? (issue 6)

    python -m bench.webhook_rate --db sqlite --db postgresql [--n 10000] [--rate 200] [--seconds 30]

For each database: a fresh, migrated database with one subscription (a
Health Innovation Network's) to a receiver on 127.0.0.1, a process of its
own that answers 200 at once and counts what arrives. Then:

1. **live**: `hie worker` running, this process writes `--rate` events a
   second for `--seconds`, each change in its transaction of its own, on one
   of 1,000 resources (so the per-resource order rule bites now and then).
   Reported: events delivered per second over the run, how many were still
   undelivered when the writing stopped, and each event's lag from commit to
   arrival (p50, p99, max). Keeping up means the delivered rate matches the
   written rate and the lag stays flat.
2. **drain**: `--n` events written first with no worker running, then the
   worker started: events delivered per second until the last arrives, the
   worker's capacity. Run once per `--concurrency` (the POSTs a worker keeps
   in flight), to show what sending concurrently buys.

Every delivery is checked: each event arrives, and (the receiver never
fails, no lease runs out) exactly once. Saved to
bench/results/webhook-rate-<db>.json; a summary is printed."""

import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import func
from sqlmodel import select

from app.auth import Principal
from app.config import Settings
from app.db import Database
from app.models.organisation import OrganisationCreate
from app.models.vocabulary import Role, Scope
from app.models.webhook import DeliveryStatus, WebhookCreate, WebhookDelivery
from app.services import events, organisations, webhooks
from bench import seed
from bench.machine import describe
from bench.server import free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
RESOURCES = 1000
console = Console(stderr=True)
cli = typer.Typer(add_completion=False)


# --- the receiver: a process of its own ------------------------------------------------


def receive(port: int) -> None:
    """Answer every POST 200 at once; GET /stats says what arrived."""
    lock = threading.Lock()
    arrivals: list[tuple[int, str, float, float]] = []  # event id, delivery id, lag, arrived at

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a partner's server would

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            now = time.time()
            event = json.loads(body)
            occurred = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00")).timestamp()
            with lock:
                arrivals.append((event["id"], self.headers["X-HIE-Delivery"], now - occurred, now))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            with lock:
                body = json.dumps(arrivals).encode()
                if self.path == "/reset":
                    arrivals.clear()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 512

    Server(("127.0.0.1", port), Handler).serve_forever()


def _arrivals(port: int, reset: bool = False) -> list[tuple[int, str, float, float]]:
    url = f"http://127.0.0.1:{port}/" + ("reset" if reset else "stats")
    with urllib.request.urlopen(url, timeout=30) as answer:
        return [tuple(row) for row in json.loads(answer.read())]  # type: ignore[misc]


def _wait_receiver(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _arrivals(port)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# --- the pieces ----------------------------------------------------------------------


def _database(db: str, postgres_url: str) -> str:
    if db == "sqlite":
        return seed.create_sqlite(HERE / "work" / "webhook-rate.db")
    return seed.create_postgres(seed.postgres_url(postgres_url, 0).replace("bench_0", "bench_webhook_rate"))


def _subscribe(database: Database, url: str) -> None:
    settings = database.settings.model_copy(update={"hie_webhooks_allow_private": True})
    with database.transaction() as session:
        org = organisations.create(
            session,
            None,
            OrganisationCreate(name="Bench network", kind="health_innovation_network", region="north_west"),
        )
        actor = Principal(org.id, org.kind, org.region, Role.admin, frozenset(Scope), "bench")
        webhooks.subscribe(session, actor, WebhookCreate(url=url), settings)


def _write(
    database: Database, count: int, rate: float | None, resources: list[uuid.UUID], writers: int = 4
) -> float:
    """`count` events, one per transaction, from `writers` threads (as requests
    would write them), together at `rate` a second (None: as fast as they go)."""

    def write(offset: int) -> None:
        rng = random.Random(offset)
        for n in range(offset, count, writers):
            if rate and (wait := started + n / rate - time.monotonic()) > 0:
                time.sleep(wait)
            with database.transaction() as session:
                events.record(session, None, "bench.changed", ("bench", rng.choice(resources)), {"n": n})

    started = time.monotonic()
    threads = [threading.Thread(target=write, args=(offset,)) for offset in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def _undelivered(database: Database) -> int:
    with database.session(write=False) as session:
        waiting = session.exec(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.status != DeliveryStatus.delivered)
        ).one()
        behind = webhooks.pending_fan_out(session)
    return int(waiting) + (1 if behind else 0)


def _worker(url: str, concurrency: int, workers: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "HIE_WEBHOOKS_ALLOW_PRIVATE": "true",
        "WEBHOOK_CONCURRENCY": str(concurrency),
        "LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "app.cli", "worker"]
    return [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_delivered(database: Database, timeout: float) -> float:
    started = time.monotonic()
    while _undelivered(database):
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"not all delivered after {timeout:.0f} s")
        time.sleep(0.05)
    return time.monotonic()


def _check(arrivals: list[tuple[int, str, float, float]], expected: int) -> dict[str, int]:
    events_seen = {row[0] for row in arrivals}
    return {
        "arrivals": len(arrivals),
        "distinct_events": len(events_seen),
        "expected": expected,
        "repeats": len(arrivals) - len({row[1] for row in arrivals}),
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _live(
    database: Database, url: str, port: int, rate: float, seconds: float, concurrency: int
) -> dict[str, Any]:
    resources = [uuid.uuid4() for _ in range(RESOURCES)]
    _arrivals(port, reset=True)
    workers = _worker(url, concurrency, 1)
    try:
        time.sleep(3)  # the worker's start (imports), not counted
        _arrivals(port, reset=True)
        count = int(rate * seconds)
        wrote = _write(database, count, rate, resources)
        stopped_writing = time.monotonic()
        behind_at_end = _undelivered(database)
        finished = _wait_delivered(database, 120)
    finally:
        _stop(workers)
    arrivals = _arrivals(port)
    lags = [row[2] for row in arrivals]
    first = min(row[3] for row in arrivals)
    last = max(row[3] for row in arrivals)
    return {
        "written": count,
        "written_per_second": round(count / wrote, 1),
        "delivered_per_second": round(len(arrivals) / (last - first), 1) if last > first else None,
        "undelivered_when_writing_stopped": behind_at_end,
        "all_delivered_after_writing_stopped_s": round(finished - stopped_writing, 2),
        "lag_ms": {
            "p50": round(1000 * statistics.median(lags), 1),
            "p99": round(1000 * _percentile(lags, 0.99), 1),
            "max": round(1000 * max(lags), 1),
        },
        **_check(arrivals, count),
    }


def _drain(database: Database, url: str, port: int, n: int, concurrency: int) -> dict[str, Any]:
    resources = [uuid.uuid4() for _ in range(RESOURCES)]
    wrote = _write(database, n, None, resources)
    _arrivals(port, reset=True)
    started = time.monotonic()
    workers = _worker(url, concurrency, 1)
    try:
        _wait_delivered(database, 600)
    finally:
        _stop(workers)
    arrivals = _arrivals(port)
    first = min(row[3] for row in arrivals)
    last = max(row[3] for row in arrivals)
    return {
        "events": n,
        "concurrency": concurrency,
        "written_per_second": round(n / wrote, 1),
        "delivered_per_second": round(len(arrivals) / (last - first), 1),
        "with_start_s": round(time.monotonic() - started, 1),
        **_check(arrivals, n),
    }


@cli.command()
def main(
    db: Annotated[list[str], typer.Option(help="sqlite, postgresql")] = ["sqlite", "postgresql"],  # noqa: B006
    n: Annotated[int, typer.Option(help="Events for the drain.")] = 10_000,
    rate: Annotated[float, typer.Option(help="Events a second for the live run.")] = 200,
    seconds: Annotated[float, typer.Option(help="How long the live run writes.")] = 30,
    concurrency: Annotated[
        list[int] | None, typer.Option(help="POSTs in flight per worker, for the drains (1 and 32).")
    ] = None,
    postgres_url: Annotated[str, typer.Option(envvar="BENCH_POSTGRES_URL")] = DEFAULT_POSTGRES,
) -> None:
    concurrency = concurrency or [1, 32]
    port = free_port()
    start_receiver = f"from bench.webhook_rate import receive; receive({port})"
    receiver = subprocess.Popen([sys.executable, "-c", start_receiver], cwd=ROOT)
    try:
        _wait_receiver(port)
        for name in db:
            url = _database(name, postgres_url)
            database = Database(Settings(database_url=url))
            try:
                _subscribe(database, f"http://127.0.0.1:{port}/hooks")
                result: dict[str, Any] = {
                    "database": name,
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
                default = max(concurrency)
                result["live"] = _live(database, url, port, rate, seconds, default)
                console.print(f"{name} live: {result['live']}")
                result["drains"] = []
                for slots in concurrency:
                    drained = _drain(database, url, port, n, slots)
                    result["drains"].append(drained)
                    console.print(f"{name} drain: {drained}")
            finally:
                database.dispose()
                if name == "postgresql":
                    seed.drop_postgres(url)
            result["machine"] = describe(postgres_url=postgres_url if name == "postgresql" else None)
            out = HERE / "results" / f"webhook-rate-{name}.json"
            out.write_text(json.dumps(result, indent=2) + "\n")
            print(out)
    finally:
        receiver.terminate()
        receiver.wait()


if __name__ == "__main__":
    cli()
