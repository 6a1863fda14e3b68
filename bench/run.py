"""One command: seed, serve, load, report.

    python -m bench.run --n 100000 --db sqlite --db postgresql --duration 10

For each N and each database: a fresh database migrated by the app's own
migrations and seeded in bulk (bench/seed.py); the service started as a real
uvicorn process (`hie serve`) pinned to its own core; each endpoint driven by
wrk from another process pinned to the other core, after a short warm-up; the
numbers saved to bench/results/<db>-<n>.json and bench/RESULTS.md written
again from every saved result."""

import json
import os
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from app.config import Settings
from app.migrations import upgrade
from bench import endpoints, report, seed
from bench.data import Shape
from bench.load import LoadConfig, Measured, run_wrk
from bench.machine import describe
from bench.quiet import Others, Watch, wait_for_quiet
from bench.report import BUSY
from bench.server import ServerConfig, serve

HERE = Path(__file__).resolve().parent
SIZES = [100_000]
DATABASES = ["sqlite", "postgresql"]
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

console = Console(stderr=True)
cli = typer.Typer(add_completion=False)


def _cpus(value: str) -> str | None:
    return None if value.strip().lower() in ("", "none", "off") else value.strip()


def _pinning(server_cpus: str, load_cpus: str) -> tuple[str | None, str | None]:
    """The cores asked for, if this machine lets us have them."""
    server, load = _cpus(server_cpus), _cpus(load_cpus)
    available = os.sched_getaffinity(0)
    wanted = {int(c) for spec in (server, load) if spec for c in spec.replace("-", ",").split(",") if c}
    if len(available) < 2 or not wanted <= available:
        console.print(
            f"[yellow]Not pinning: cores {sorted(available)} available, {sorted(wanted)} asked for."
        )
        return None, None
    return server, load


def _database(db: str, n: int, work: Path, postgres: str) -> str:
    if db == "sqlite":
        return f"sqlite:///{seed.sqlite_path(work, n)}"
    return seed.postgres_url(postgres, n)


def _exists(db: str, url: str, work: Path, n: int) -> bool:
    if db == "sqlite":
        return seed.sqlite_path(work, n).exists()
    try:
        seed.counts(url, ["adoptions"])
    except Exception:
        return False
    return True


def _seed(db: str, url: str, shape: Shape, analyze_sqlite: bool) -> seed.SeedReport:
    if db == "sqlite":
        seed.create_sqlite(Path(url.removeprefix("sqlite:///")))
        return seed.seed_sqlite(url, shape, analyze=analyze_sqlite)
    seed.create_postgres(url)
    return seed.seed_postgres(url, shape)


def _measure(
    base: str,
    endpoint: endpoints.Endpoint,
    prepared: endpoints.Prepared,
    keys: dict[str, str],
    url: str,
    load: LoadConfig,
    watch: Watch,
    patience: float,
    retries: int,
) -> tuple[Measured, dict[str, Any]]:
    """Warm up, then measure; measure again (up to `retries` times) if other
    processes took CPU meanwhile, and keep the least disturbed measurement."""
    file = prepared.files[endpoint.key]
    if endpoint.connections is not None:
        load = replace(load, connections=endpoint.connections)
    moves = endpoint.script == "move.lua"
    env = {"BENCH_MOVES" if moves else "BENCH_PATHS": str(file)}
    if endpoint.principal == "web":
        # A page answers a lost session with a redirect, which wrk counts as no error: count statuses.
        env |= {"BENCH_COOKIE": keys["web"], "BENCH_COUNT": "1"}
    else:
        env["BENCH_KEY"] = keys[endpoint.principal]

    def once(duration: float | None = None) -> tuple[Measured, dict[str, Any]]:
        extra: dict[str, Any] = {}
        if moves:
            # From the database as it is, once the last run's stragglers are done.
            before = _settled_transitions(url)
            extra["adoptions_listed"] = endpoints.prepare_moves(url, file)
        with Others(watch) as others:
            measured = run_wrk(base, endpoint.script, env, load, duration=duration)
        extra["others_cores"] = round(others.cores, 2)
        if moves:
            extra["transitions_written"] = _settled_transitions(url) - before
            extra["transitions_answered_201"] = measured.statuses.get("201", 0)
        return measured, extra

    waited = wait_for_quiet(watch, patience=patience)[0] if patience > 0 else 0.0
    if load.warmup > 0:
        once(load.warmup)
    attempts = [once()]
    while attempts[-1][1]["others_cores"] >= BUSY and len(attempts) <= retries:
        if patience > 0:
            waited += wait_for_quiet(watch, patience=patience)[0]
        attempts.append(once())
    measured, extra = min(attempts, key=lambda a: a[1]["others_cores"])
    extra["attempts"] = len(attempts)
    extra["waited_for_quiet_s"] = round(waited, 1)
    if moves:
        cut_off = extra["transitions_written"] - extra["transitions_answered_201"]
        if not 0 <= cut_off <= load.connections:
            console.print(
                f"[red]{extra['transitions_written']} transitions written, "
                f"{extra['transitions_answered_201']} answered 201"
            )
    return measured, extra


