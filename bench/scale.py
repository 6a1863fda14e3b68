"""Scale on PostgreSQL: the same requests at 10,000 and at 1,000,000
adoptions (the large one with 100,000 innovations), served by 1, 2 and 4
uvicorn worker processes.

    python -m bench.scale          (make bench-scale)

Both databases are seeded first (bench/seed.py, as bench/run.py seeds them,
into `bench_scale_<n>` so that bench/run.py's own `bench_<n>` is left alone);
then, for each worker count, the service is started on each database in
turn and bench/run.py measures the same endpoints against it, /healthz first
as that server's ceiling. Running the two sizes back to back for each worker
count keeps each pair that is compared close together in time on a shared
machine. The service is not pinned (the workers share every core, as they
would in production) and neither is wrk, unless asked.

Two things are judged (issue 7, point 7):
- throughput grows with workers until the machine's cores are used: each
  endpoint's rps at `cores` workers against 1 worker, and beyond `cores`
  against `cores` (it should hold, not fall);
- each p99 at the large size is within 1.5x of its value at the small size
  with the same worker count.

Saved to bench/results/scale-postgresql.json; the tables go to the terminal
and to the Scale section of bench/RESULTS.md (between its own markers, below
the notes marker, so bench/run.py keeps it when it rewrites the file)."""

import json
import math
import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.engine import make_url

from app.config import Settings
from app.migrations import upgrade
from bench import endpoints, run, seed
from bench.data import Shape
from bench.load import LoadConfig
from bench.machine import describe
from bench.quiet import Others, Watch, wait_for_quiet
from bench.report import BUSY, NOTES

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "scale-postgresql.json"
# The board last: at 1,000,000 its requests run on long after wrk stops, and
# would take the workers from whatever came next.
KEYS = ["list", "innovation", "search", "move", "board"]
P99_LIMIT = 1.5
# Growth that is more than this machine's noise (see RESULTS.md's notes).
GROWS, HOLDS = 1.15, 0.85
BEGIN = "<!-- scale: written by bench/scale.py from bench/results/scale-postgresql.json -->"
END = "<!-- /scale -->"

console = Console(stderr=True)
cli = typer.Typer(add_completion=False)


def database_url(server_url: str, n: int) -> str:
    return make_url(server_url).set(database=f"bench_scale_{n}").render_as_string(hide_password=False)


def _exists(url: str) -> bool:
    try:
        seed.counts(url, ["adoptions"])
    except Exception:
        return False
    return True


