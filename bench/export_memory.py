"""Does a CSV export of N adoptions stream in flat memory?

    python -m bench.export_memory --n 1000000 --db sqlite --db postgresql

For each N and database: a fresh database seeded in bulk (bench/seed.py, as
bench/run.py seeds it), the service started as a real uvicorn process
(bench/server.py), and `GET /api/v1/exports/adoptions.csv` downloaded with a
facilitator's key (who sees every adoption) while a thread samples the
server's resident memory (VmRSS of it and its children, from /proc) every
`--interval` seconds. The kernel's own high-water mark (VmHWM) backs the
samples up. The target (issue 5): the server stays under 200 MB.

Saved to bench/results/export-memory-<db>-<n>.json; a summary is printed."""

import csv
import io
import json
import os
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bench import seed
from bench.data import Shape
from bench.machine import describe
from bench.server import ServerConfig, serve

HERE = Path(__file__).resolve().parent
TARGET_MB = 200
SIZES = [100_000]
DATABASES = ["sqlite", "postgresql"]
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PATH = "/api/v1/exports/adoptions.csv"

console = Console(stderr=True)
cli = typer.Typer(add_completion=False)


# --- memory ---------------------------------------------------------------------


def _status(pid: int) -> dict[str, int]:
    """The kB fields of /proc/<pid>/status (VmRSS, VmHWM, ...)."""
    fields = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            fields[name] = int(parts[0])
    return fields


def _family(pid: int) -> list[int]:
    """The process and its descendants (uvicorn with workers forks them)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def rss_kb(pids: list[int]) -> int:
    return sum(_status(pid).get("VmRSS", 0) for pid in pids)


def hwm_kb(pids: list[int]) -> int:
    return sum(_status(pid).get("VmHWM", 0) for pid in pids)


@dataclass
class Sampler:
    """Samples the server's RSS on a thread until stopped."""

    pid: int
    interval: float
    samples: list[tuple[float, int]] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "Sampler":
        self.pids = _family(self.pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - started, rss_kb(self.pids)))
            self._stop.wait(self.interval)

    @property
    def peak_kb(self) -> int:
        return max((kb for _, kb in self.samples), default=0)


# --- the download -------------------------------------------------------------------


@dataclass
class Download:
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    first_byte_s: float = 0.0
    status: int = 0


class _Counting(io.RawIOBase):
    """The response body, counting bytes and noting when the first came."""

    def __init__(self, response: Any, download: Download, started: float) -> None:
        self.response, self.download, self.started = response, download, started

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.response.read1(len(buffer))
        if data and not self.download.bytes:
            self.download.first_byte_s = time.monotonic() - self.started
        self.download.bytes += len(data)
        buffer[: len(data)] = data
        return len(data)


def download(base: str, key: str) -> Download:
    """The whole export, parsed as CSV as it arrives (a record may span lines)."""
    result = Download()
    request = urllib.request.Request(base + PATH, headers={"Authorization": f"Bearer {key}"})
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=600) as response:
        result.status = response.status
        raw = io.BufferedReader(_Counting(response, result, started), buffer_size=256 * 1024)
        records = sum(1 for _ in csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))
    result.seconds = time.monotonic() - started
    result.rows = max(0, records - 1)  # less the header
    return result


# --- one run ------------------------------------------------------------------------


def _database(db: str, n: int, work: Path, postgres: str) -> str:
    if db == "sqlite":
        return f"sqlite:///{seed.sqlite_path(work, n)}"
    return seed.postgres_url(postgres, n)


def _seeded(db: str, url: str, n: int, work: Path, reuse: bool) -> dict[str, Any] | None:
    """Seed a fresh database unless `reuse` and one of N adoptions is there."""
    if reuse:
        try:
            if seed.counts(url, ["adoptions"])["adoptions"] == n:
                from app.migrations import upgrade

                upgrade(url)
                console.print(f"[bold]{db}, N={n:,}[/]: reusing the seeded database")
                return None
        except Exception:
            pass
    shape = Shape.for_n(n)
    console.print(f"[bold]{db}, N={n:,}[/]: seeding {shape}")
    if db == "sqlite":
        seed.create_sqlite(seed.sqlite_path(work, n))
        report = seed.seed_sqlite(url, shape)
    else:
        seed.create_postgres(url)
        report = seed.seed_postgres(url, shape)
    console.print(f"  seeded {report.total_rows:,} rows in {report.total_seconds:.1f} s")
    return report.as_dict()


def _server_cpus() -> str | None:
    # The server on a core of its own when there are two: the client parses CSV on the other.
    return "0" if len(os.sched_getaffinity(0)) >= 2 and 0 in os.sched_getaffinity(0) else None


