"""Saved results, and bench/RESULTS.md written from all of them: the tables,
and each of the issue's targets judged against the numbers."""

import json
from pathlib import Path
from typing import Any

from bench.endpoints import BY_KEY

NOTES = "<!-- Notes below this line are kept when bench/run.py rewrites the file. -->"
DB_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
TARGET_N = 100_000
SMALL_N, LARGE_N = 10_000, 1_000_000
# Cores used by other processes during a measurement worth a warning.
BUSY = 0.2


def save(folder: Path, result: dict[str, Any], *, merge: bool) -> Path:
    """Save one run; with `merge`, keep what an earlier run of the same
    database and N measured that this one did not."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result['db']}-{result['n']}.json"
    if merge and path.exists():
        old = json.loads(path.read_text())
        endpoints = {**old.get("endpoints", {}), **result.get("endpoints", {})}
        result = {**old, **result, "endpoints": endpoints}
        if result.get("seed") is None:
            result["seed"] = old.get("seed")
    path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    return path


def load(folder: Path) -> list[dict[str, Any]]:
    # Only bench/run.py's own `<db>-<n>.json`: other benchmarks save theirs beside them.
    paths = [p for p in sorted(folder.glob("*.json")) if p.name.split("-")[0] in DB_NAMES]
    results = [json.loads(p.read_text()) for p in paths]
    return sorted(results, key=lambda r: (r["n"], list(DB_NAMES).index(r["db"])))


def _find(results: list[dict[str, Any]], db: str, n: int) -> dict[str, Any] | None:
    return next((r for r in results if r["db"] == db and r["n"] == n), None)


def _row(result: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    if result is None:
        return None
    row: dict[str, Any] | None = result.get("endpoints", {}).get(key)
    return row


def _met(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**not met**")


def _speed_target(results: list[dict[str, Any]], key: str, db: str) -> str:
    row = _row(_find(results, db, TARGET_N), key)
    if row is None or row.get("ratio") is None:
        return _met(None)
    ok = row["ratio"] >= 0.30 and row["p99_ms"] < 50
    return f"{row['ratio']:.0%} of /healthz, p99 {row['p99_ms']:.1f} ms: {_met(ok)}"


def _pair_target(a: dict[str, Any] | None, b: dict[str, Any] | None, field: str) -> str:
    if a is None or b is None or not a.get(field) or not b.get(field):
        return _met(None)
    high, low = max(a[field], b[field]), min(a[field], b[field])
    ratio = high / low
    return f"{a[field]:,.2f} vs {b[field]:,.2f} → {ratio:.2f}x: {_met(ratio < 1.5)}"


def _growth_target(results: list[dict[str, Any]], db: str) -> str:
    small = _find(results, db, SMALL_N)
    sizes = sorted(r["n"] for r in results if r["db"] == db and _row(r, "list"))
    large_n = LARGE_N if _row(_find(results, db, LARGE_N), "list") else (sizes[-1] if sizes else None)
    if small is None or large_n is None or large_n == SMALL_N:
        return _met(None)
    large = _find(results, db, large_n)
    text = _pair_target(_row(small, "list"), _row(large, "list"), "rps")
    note = "" if large_n == LARGE_N else f" (1,000,000 not run: {large_n:,} is the largest)"
    return f"rps at {SMALL_N:,} vs {large_n:,}: {text}{note}"


def _seed_target(results: list[dict[str, Any]]) -> str:
    fits = [
        r
        for r in results
        if r["db"] == "sqlite"
        and r.get("seed")
        and r["shape"]["innovations"] >= 100_000
        and r["shape"]["adoptions"] >= 300_000
    ]
    if not fits:
        return _met(None)
    r = min(fits, key=lambda r: r["n"])
    seeded = r["seed"]
    return (
        f"{r['shape']['innovations']:,} innovations, {r['shape']['adoptions']:,} adoptions "
        f"({seeded['rows'].get('innovation_facets', 0):,} facets, "
        f"{seeded['rows'].get('organisations', 0):,} organisations): {seeded['total_seconds']:.1f} s, "
        f"{seeded['rows_per_second']:,} rows/s: {_met(seeded['total_seconds'] < 60)}"
        + (
            f" (other processes used {seeded['others_cores']:.2f} cores meanwhile)"
            if seeded.get("others_cores", 0) >= BUSY
            else ""
        )
    )


def _analytics_target(results: list[dict[str, Any]], db: str, limit_ms: float) -> str:
    """The funnel and the most-adopted innovation's spread, one request at a
    time, p99 under `limit_ms`, at 1,000,000 adoptions (or the largest N run)."""
    sizes = sorted(r["n"] for r in results if r["db"] == db and _row(r, "funnel"))
    if not sizes:
        return _met(None)
    n = LARGE_N if LARGE_N in sizes else sizes[-1]
    result = _find(results, db, n)
    rows = {key: _row(result, key) for key in ("funnel", "spread")}
    if any(row is None for row in rows.values()):
        return _met(None)
    ok = all(row["p99_ms"] < limit_ms and not row["errors"].get("status") for row in rows.values() if row)
    text = ", ".join(
        f"{key} p50 {row['p50_ms']:.0f} ms, p99 {row['p99_ms']:.0f} ms" for key, row in rows.items() if row
    )
    note = "" if n == LARGE_N else f" (at {n:,}: 1,000,000 not run)"
    return f"{text}: {_met(ok)}{note}"


def _matches_target(results: list[dict[str, Any]], db: str, limit_ms: float = 200) -> str:
    """Matches for a challenge, one request at a time, p99 under `limit_ms`,
    over 100,000 innovations or more (`--innovations 100000`)."""
    runs = [r for r in results if r["db"] == db and r["shape"]["innovations"] >= 100_000]
    runs = [r for r in runs if _row(r, "challenge_matches")]
    if not runs:
        return _met(None)
    result = min(runs, key=lambda r: r["shape"]["innovations"])
    row = _row(result, "challenge_matches")
    assert row is not None
    ok = row["p99_ms"] < limit_ms and not row["errors"].get("status")
    return (
        f"{result['shape']['innovations']:,} innovations: p50 {row['p50_ms']:.0f} ms, "
        f"p99 {row['p99_ms']:.0f} ms: {_met(ok)}"
    )


def targets(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| target | SQLite | PostgreSQL |",
        "| --- | --- | --- |",
    ]
    for key, what in (
        (
            "list",
            "filtered adoption list, page 1: ≥ 30% of /healthz, p99 < 50 ms at 32 connections, N=100,000",
        ),
        ("innovation", "one innovation: ≥ 30% of /healthz, p99 < 50 ms at 32 connections, N=100,000"),
    ):
        cells = [_speed_target(results, key, db) for db in DB_NAMES]
        lines.append(f"| {what} | {cells[0]} | {cells[1]} |")
    deep = []
    for db in DB_NAMES:
        result = _find(results, db, TARGET_N)
        deep.append(_pair_target(_row(result, "list_all"), _row(result, "list_deep"), "rps"))
    depth = next(
        (r.get("facts", {}).get("depth") for r in results if r["n"] == TARGET_N and r.get("facts")), 50_000
    )
    lines.append(f"| page 1 vs a page {depth:,} rows deep (rps), N=100,000: < 1.5x | {deep[0]} | {deep[1]} |")
    lines.append(
        f"| filtered list, 10,000 vs 1,000,000 adoptions: < 1.5x | {_growth_target(results, 'sqlite')} | "
        f"{_growth_target(results, 'postgresql')} |"
    )
    lines.append(
        f"| seeding 100,000 innovations and 300,000 adoptions on SQLite: < 60 s | {_seed_target(results)} | |"
    )
    lines.append(
        "| funnel and spread of the most-adopted innovation over 1,000,000 adoptions, one request at a "
        f"time: p99 < 1 s (SQLite), < 300 ms (PostgreSQL) | {_analytics_target(results, 'sqlite', 1000)} | "
        f"{_analytics_target(results, 'postgresql', 300)} |"
    )
    lines.append(
        "| matches for a challenge over 100,000 innovations, one request at a time: p99 < 200 ms | "
        f"{_matches_target(results, 'sqlite')} | {_matches_target(results, 'postgresql')} |"
    )
    return lines


def _config_line(result: dict[str, Any]) -> str:
    c = result["config"]
    return (
        f"wrk {c['wrk_threads']} thread, {c['connections']} connections, {c['duration_s']:g} s per endpoint "
        f"after {c['warmup_s']:g} s of warm-up, on core(s) {c['load_cpus']}; uvicorn {c['uvicorn_workers']} "
        f"worker, THREADPOOL_SIZE {c['threadpool']}, LOG_LEVEL {c['log_level']}, "
        f"on core(s) {c['server_cpus']}"
    )


def _seed_line(result: dict[str, Any]) -> str:
    seeded = result.get("seed")
    if not seeded:
        return "reused an earlier seeding"
    rows = ", ".join(f"{v:,} {k}" for k, v in seeded["rows"].items())
    busy = seeded.get("others_cores", 0)
    note = f" (other processes used {busy:.2f} cores meanwhile)" if busy >= BUSY else ""
    return f"{rows}: {seeded['total_seconds']:.1f} s, {seeded['rows_per_second']:,} rows/s{note}"


def _cell(row: dict[str, Any] | None) -> list[str]:
    if row is None:
        return ["", "", "", "", ""]
    ratio = f"{row['ratio']:.2f}" if row.get("ratio") is not None else ""
    bad = row["errors"].get("status", 0) + sum(v for k, v in row["errors"].items() if k != "status")
    return [f"{row['rps']:,.0f}", ratio, f"{row['p50_ms']:.1f}", f"{row['p99_ms']:.1f}", f"{bad:,}"]


def section(n: int, runs: list[dict[str, Any]]) -> list[str]:
    lines = [f"## N = {n:,} adoptions", ""]
    for r in runs:
        lines.append(
            f"- {DB_NAMES[r['db']]} ({r['date']}, the app at {r['machine']['app']}), seeded {_seed_line(r)}"
        )
    measured = [r for r in runs if r.get("endpoints")]
    if not measured:
        return [*lines, ""]
    configs = {_config_line(r) for r in measured}
    lines += [f"- {c}" for c in sorted(configs)]
    facts = measured[0].get("facts", {})
    if facts:
        lines.append(
            f"- the filtered list (north_west, co_design) has {facts.get('filtered_rows', 0):,} rows; "
            f"the deep page starts {facts.get('depth', 0):,} rows in"
        )
    lines.append("")
    header = ["endpoint"]
    for r in measured:
        name = DB_NAMES[r["db"]]
        header += [f"{name} rps", "x healthz", "p50 ms", "p99 ms", "errors"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("| --- " + "| ---: " * (len(header) - 1) + "|")
    keys = [k for k in BY_KEY if any(k in r["endpoints"] for r in measured)]
    for key in keys:
        label = next(r["endpoints"][key]["label"] for r in measured if key in r["endpoints"])
        cells = [label]
        for r in measured:
            cells += _cell(r["endpoints"].get(key))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for r in measured:
        busy = [
            f"{key} ({row['others_cores']:.2f})"
            for key, row in r["endpoints"].items()
            if row.get("others_cores", 0) >= BUSY
        ]
        if busy:
            lines.append(
                f"- {DB_NAMES[r['db']]}: other processes on the machine used this many cores while these "
                f"were measured, so they read low: {', '.join(busy)}"
            )
        move = r["endpoints"].get("move")
        if move:
            statuses = ", ".join(f"{k}: {v:,}" for k, v in move["statuses"].items()) or "none"
            lines.append(
                f"- {DB_NAMES[r['db']]} stage moves by status: {statuses}. The database has "
                f"{move.get('transitions_written', 0):,} new transitions for "
                f"{move.get('transitions_answered_201', 0):,} answers of 201 (the difference were in flight "
                f"when wrk stopped); {move.get('adoptions_listed', 0):,} adoptions at `identified` to move"
            )
    return [*lines, ""]


def write(folder: Path, out: Path) -> None:
    results = load(folder)
    kept = ""
    if out.exists() and NOTES in out.read_text():
        kept = out.read_text().split(NOTES, 1)[1].strip("\n")
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m bench.run` (bench/README.md) from bench/results/*.json. Throughput is",
        "each endpoint's requests per second as a share of GET /healthz measured in the same run, on",
        "the same server process; p50 and p99 are wrk's per-request latencies. Errors are responses",
        "that were not 2xx (and requests that got no answer).",
        "",
    ]
    if results:
        machine = max(results, key=lambda r: r["date"])["machine"]
        lines += [
            "## Machine",
            "",
            f"- {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB; {machine['os']}",
            f"- Python {machine['python']}, uvicorn {machine['uvicorn']}, FastAPI {machine['fastapi']}, "
            f"SQLAlchemy {machine['sqlalchemy']}; SQLite {machine['sqlite']}",
            f"- PostgreSQL {machine['postgresql']}",
            f"- {machine['wrk']}",
            "",
            "## Targets",
            "",
            *targets(results),
            "",
        ]
        for n in sorted({r["n"] for r in results}):
            lines += section(n, [r for r in results if r["n"] == n])
    lines += [NOTES, "", kept] if kept else [NOTES, ""]
    out.write_text("\n".join(lines).rstrip("\n") + "\n")