def _ready(url: str, shape: Shape, reuse: bool, patience: float) -> dict[str, Any] | None:
    """The database seeded with `shape` (or kept from an earlier run with
    `reuse`); its seeding report, or None when reused."""
    if reuse and _exists(url):
        console.print(f"[bold]N={shape.adoptions:,}[/]: reusing {make_url(url).database}")
        upgrade(url)  # the app may have gained migrations since
        return None
    console.print(f"[bold]N={shape.adoptions:,}[/]: seeding {shape}")
    if patience > 0:
        wait_for_quiet(Watch(), patience=patience)
    with Others(Watch()) as others:
        seeded = run._seed("postgresql", url, shape, analyze_sqlite=False)
    console.print(
        f"  seeded {seeded.total_rows:,} rows in {seeded.total_seconds:.1f} s "
        f"(others used {others.cores:.2f} cores)"
    )
    return {**seeded.as_dict(), "others_cores": round(others.cores, 2)}


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@cli.command()
def main(
    small: Annotated[int, typer.Option(help="Adoptions in the baseline database.")] = 10_000,
    large: Annotated[int, typer.Option(help="Adoptions in the large database.")] = 1_000_000,
    large_innovations: Annotated[int, typer.Option(help="Innovations in the large database.")] = 100_000,
    small_innovations: Annotated[int | None, typer.Option(help="Innovations in the baseline; N/3.")] = None,
    workers: Annotated[list[int], typer.Option(help="uvicorn worker counts (repeat).")] = [1, 2, 4],  # noqa: B006
    only: Annotated[str, typer.Option(help=f"Comma-separated endpoints; default {','.join(KEYS)}.")] = "",
    duration: Annotated[float, typer.Option(help="Seconds measured per endpoint.")] = 10.0,
    warmup: Annotated[float, typer.Option(help="Seconds of unmeasured load before each.")] = 2.0,
    connections: Annotated[int, typer.Option(help="wrk's concurrent connections.")] = 32,
    board_connections: Annotated[int, typer.Option(help="wrk's connections for the board page.")] = 4,
    db_pool_size: Annotated[
        int | None, typer.Option(help="DB_POOL_SIZE per worker (up to twice as many connections each).")
    ] = 5,
    timeout: Annotated[float, typer.Option(help="wrk's timeout per request, seconds.")] = 30.0,
    server_cpus: Annotated[str, typer.Option(help="taskset cores for uvicorn; 'none' to not pin.")] = "none",
    load_cpus: Annotated[str, typer.Option(help="taskset cores for wrk; 'none' to not pin.")] = "none",
    postgres_url: Annotated[
        str, typer.Option(envvar="BENCH_POSTGRES_URL", help="A PostgreSQL server to make bench_scale_<n> on.")
    ] = run.DEFAULT_POSTGRES,
    reuse: Annotated[bool, typer.Option(help="Keep databases seeded by an earlier run.")] = False,
    keep: Annotated[bool, typer.Option(help="Keep the databases afterwards.")] = False,
    patience: Annotated[float, typer.Option(help="Seconds to wait for quiet before each.")] = 20.0,
    retries: Annotated[int, typer.Option(help="Measurements to repeat when others took CPU.")] = 1,
    write: Annotated[bool, typer.Option(help="Save; rewrite RESULTS.md's Scale section.")] = True,
) -> None:
    """Seed both sizes, then serve each with each worker count and measure; report."""
    if db_pool_size is not None:
        # The servers inherit it: 4 workers at the default 10 could open 80
        # connections, most of a default PostgreSQL's 100 on a shared server.
        os.environ["DB_POOL_SIZE"] = str(db_pool_size)
    chosen_keys = [k.strip() for k in only.split(",") if k.strip()] or KEYS
    chosen = [endpoints.BY_KEY["healthz"], *(endpoints.BY_KEY[k] for k in chosen_keys if k != "healthz")]
    # A board page takes far longer than an API call: at 32 connections its
    # queue alone would outlast wrk's timeout, and nothing would be measured.
    chosen = [replace(e, connections=board_connections) if e.key == "board" else e for e in chosen]
    server_pin, load_pin = run._pinning(server_cpus, load_cpus)
    load = LoadConfig(
        connections=connections, threads=1, duration=duration, warmup=warmup, cpus=load_pin, timeout=timeout
    )
    work = HERE / "work" / "scale"
    shapes = [Shape.for_n(small, small_innovations), Shape.for_n(large, large_innovations)]
    result: dict[str, Any] = {
        "db": "postgresql",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": describe(postgres_url),
        "config": {
            "connections": connections,
            "board_connections": board_connections,
            "duration_s": duration,
            "warmup_s": warmup,
            "timeout_s": timeout,
            "server_cpus": server_pin or "any",
            "load_cpus": load_pin or "any",
            "threadpool": Settings().threadpool_size,
            "db_pool_size": Settings().db_pool_size,
            "workers": workers,
        },
        "sizes": {},
        "runs": [],
    }
    urls = {shape.adoptions: database_url(postgres_url, shape.adoptions) for shape in shapes}
    try:
        prepared: dict[int, tuple[endpoints.Prepared, dict[str, str]]] = {}
        for shape in shapes:
            url = urls[shape.adoptions]
            seeded = _ready(url, shape, reuse, patience)
            folder = work / str(shape.adoptions)
            ready = endpoints.prepare(url, folder, depth=50_000)
            prepared[shape.adoptions] = (ready, seed.credentials(url))
            facts = {"shape": shape.__dict__, "seed": seeded, "facts": ready.facts}
            result["sizes"][str(shape.adoptions)] = facts
        for count in workers:
            for shape in shapes:
                n = shape.adoptions
                console.print(f"[bold]{count} worker(s), N={n:,}[/]")
                plan = run.Plan(
                    work=work,
                    chosen=chosen,
                    depth=50_000,
                    load=load,
                    server_pin=server_pin,
                    workers=count,
                    threadpool=None,
                    log_level="warning",
                    patience=patience,
                    retries=retries,
                    ready_timeout=300.0,
                )
                ready, keys = prepared[n]
                before, started = _loadavg(), time.monotonic()
                log = work / str(n) / f"server-{count}.log"
                rows = run.serve_and_measure(urls[n], plan, ready, keys, log)
                result["runs"].append(
                    {
                        "workers": count,
                        "n": n,
                        "loadavg_before": before,
                        "loadavg_after": _loadavg(),
                        "seconds": round(time.monotonic() - started),
                        "endpoints": rows,
                    }
                )
    finally:
        if not keep:
            for url in urls.values():
                seed.drop_postgres(url)
    lines = render(result)
    console.print("\n".join(lines))
    if write:
        if only and RESULT.exists():
            result = merge(json.loads(RESULT.read_text()), result)
            lines = render(result)
        RESULT.parent.mkdir(parents=True, exist_ok=True)
        RESULT.write_text(json.dumps(result, indent=1, default=str) + "\n")
        write_section(HERE / "RESULTS.md", lines)
        console.print(f"wrote {RESULT} and the Scale section of {HERE / 'RESULTS.md'}")


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """An `--only` run's endpoints over an earlier full run's, each run
    (workers, N) keeping its other endpoints; the load averages of both."""
    for run_ in new["runs"]:
        match = next((r for r in old["runs"] if (r["workers"], r["n"]) == (run_["workers"], run_["n"])), None)
        if match is None:
            old["runs"].append(run_)
            continue
        match["endpoints"].update({k: v for k, v in run_["endpoints"].items() if k != "healthz"})
        match.setdefault("again", []).append(
            {
                "date": new["date"],
                "only": [k for k in run_["endpoints"] if k != "healthz"],
                "loadavg_before": run_["loadavg_before"],
                "loadavg_after": run_["loadavg_after"],
            }
        )
    return old