def _settled_transitions(url: str, quiet: float = 0.5, limit: float = 15.0) -> int:
    """The count of the move benchmark's transitions once the service has
    finished the requests wrk left in flight when it stopped."""
    deadline = time.monotonic() + limit
    count = endpoints.bench_transitions(url)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = endpoints.bench_transitions(url)
        if now == count:
            break
        count = now
    return count


def _show(title: str, rows: dict[str, dict[str, Any]]) -> None:
    table = Table(title=title)
    for column in ("endpoint", "rps", "x healthz", "p50 ms", "p99 ms", "not 2xx"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for key, row in rows.items():
        table.add_row(
            key,
            f"{row['rps']:,.0f}",
            f"{row['ratio']:.2f}" if row.get("ratio") is not None else "",
            f"{row['p50_ms']:.1f}",
            f"{row['p99_ms']:.1f}",
            str(row["errors"].get("status", 0)),
        )
    console.print(table)


@cli.command()
def main(
    n: Annotated[list[int], typer.Option(help="Adoptions (repeat for several runs).")] = SIZES,
    db: Annotated[list[str], typer.Option(help="sqlite and/or postgresql (repeat).")] = DATABASES,
    duration: Annotated[float, typer.Option(help="Seconds measured per endpoint.")] = 10.0,
    warmup: Annotated[float, typer.Option(help="Seconds of unmeasured load before each.")] = 2.0,
    connections: Annotated[int, typer.Option(help="wrk's concurrent connections.")] = 32,
    threads: Annotated[int, typer.Option(help="wrk's threads (one per load core).")] = 1,
    only: Annotated[
        str, typer.Option(help=f"Comma-separated endpoints, of: {', '.join(endpoints.BY_KEY)}.")
    ] = "",
    innovations: Annotated[int | None, typer.Option(help="Innovations; default N/3.")] = None,
    organisations: Annotated[int | None, typer.Option(help="Organisations; default N/10.")] = None,
    depth: Annotated[int, typer.Option(help="How deep the deep page is (rows).")] = 50_000,
    server_cpus: Annotated[str, typer.Option(help="taskset cores for uvicorn; 'none' to not pin.")] = "0",
    load_cpus: Annotated[str, typer.Option(help="taskset cores for wrk; 'none' to not pin.")] = "1",
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    threadpool: Annotated[int | None, typer.Option(help="THREADPOOL_SIZE; default the app's.")] = None,
    log_level: Annotated[
        str, typer.Option(help="The service's LOG_LEVEL (info logs every request).")
    ] = "warning",
    postgres_url: Annotated[
        str, typer.Option(envvar="BENCH_POSTGRES_URL", help="A PostgreSQL server to make bench_<n> on.")
    ] = DEFAULT_POSTGRES,
    reuse: Annotated[bool, typer.Option(help="Keep a database seeded by an earlier run.")] = False,
    keep: Annotated[bool, typer.Option(help="Keep the PostgreSQL database afterwards.")] = False,
    seed_only: Annotated[bool, typer.Option(help="Seed and report seeding only.")] = False,
    analyze_sqlite: Annotated[bool, typer.Option(help="Run ANALYZE on SQLite after seeding.")] = False,
    patience: Annotated[
        float, typer.Option(help="Seconds to wait for other processes to go quiet before each measurement.")
    ] = 60.0,
    retries: Annotated[
        int, typer.Option(help="Measurements to repeat when other processes took CPU during one.")
    ] = 2,
    write: Annotated[bool, typer.Option(help="Save results and rewrite bench/RESULTS.md.")] = True,
) -> None:
    """Seed N adoptions, serve them with uvicorn, drive each endpoint with wrk, report."""
    for name in db:
        if name not in ("sqlite", "postgresql"):
            raise typer.BadParameter(f"--db is sqlite or postgresql, not {name}")
    chosen = [endpoints.BY_KEY[k.strip()] for k in only.split(",") if k.strip()] or endpoints.ENDPOINTS
    if any(e.key != "healthz" for e in chosen) and endpoints.BY_KEY["healthz"] not in chosen:
        chosen.insert(0, endpoints.BY_KEY["healthz"])  # every ratio needs its own ceiling
    server_pin, load_pin = _pinning(server_cpus, load_cpus)
    load = LoadConfig(
        connections=connections, threads=threads, duration=duration, warmup=warmup, cpus=load_pin
    )
    work = HERE / "work"
    plan = Plan(
        work=work,
        chosen=chosen,
        depth=depth,
        load=load,
        server_pin=server_pin,
        workers=workers,
        threadpool=threadpool,
        log_level=log_level,
        patience=patience,
        retries=retries,
    )
    machine = describe(postgres_url if "postgresql" in db else None)
    effective_threadpool = threadpool if threadpool is not None else Settings().threadpool_size

    for size in n:
        shape = Shape.for_n(size, innovations, organisations)
        for name in db:
            url = _database(name, size, work, postgres_url)
            result: dict[str, Any] = {
                "db": name,
                "n": size,
                "shape": shape.__dict__,
                "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "machine": machine,
                "config": {
                    "connections": connections,
                    "wrk_threads": threads,
                    "duration_s": duration,
                    "warmup_s": warmup,
                    "server_cpus": server_pin or "any",
                    "load_cpus": load_pin or "any",
                    "uvicorn_workers": workers,
                    "threadpool": effective_threadpool,
                    "log_level": log_level,
                },
            }
            if reuse and _exists(name, url, work, size):
                console.print(f"[bold]{name}, N={size:,}[/]: reusing the seeded database")
                upgrade(url)  # the app may have gained migrations since
                result["seed"] = _previous_seed(name, size)
            else:
                console.print(f"[bold]{name}, N={size:,}[/]: seeding {shape}")
                if patience > 0:
                    wait_for_quiet(Watch(), patience=patience)
                with Others(Watch()) as others:
                    seeded = _seed(name, url, shape, analyze_sqlite)
                result["seed"] = {**seeded.as_dict(), "others_cores": round(others.cores, 2)}
                console.print(
                    f"  seeded {seeded.total_rows:,} rows in {seeded.total_seconds:.1f} s "
                    f"({seeded.rows_per_second:,.0f} rows/s; others used {others.cores:.2f} cores)"
                )
            try:
                if not seed_only:
                    result["endpoints"], result["facts"] = _run_endpoints(name, size, url, plan)
                    _show(f"{name}, N={size:,}", result["endpoints"])
            finally:
                if name == "postgresql" and not keep:
                    seed.drop_postgres(url)
            if write:
                report.save(HERE / "results", result, merge=bool(only) or seed_only)
    if write:
        report.write(HERE / "results", HERE / "RESULTS.md")
        console.print(f"wrote {HERE / 'RESULTS.md'}")


def _previous_seed(db: str, n: int) -> dict[str, Any] | None:
    path = HERE / "results" / f"{db}-{n}.json"
    if path.exists():
        previous: dict[str, Any] | None = json.loads(path.read_text()).get("seed")
        return previous
    return None


@dataclass(frozen=True)
class Plan:
    work: Path
    chosen: list[endpoints.Endpoint]
    depth: int
    load: LoadConfig
    server_pin: str | None
    workers: int
    threadpool: int | None
    log_level: str
    patience: float
    retries: int
    # Seconds for the service to answer /readyz: more workers start more slowly on a busy machine.
    ready_timeout: float = 60.0


def _run_endpoints(
    name: str, size: int, url: str, plan: Plan
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    folder = plan.work / f"{name}-{size}"
    prepared = endpoints.prepare(url, folder, plan.depth)
    keys = seed.credentials(url)
    return serve_and_measure(url, plan, prepared, keys, folder / "server.log"), prepared.facts


def serve_and_measure(
    url: str, plan: Plan, prepared: endpoints.Prepared, keys: dict[str, str], log: Path
) -> dict[str, dict[str, Any]]:
    """Start the service as `plan` says, measure each chosen endpoint against
    it, stop it; one row per endpoint, each with its ratio to /healthz."""
    rows: dict[str, dict[str, Any]] = {}
    config = ServerConfig(
        database_url=url,
        cpus=plan.server_pin,
        workers=plan.workers,
        threadpool=plan.threadpool,
        log_level=plan.log_level,
    )
    with serve(config, log, plan.ready_timeout) as (base, pid):
        for endpoint in plan.chosen:
            started = time.monotonic()
            measured, extra = _measure(
                base, endpoint, prepared, keys, url, plan.load, Watch({pid}, url), plan.patience, plan.retries
            )
            row = {"label": prepared.label(endpoint), **measured.as_dict(), **extra}
            ceiling = measured.rps if endpoint.key == "healthz" else rows.get("healthz", {}).get("rps")
            row["ratio"] = round(measured.ok_rps / ceiling, 3) if ceiling else None
            rows[endpoint.key] = row
            console.print(
                f"  {endpoint.key:<11} {measured.rps:8,.0f} rps  p50 {measured.p50_ms:6.1f} ms  "
                f"p99 {measured.p99_ms:6.1f} ms  not 2xx {measured.errors.get('status', 0)}  "
                f"({time.monotonic() - started:.0f} s)"
                + (f" statuses {measured.statuses}" if measured.statuses else "")
                + (
                    f" others used {extra['others_cores']:.2f} cores"
                    if extra.get("others_cores", 0) > 0.05
                    else ""
                )
            )
    return rows


if __name__ == "__main__":
    cli()