def measure(db: str, n: int, url: str, work: Path, interval: float) -> dict[str, Any]:
    keys = seed.issue_keys(url)
    config = ServerConfig(database_url=url, cpus=_server_cpus())
    with serve(config, work / f"export-{db}-{n}" / "server.log") as (base, pid):
        # One small request first, so that what is measured is the export, not start-up.
        urllib.request.urlopen(
            urllib.request.Request(
                base + "/api/v1/stages", headers={"Authorization": f"Bearer {keys['facilitator']}"}
            ),
            timeout=60,
        ).read()
        pids = _family(pid)
        baseline, hwm_before = rss_kb(pids), hwm_kb(pids)
        with Sampler(pid, interval) as sampler:
            got = download(base, keys["facilitator"])
        after = rss_kb(pids)
        hwm = hwm_kb(pids)
    mb = 1024
    peak = max(sampler.peak_kb, after)
    return {
        "status": got.status,
        "rows": got.rows,
        "bytes": got.bytes,
        "seconds": round(got.seconds, 2),
        "first_byte_s": round(got.first_byte_s, 3),
        "rows_per_second": round(got.rows / got.seconds) if got.seconds else None,
        "rss_mb": {
            "before": round(baseline / mb, 1),
            "peak_sampled": round(peak / mb, 1),
            "after": round(after / mb, 1),
            "growth": round((peak - baseline) / mb, 1),
            # The kernel's high-water mark since the server started: start-up
            # sets it; the export raised it only if it grew during the download.
            "kernel_hwm_before": round(hwm_before / mb, 1),
            "kernel_hwm_after": round(hwm / mb, 1),
        },
        "samples": len(sampler.samples),
        "sample_interval_s": interval,
        "target": f"peak RSS < {TARGET_MB} MB",
        "met": max(peak, hwm) / mb < TARGET_MB and got.rows == n,
        "export_raised_the_kernel_hwm": hwm > hwm_before,
    }


@cli.command()
def main(
    n: Annotated[list[int], typer.Option(help="Adoptions (repeat for several runs).")] = SIZES,
    db: Annotated[list[str], typer.Option(help="sqlite and/or postgresql (repeat).")] = DATABASES,
    interval: Annotated[float, typer.Option(help="Seconds between memory samples.")] = 0.05,
    postgres_url: Annotated[
        str, typer.Option(envvar="BENCH_POSTGRES_URL", help="A PostgreSQL server to make bench_<n> on.")
    ] = DEFAULT_POSTGRES,
    reuse: Annotated[bool, typer.Option(help="Keep a database seeded by an earlier run.")] = False,
    keep: Annotated[bool, typer.Option(help="Keep the PostgreSQL database afterwards.")] = False,
) -> None:
    """Seed N adoptions, serve them, download their CSV export, watch the server's memory."""
    for name in db:
        if name not in ("sqlite", "postgresql"):
            raise typer.BadParameter(f"--db is sqlite or postgresql, not {name}")
    work = HERE / "work"
    machine = describe(postgres_url if "postgresql" in db else None)
    for size in n:
        for name in db:
            url = _database(name, size, work, postgres_url)
            try:
                seeded = _seeded(name, url, size, work, reuse)
                measured = measure(name, size, url, work, interval)
            finally:
                if name == "postgresql" and not keep:
                    seed.drop_postgres(url)
            result = {
                "benchmark": "export-memory",
                "db": name,
                "n": size,
                "request": f"GET {PATH} (a facilitator: every adoption)",
                "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "machine": machine,
                "seed": seeded,
                **measured,
            }
            out = HERE / "results" / f"export-memory-{name}-{size}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=1) + "\n")
            rss = measured["rss_mb"]
            console.print(
                f"[bold]{name}, N={size:,}[/]: {measured['rows']:,} rows, "
                f"{measured['bytes'] / 1e6:,.1f} MB of CSV in {measured['seconds']:.1f} s "
                f"({measured['rows_per_second'] or 0:,} rows/s, first byte after "
                f"{measured['first_byte_s'] * 1000:.0f} ms); server RSS {rss['before']} MB before, "
                f"peak {rss['peak_sampled']} MB (kernel high-water mark {rss['kernel_hwm_before']} MB "
                f"before, {rss['kernel_hwm_after']} MB after), "
                f"+{rss['growth']} MB: "
                + ("[green]target met[/]" if measured["met"] else "[red]target not met[/]")
            )
            console.print(f"  wrote {out}")


if __name__ == "__main__":
    cli()