# --- judging and reporting ------------------------------------------------------------


def _row(result: dict[str, Any], workers: int, n: int, key: str) -> dict[str, Any] | None:
    for r in result["runs"]:
        if r["workers"] == workers and r["n"] == n:
            row: dict[str, Any] | None = r["endpoints"].get(key)
            return row
    return None


def _sizes(result: dict[str, Any]) -> tuple[int, int]:
    small, large = sorted(int(n) for n in result["sizes"])
    return small, large


def _keys(result: dict[str, Any]) -> list[str]:
    return [k for k in endpoints.BY_KEY if any(k in r["endpoints"] for r in result["runs"])]


def _label(result: dict[str, Any], key: str) -> str:
    labels = {
        "healthz": "/healthz (the ceiling)",
        "list": "list (filtered adoptions, page 1)",
        "innovation": "detail (one innovation)",
        "search": "search (innovations)",
        "board": "board page (HTML)",
        "move": "stage move",
    }
    return labels.get(key, key)


def growth(result: dict[str, Any], key: str, n: int, cores: int) -> tuple[str, bool | None]:
    """rps at `cores` workers vs 1, and beyond `cores` vs `cores`: grows, then holds."""
    counts = sorted(result["config"]["workers"])
    rps = {w: row["ok_rps"] for w in counts if (row := _row(result, w, n, key))}
    if 1 not in rps or len(rps) < 2:
        return "", None
    if not all(rps.values()):
        return "no answers in some runs", False
    full = max((w for w in rps if w <= cores), default=1)
    parts, ok = [], True
    if full > 1:
        up = rps[full] / rps[1]
        ok &= up >= GROWS
        parts.append(f"{full} vs 1: {up:.2f}x")
    for w in (w for w in rps if w > full):
        held = rps[w] / rps[full]
        ok &= held >= HOLDS
        parts.append(f"{w} vs {full}: {held:.2f}x")
    return ", ".join(parts), ok


def p99_ratio(result: dict[str, Any], key: str, workers: int) -> float | None:
    """p99 at the large size over p99 at the small; infinite when the large
    one answered nothing in time (its p99 is past wrk's timeout)."""
    small, large = _sizes(result)
    a, b = _row(result, workers, small, key), _row(result, workers, large, key)
    if a is None or b is None or not a["requests"] or not a["p99_ms"]:
        return None
    if not b["requests"] or not b["ok_rps"]:
        return math.inf
    return float(b["p99_ms"] / a["p99_ms"])


def _met(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**not met**")


def _rps_cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return ""
    ratio = f" ({row['ratio']:.2f})" if row.get("ratio") is not None and row["ratio"] < 1 else ""
    return f"{row['ok_rps']:,.0f}{ratio}"


def _ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return ""
    if math.isinf(ratio):
        return "no answer in time ✗"
    return f"{ratio:.2f}x {'✓' if ratio <= P99_LIMIT else '✗'}"


def _bad(row: dict[str, Any]) -> int:
    return sum(row["errors"].values())


def render(result: dict[str, Any]) -> list[str]:
    small, large = _sizes(result)
    counts = sorted(result["config"]["workers"])
    cores = int(result["machine"]["cores"] or 1)
    keys = _keys(result)
    c = result["config"]
    shapes = {n: result["sizes"][str(n)]["shape"] for n in (small, large)}
    head = " | ".join(f"{w} worker{'s' if w > 1 else ''}" for w in counts)
    lines = [
        BEGIN,
        "## Scale (PostgreSQL, 1, 2 and 4 worker processes)",
        "",
        f"Written by `python -m bench.scale` (`make bench-scale`) on {result['date']}, the app at "
        f"{result['machine']['app']}: PostgreSQL {result['machine']['postgresql']}; "
        f"{cores} cores. {small:,} adoptions ({shapes[small]['innovations']:,} innovations, "
        f"{shapes[small]['organisations']:,} organisations) against {large:,} adoptions "
        f"({shapes[large]['innovations']:,} innovations, {shapes[large]['organisations']:,} organisations). "
        f"wrk 1 thread, {c['connections']} connections ({c.get('board_connections', c['connections'])} for "
        f"the board page), {c['duration_s']:g} s per endpoint after "
        f"{c['warmup_s']:g} s of warm-up, timeout {c['timeout_s']:g} s; uvicorn on core(s) "
        f"{c['server_cpus']}, wrk on core(s) {c['load_cpus']}; THREADPOOL_SIZE {c['threadpool']} and "
        f"DB_POOL_SIZE {c['db_pool_size']} per worker. Both sizes are served back to back for each worker "
        "count.",
        "",
        f"**Throughput** (requests/s answered 2xx/3xx; in brackets the share of /healthz on the same "
        f"server in the same run). Target: it grows from 1 worker to {cores} (≥ {GROWS}x, beyond the "
        f"noise), then holds (≥ {HOLDS}x) past the cores.",
        "",
        f"| endpoint | N | {head} | growth | verdict |",
        "| --- | ---: |" + " ---: |" * len(counts) + " --- | --- |",
    ]
    for key in keys:
        for n in (small, large):
            cells = [_rps_cell(_row(result, w, n, key)) for w in counts]
            text, ok = growth(result, key, n, cores)
            lines.append(f"| {_label(result, key)} | {n:,} | {' | '.join(cells)} | {text} | {_met(ok)} |")
    lines += [
        "",
        f"**Latency**, p50 / p99 in ms, and p99 at {large:,} ÷ p99 at {small:,} with the same worker "
        f"count. Target: ≤ {P99_LIMIT}x.",
        "",
        f"| endpoint | N | {head} |",
        "| --- | ---: |" + " ---: |" * len(counts),
    ]
    verdicts = []
    for key in keys:
        for n in (small, large):
            cells = []
            for w in counts:
                row = _row(result, w, n, key)
                cells.append(f"{row['p50_ms']:.0f} / {row['p99_ms']:.0f}" if row else "")
            lines.append(f"| {_label(result, key)} | {n:,} | {' | '.join(cells)} |")
        ratios = [p99_ratio(result, key, w) for w in counts]
        lines.append("| ↳ p99 ratio | | " + " | ".join(_ratio_text(r) for r in ratios) + " |")
        if key != "healthz":
            known = [r for r in ratios if r is not None]
            verdicts.append((key, None if not known else all(r <= P99_LIMIT for r in known)))
    lines += ["", "Verdicts: " + "; ".join(f"{_label(result, k)} p99 {_met(ok)}" for k, ok in verdicts) + "."]
    lines += ["", *_run_notes(result), END]
    return lines


def _run_notes(result: dict[str, Any]) -> list[str]:
    notes = []
    for r in result["runs"]:
        busy = [
            f"{k} ({row['others_cores']:.2f})"
            for k, row in r["endpoints"].items()
            if row.get("others_cores", 0) >= BUSY
        ]
        bad = [f"{k} ({_bad(row):,})" for k, row in r["endpoints"].items() if _bad(row)]
        statuses = {k: row["statuses"] for k, row in r["endpoints"].items() if row.get("statuses")}
        text = (
            f"- {r['workers']} worker(s), N={r['n']:,}: load average (1, 5, 15 min) "
            f"{', '.join(map(str, r['loadavg_before']))} before, {', '.join(map(str, r['loadavg_after']))} "
            f"after ({r['seconds']} s; the benchmark's own server, wrk and PostgreSQL count in it)"
        )
        if busy:
            text += f"; other processes took cores while measuring {', '.join(busy)}"
        for again in r.get("again", []):
            text += (
                f"; measured again at {again['date']}: {', '.join(again['only'])} (load average "
                f"{', '.join(map(str, again['loadavg_before']))} before)"
            )
        if bad:
            text += f"; errors {', '.join(bad)}"
        if statuses:
            counted = (f"{k} " + ", ".join(f"{c}: {n:,}" for c, n in v.items()) for k, v in statuses.items())
            text += "; answers by status: " + "; ".join(counted)
        notes.append(text)
    return notes


def write_section(path: Path, lines: list[str]) -> None:
    """Replace the Scale section between its markers, or put it right below
    the notes marker (bench/run.py keeps what is below it); nothing else changes."""
    text = path.read_text() if path.exists() else NOTES + "\n"
    block = "\n".join(lines)
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        text = before + block + after
    elif NOTES in text:
        before, after = text.split(NOTES, 1)
        text = before + NOTES + "\n\n" + block + "\n" + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    cli()
